"""The scene codec: Morton order, fixed-point positions, scalar quantizers, rANS.

Pipeline (encode; decode runs it backwards, every stage vectorized numpy):

1. optional pruning (``prune=True``, ``prune.py``): drop Gaussians that weigh under 1/255 in
   every pixel of 16 reference views;
2. positions to a grid (``presets.py``), Morton order of the grid cells; the decoded scene
   comes out in this order;
3. per-attribute integers (``quantize.py``) coded by ``streams.py`` through ``entropy``:
   positions as coarse cells along the order plus per-axis refinement (``positions.py``; format
   5 picks the cell size per file); opacity; log-scales as s0 (conditioned on opacity), s1, s2
   (conditioned on s0); smallest-three rotations (index, then three components); DC
   colour as g, r-g, b-g; SH rest per band, one table per coefficient (the RGB triple as one
   symbol where its alphabet is small). Steps come from the preset, or from the grid the input
   already sits on (``quantize.grid_of``), and are stored in the header (format 2; format 1
   files, with preset steps and a k-means SH codebook, still decode);
4. format 3: the opacity and rotation bit depths and an importance class per Gaussian
   (``importance.py``, from its decoded opacity and log-scales through header tables) that
   coarsens the colour step and the rotation bits of the Gaussians that weigh little in a render
   (format 2 relaxed colour by opacity alone; those files still decode);
5. format 4 (``sh_bands.py``): a per-Gaussian flag for each SH band where that means fewer
   symbols (tap: every band), and the band's symbols only for the flagged Gaussians;
6. format 5 (``frame.py``, unless ``reframe=False``): every Gaussian in its canonical frame,
   axes by decreasing scale, so the log-scales are s0 and the gaps s0 - s1, s1 - s2, and the
   smallest of its equivalent rotations as modified Rodrigues parameters (no index).

The container (``codec.container``, kind "scene") holds the header fields and one section
per stream; ``docs/scenes.md`` documents the layout.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

import numpy as np

from codec.container import Container, pack, unpack
from codec.errors import CorruptDataError, InvalidInputError, LimitExceededError
from entropy import TableIds

from ._files import MAX_GAUSSIANS
from ._header import MAX_ALPHABET, float_field, int_field, lut_field
from .data import SH_COEFFS, GaussianScene, bulk_mask, bulk_means
from .frame import canonical_frame, mrp_to_int, quats_from_mrp
from .importance import MAX_CLASS, area_index, importance_class, importance_tables
from .morton import MAX_AXIS_BITS, morton_order
from .positions import REFINE, decode_positions, encode_positions, median3
from .presets import DEFAULT_QUALITY, LEGACY_PRESETS, Preset, get_preset
from .quantize import (fixed_point_step, grid_of, opacity_from_int, opacity_to_int,
                       positions_to_int, quats_from_components, quats_to_int, uniform_offset_from_int,
                       uniform_offset_to_int)
from .sh_bands import decode_sh_bands, encode_sh_bands
from .streams import decode_categorical, encode_categorical

__all__ = ["SceneCodec", "SCENE_FORMAT_VERSION", "encode_scene", "decode_scene", "canonical_order",
           "quantization_grid"]

SCENE_FORMAT_VERSION = 5  # header field scene_version (absent in version 1 files); the container stays version 1
# 1: k-means SH codebook, preset steps; 2: steps in the header, SH per band; 3: bit depths and the
# importance classes (importance.py) in the header; 4: SH band flags (sh_bands.py); 5: the canonical
# frame (frame.py; header field ``frame``, 0 for a stream's keyframes)
READABLE_VERSIONS = (1, 2, 3, 4, 5)
OPACITY_BITS = (4, 8)  # range of opacity bit depths a format 3 header may give
MAX_ROT_BITS = 10
BULK_FACTOR = 8.0  # position extent at most this times the bulk's (quantization_grid)


def quantization_grid(scene: GaussianScene, preset: Preset) -> tuple[np.ndarray, float]:
    """(origin [3] float64, fine step in scene units) of the position grid ``preset`` puts on ``scene``.

    The extent E that sets the step is the largest bounding-box side, or 8 times that of the
    bulk (``data.bulk_means``) when that is smaller, so the bounds stated with the bounding box
    still hold. When the means are fixed-point numbers (multiples of 2^-k from the bounding-box minimum,
    as in SPZ), the step is a multiple of 2^-k, so positions on the fine grid are kept exactly."""
    lo, hi = scene.bounds()
    extent = float(max((hi - lo).max(), 1e-6))
    if len(scene):  # a far shell (tap's sky-dome: 480 units around an object of 0.5) sets no precision
        bulk = bulk_means(scene.means)
        extent = min(extent, max(BULK_FACTOR * float((bulk.max(axis=0) - bulk.min(axis=0)).max()), 1e-6))
    step = extent / (1 << preset.pos_bits)
    if preset.pos_step_cap is not None:
        step = min(step, preset.pos_step_cap)
    least = float(max((hi - lo).max(), 1e-6)) / (1 << MAX_AXIS_BITS) * 1.0001  # grid must fit 21 bits per axis
    step = max(step, least)
    fixed = fixed_point_step(scene.means - lo) if len(scene) else None
    if fixed is not None:  # a fixed-point input (SPZ): a multiple of its step keeps it exact
        step = fixed * max(1, int(np.floor(step / fixed + 1e-9)), int(np.ceil(least / fixed - 1e-9)))
    return lo, step


SCALE_CONTEXTS = 8


def _scale_context(s0: np.ndarray, lo: int, k: int) -> np.ndarray:
    """[N] context in [0, 8): where the first log-scale sits in its coded range."""
    return np.minimum((s0 - lo) * SCALE_CONTEXTS // max(k, 1), SCALE_CONTEXTS - 1)


COLOR_R_BINS = 8  # format 5, header color_contexts = 1: r - g conditioned on the colour class and 8 bins of g ...
COLOR_B_BINS = 16  # ... and b - g on the class and 16 bins of r - g (each over its coded range)
COLOR_R_CONTEXTS = 4 * COLOR_R_BINS
COLOR_B_CONTEXTS = 4 * COLOR_B_BINS


def color_r_context(ccls: np.ndarray, g_sym: np.ndarray, g_k: int) -> np.ndarray:
    """[N] context of r - g: colour class ``ccls`` [N] (0..3) and where g sits in its coded range
    (``g_sym`` [N] = g minus its stream's lo, ``g_k`` its alphabet size). A scene's colours
    cluster, so the channels depend on each other beyond a linear prediction (donut at quality 1:
    the best b - g = round(k (r - g) / 16) saved 0.08 bits per Gaussian, these contexts 0.77)."""
    return ccls * COLOR_R_BINS + g_sym * COLOR_R_BINS // max(g_k, 1)


def color_b_context(ccls: np.ndarray, rg_sym: np.ndarray, rg_k: int) -> np.ndarray:
    """[N] context of b - g: colour class ``ccls`` [N] and 16 bins of the decoded r - g's coded
    range (``rg_sym`` [N] = r - g minus its stream's lo, ``rg_k`` its alphabet size)."""
    return ccls * COLOR_B_BINS + rg_sym * COLOR_B_BINS // max(rg_k, 1)


OPACITY_CLASSES = 4


def opacity_class(qo: np.ndarray, bits: int) -> np.ndarray:
    """[N] int in [0, 4): c with opacity in (2^-(c+1), 2^-c] (3 for everything under 1/8).

    Formats 1 and 2 relax the colour step by 2^c (integers only); format 3 uses the importance
    class of ``importance.py`` instead.
    """
    levels = (1 << bits) - 1
    return sum(((qo.astype(np.int64) << j) <= levels).astype(np.int64) for j in (1, 2, 3))


def _drop_bits(bits: np.ndarray, ocls: np.ndarray) -> np.ndarray:
    b = bits.astype(np.int64) - ocls
    return np.where(b < 2, 0, b)


def rotation_table(k: int, preset: Preset, scale_step: float) -> np.ndarray:
    """[k] uint8: bits per smallest-three component for a log-scale spread of i steps.

    A rotation error t changes the covariance by about t * (1 - exp(-2a)) relative to its
    size, a = largest minus smallest log-scale, so near-isotropic Gaussians need fewer bits:
    ``rot_bits - floor(-log2(1 - exp(-2a)))``; under 2 bits nothing is sent (identity). The
    table is stored in the file, so the decoder uses integers only.
    """
    a = np.arange(k, dtype=np.float64) * scale_step
    drop = np.floor(-np.log2(np.maximum(-np.expm1(-2.0 * a), 1e-12)))
    bits = preset.rot_bits - np.clip(drop, 0, preset.rot_bits).astype(np.int64)
    return np.where(bits < 2, 0, bits).astype(np.uint8)


def rotation_bits(qs: np.ndarray, preset: Preset, scale_step: float | None = None) -> np.ndarray:
    """[N] bits per smallest-three component for quantized log-scales [N, 3] (see rotation_table;
    ``scale_step`` defaults to the preset's)."""
    spread = np.ptp(qs, axis=1)
    step = preset.scale_step if scale_step is None else scale_step
    return rotation_table(int(spread.max()) + 1 if len(spread) else 1, preset, step)[spread].astype(np.int64)


def canonical_order(scene: GaussianScene, origin: np.ndarray, step: float) -> np.ndarray:
    """The permutation the codec applies to ``scene`` for a grid (origin, step)."""
    return morton_order(positions_to_int(scene.means, origin, step))


def color_relax(preset: Preset, grid_step: float) -> int:
    """The colour relaxation cap for a colour grid step ``grid_step`` (``grid_of``: the preset's
    step, or the input's own grid): the preset's cap on a grid no coarser than the preset's step;
    one less on a grid up to twice as coarse, so ``grid_step * 2^cap`` stays within
    ``preset.color_step * 2^preset.relax_color`` (the preset's worst-case f_dc bound); 0 (colours
    exact) on a grid twice the step or coarser, where even class 1 would get four times the step
    it is meant to (tap, SPZ's 1/38.25 against quality 3's 0.0125: 1.8 dB for 0.7 % of the file)."""
    if grid_step <= preset.color_step * (1 + 1e-9):
        return preset.relax_color
    return max(preset.relax_color - 1, 0) if grid_step < 2 * preset.color_step * (1 - 1e-9) else 0


def _offset_cat(values: np.ndarray, ctx=None, t: int = 1) -> tuple[bytes, int, int]:
    lo = int(values.min()) if values.size else 0
    k = int(values.max()) - lo + 1 if values.size else 1
    if k > MAX_ALPHABET:
        raise InvalidInputError(f"attribute range needs {k} symbols (limit {MAX_ALPHABET}); use a coarser preset")
    return encode_categorical(values - lo, k, ctx, t), lo, k


def encode_scene(scene: GaussianScene, quality: int = DEFAULT_QUALITY, prune: bool = False,
                 progress: Callable[[Iterable], Iterable] | None = None,
                 reframe: bool = True) -> tuple[bytes, np.ndarray]:
    """Encode; returns (file bytes, [M] int64 indices of the input Gaussians in decoded order).

    ``progress`` wraps the reference views that pruning renders (e.g. a progress bar).
    ``reframe`` writes every Gaussian in its canonical frame (``frame.py``: axes by decreasing
    scale, w the largest quaternion component), which changes the decoded log-scales and
    quaternions but not the covariances; False keeps the input's axes (a stream's keyframes,
    whose next frames are coded as differences to the decoded attributes)."""
    preset = get_preset(quality)
    kept = np.arange(len(scene))
    if prune and len(scene):
        from .prune import prune_mask  # renders with torch: loaded only when pruning

        kept = np.nonzero(prune_mask(scene, progress))[0]
        scene = scene.subset(kept)
    n = len(scene)
    header: dict = {"scene_version": SCENE_FORMAT_VERSION, "n": n, "quality": quality, "sh_degree": scene.sh_degree,
                    "opacity_bits": preset.opacity_bits, "rot_bits": preset.rot_bits}
    sections: list[tuple[str, bytes]] = []
    origin, step = quantization_grid(scene, preset)
    q = positions_to_int(scene.means, origin, step)
    order = morton_order(q)
    q = q[order]
    kept = kept[order]
    header.update(origin=struct.pack("<3d", *origin), pos_step=step)
    qo = opacity_to_int(scene.opacity_logits[order], preset.opacity_bits)
    sections.append(("opacity", encode_categorical(qo, 1 << preset.opacity_bits)))
    octx = qo >> max(preset.opacity_bits - 3, 0)  # 8 opacity classes as context
    sstep, soff = grid_of(scene.log_scales, preset.scale_step)
    header.update(scale_step=sstep, scale_offset=soff, frame=int(reframe))
    log_scales, quats = scene.log_scales[order], scene.quats[order]
    if reframe:
        log_scales, quats = canonical_frame(log_scales, quats)
    qs = uniform_offset_to_int(log_scales, sstep, soff)
    data, lo, kk = _offset_cat(qs[:, 0], octx, 8)
    sections.append(("scale_0", data))
    header["scale_0_lo"], header["scale_0_k"] = lo, kk
    sctx = _scale_context(qs[:, 0], lo, kk)
    rest = (qs[:, 0] - qs[:, 1], qs[:, 1] - qs[:, 2]) if reframe else (qs[:, 1], qs[:, 2])  # sorted: the gaps
    for j, vals in zip((1, 2), rest):
        data, lo, kk = _offset_cat(vals, sctx, SCALE_CONTEXTS)
        sections.append((f"scale_{j}", data))
        header[f"scale_{j}_lo"], header[f"scale_{j}_k"] = lo, kk
    wo, wa, alo = importance_tables(qo, qs, preset.opacity_bits, sstep, soff, preset.keep,
                                    bulk_mask(scene.means[order]) if n else None)
    gstep, coff = grid_of(scene.sh_dc, preset.color_step)
    relax = (color_relax(preset, gstep), preset.relax_rot, preset.relax_pos)
    header.update(importance_opacity=wo.tobytes(), importance_area=wa.tobytes(), importance_area_lo=alo,
                  relax=bytes(relax))
    icls = importance_class(qo, area_index(qs[:, 0], qs[:, 1], qs[:, 2]), wo, wa, alo)
    fields, pos_sections = encode_positions(q, median3(qs[:, 0], qs[:, 1], qs[:, 2]), np.minimum(icls, relax[2]),
                                            preset, step, sstep, soff)
    header.update(fields)
    sections = pos_sections + sections
    rlut = rotation_table(int(np.ptp(qs, axis=1).max()) + 1 if n else 1, preset, sstep)
    header["rot_lut"] = rlut.tobytes()
    bits = _drop_bits(rlut[np.ptp(qs, axis=1)], np.minimum(icls, relax[1])) if n else np.zeros(0, np.int64)
    coded = bits > 0
    rctx = preset.rot_bits - bits[coded]
    if reframe:  # canonical rotations as modified Rodrigues parameters (frame.py): no index
        qr = mrp_to_int(quats, bits)
    else:
        largest, qr = quats_to_int(quats, bits)
        sections.append(("rot_index", encode_categorical(largest[coded], 4, rctx, preset.rot_bits)))
    for j in range(3):
        sections.append((f"rot_{j}", encode_categorical(qr[coded, j], 1 << preset.rot_bits, rctx, preset.rot_bits)))
    ccls = np.minimum(icls, relax[0])
    header.update(color_step=gstep, color_offset=coff)
    cstep = (gstep * (1 << ccls))[:, None]
    qc = np.round((scene.sh_dc[order].astype(np.float64) - coff) / cstep).astype(np.int64)
    rg, bg = qc[:, 0] - qc[:, 1], qc[:, 2] - qc[:, 1]
    data, glo, gk = _offset_cat(qc[:, 1], ccls, OPACITY_CLASSES)
    plain = [("color_r", *_offset_cat(rg, ccls, OPACITY_CLASSES)), ("color_b", *_offset_cat(bg, ccls, OPACITY_CLASSES))]
    r_ctx = ("color_r", *_offset_cat(rg, color_r_context(ccls, qc[:, 1] - glo, gk), COLOR_R_CONTEXTS))
    b_ctx = ("color_b", *_offset_cat(bg, color_b_context(ccls, rg - r_ctx[2], r_ctx[3]), COLOR_B_CONTEXTS))
    # the contexts pay for their tables on most scenes, not on all (guitar at quality 5): keep the smaller
    contextual = len(r_ctx[1]) + len(b_ctx[1]) < len(plain[0][1]) + len(plain[1][1])
    header["color_contexts"] = int(contextual)
    for name, data, lo, kk in [("color_g", data, glo, gk)] + ([r_ctx, b_ctx] if contextual else plain):
        sections.append((name, data))
        header[f"{name}_lo"], header[f"{name}_k"] = lo, kk
    sh_header, sh_sections = encode_sh_bands(scene.sh_rest[order], scene.sh_degree, preset.sh_step)
    header.update(sh_header)
    sections += sh_sections
    return pack(Container("scene", header, tuple(sections))), kept


def decode_scene(data: bytes) -> GaussianScene:
    """Decode bytes written by :func:`encode_scene` (Gaussians in the codec's Morton order).

    Works attribute by attribute on [N] int64 columns (no [N, 3] integer stacks); streams
    that share a context share one ``TableIds`` (ids checked and grouped once); integer ->
    float steps are table lookups or the same elementwise float64 arithmetic as the
    quantizers, so the output is identical to ``quantize.*_from_int`` of the same integers.
    """
    c = unpack(data, "scene")
    h = c.header
    version = h.get("scene_version", 1)  # files of version 1 have no such field
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        from codec.errors import UnsupportedVersionError

        raise UnsupportedVersionError(f"scene format version {version!r} is not supported "
                                      f"(this build reads {', '.join(map(str, READABLE_VERSIONS))})")
    n = int_field(h, "n", 0, MAX_GAUSSIANS)
    if n > 64 * len(data) + 64:  # every Gaussian costs well over 1/8 bit: refuse absurd counts
        raise LimitExceededError(f"scene header claims {n} Gaussians in {len(data)} bytes")
    if version < 3:  # bit depths and colour relaxation follow from the quality
        legacy = LEGACY_PRESETS.get(h.get("quality")) if isinstance(h.get("quality"), int) else None
        if legacy is None:
            raise CorruptDataError(f"scene header has an unknown quality {h.get('quality')!r}")
        ob, rb, relax = legacy[0], legacy[1], (legacy[2], 0, 0)
    else:
        int_field(h, "quality", 0, 99)
        ob, rb = int_field(h, "opacity_bits", *OPACITY_BITS), int_field(h, "rot_bits", 2, MAX_ROT_BITS)
        relax = h.get("relax")
        if not isinstance(relax, bytes) or len(relax) != 3 or max(relax) > MAX_CLASS:
            raise CorruptDataError("scene header field 'relax' is missing or malformed")
    deg = int_field(h, "sh_degree", 0, 3)
    k = SH_COEFFS[deg]
    origin_b, step = h.get("origin"), h.get("pos_step")
    if not isinstance(origin_b, bytes) or len(origin_b) != 24 or not isinstance(step, float) \
            or not np.isfinite(step) or step <= 0:
        raise CorruptDataError("scene header has a bad position grid")
    origin = np.array(struct.unpack("<3d", origin_b))
    if not np.isfinite(origin).all():
        raise CorruptDataError("scene header has a non-finite origin")
    sec = c.section
    if version == 1:  # steps implied by the preset, no offsets
        sstep, soff, gstep, coff = legacy[3], 0.0, legacy[4], 0.0
    else:
        sstep, soff = float_field(h, "scale_step", 1e-6, 16.0), float_field(h, "scale_offset", -16.0, 16.0)
        gstep, coff = float_field(h, "color_step", 1e-6, 16.0), float_field(h, "color_offset", -16.0, 16.0)

    def offset_cat(name, ctx=None, t=1, count=n):
        """(decoded symbols + lo as [count] int64, lo, k) of an offset categorical stream."""
        lo = int_field(h, f"{name}_lo", -(1 << 40), 1 << 40)
        kk = int_field(h, f"{name}_k", 1, MAX_ALPHABET)
        return decode_categorical(sec(name), count, kk, ctx, t, what=name) + lo, lo, kk

    # opacity and its classes (lookup tables over the 2^b levels)
    levels = np.arange(1 << ob)
    qo = decode_categorical(sec("opacity"), n, 1 << ob, what="opacity")
    opacity = opacity_from_int(levels, ob)[qo]
    octx = qo >> max(ob - 3, 0)
    # log-scales
    s0, lo0, k0 = offset_cat("scale_0", octx, 8)
    sctx = TableIds(_scale_context(s0, lo0, k0), SCALE_CONTEXTS)
    (s1, _, _), (s2, _, _) = (offset_cat(f"scale_{j}", sctx, SCALE_CONTEXTS) for j in (1, 2))
    reframed = version >= 5 and bool(int_field(h, "frame", 0, 1))
    if reframed:  # canonical frame: s0 >= s1 >= s2 coded as s0 and the two gaps
        s1 = s0 - s1
        s2 = s1 - s2
    log_scales = np.empty((n, 3), np.float32)
    for j, s in enumerate((s0, s1, s2)):
        log_scales[:, j] = uniform_offset_from_int(s, sstep, soff)
    smin, smax = np.minimum(np.minimum(s0, s1), s2), np.maximum(np.maximum(s0, s1), s2)
    if version < 3:
        icls = opacity_class(levels, ob)[qo]
    else:
        icls = importance_class(qo, s0 + s1 + s2 - smin, lut_field(h, "importance_opacity", 255),
                                lut_field(h, "importance_area", 255),
                                int_field(h, "importance_area_lo", -(1 << 40), 1 << 40))
    # positions: coarse cells along the order, then the refinement (positions.py)
    levels = int_field(h, "refine_levels", 0, REFINE) if version >= 5 else REFINE
    means = decode_positions(h, sec, n, levels, median3(s0, s1, s2), np.minimum(icls, relax[2]), origin, step)
    # rotations: smallest three of the Gaussians that store any bits
    rlut = lut_field(h, "rot_lut", rb)
    spread = smax - smin
    if n and spread.max() >= len(rlut):
        raise CorruptDataError("rotation table too short for the decoded scales")
    bits = _drop_bits(rlut[spread], np.minimum(icls, relax[1]))
    idx = np.flatnonzero(bits)
    bc = bits[idx]
    rctx = TableIds(rb - bc, rb)
    if not reframed:
        largest = decode_categorical(sec("rot_index"), idx.size, 4, rctx, rb, what="rot_index")
    comps = [decode_categorical(sec(f"rot_{j}"), idx.size, 1 << rb, rctx, rb, what=f"rot_{j}") for j in range(3)]
    if any((cj >> bc).any() for cj in comps):
        raise CorruptDataError("rotation symbol out of range for its precision")
    quats = np.zeros((n, 4), np.float32)
    quats[:, 0] = 1.0  # nothing stored: the identity
    if reframed:
        quats_from_mrp(*comps, bc, out=quats, rows=idx)
    else:
        quats_from_components(largest, *comps, bc, out=quats, rows=idx)
    # DC colour: g, r - g, b - g
    ccls = np.minimum(icls, relax[0])
    cids = TableIds(ccls, OPACITY_CLASSES)
    cstep = gstep * (1 << ccls)
    g, glo, gk = offset_cat("color_g", cids, OPACITY_CLASSES)
    dc = np.empty((n, 3), np.float32)
    dc[:, 1] = g.astype(np.float64) * cstep + coff
    if version >= 5 and int_field(h, "color_contexts", 0, 1):  # r - g conditioned on g, b - g on r - g
        rg, rlo, rk = offset_cat("color_r", TableIds(color_r_context(ccls, g - glo, gk), COLOR_R_CONTEXTS),
                                 COLOR_R_CONTEXTS)
        bg = offset_cat("color_b", TableIds(color_b_context(ccls, rg - rlo, rk), COLOR_B_CONTEXTS),
                        COLOR_B_CONTEXTS)[0]
    else:
        rg, bg = (offset_cat(name, cids, OPACITY_CLASSES)[0] for name in ("color_r", "color_b"))
    dc[:, 0] = (g + rg).astype(np.float64) * cstep + coff
    dc[:, 2] = (g + bg).astype(np.float64) * cstep + coff
    if version > 1:
        rest = decode_sh_bands(h, sec, n, deg, version)
    elif k:
        m = int_field(h, "sh_codebook", 0 if n == 0 else 1, 1 << 16)  # an empty scene has an empty codebook
        raw = sec("sh_codebook")
        if len(raw) != m * 3 * k * 2:
            raise CorruptDataError("SH codebook section has the wrong size")
        cb = np.frombuffer(raw, "<f2").astype(np.float32).reshape(m, k * 3)
        labels = decode_categorical(sec("sh_index"), n, max(m, 1), what="sh_index")  # as encoded
        rest = cb[labels].reshape(n, k, 3)
        if not np.isfinite(rest).all():
            raise CorruptDataError("decoded attributes are not finite")
    else:
        rest = np.zeros((n, 0, 3), np.float32)
    if not (np.isfinite(means).all() and np.isfinite(log_scales).all() and np.isfinite(dc).all()):
        raise CorruptDataError("decoded attributes are not finite")
    return GaussianScene._trusted(means, log_scales, quats, opacity, dc, rest)


class SceneCodec:
    """Library entry point: ``SceneCodec(quality=3).encode(scene) -> bytes``, ``.decode(data)``.

    ``prune=True`` drops the Gaussians that weigh under 1/255 in every pixel of 16 reference
    views (``prune.py``; renders, so it takes seconds per view); ``progress`` wraps those views.
    The decoded scene holds the Gaussians in the codec's order (Morton order of the grid);
    :attr:`last_order` gives, after ``encode``, the input index of each decoded Gaussian.
    With ``reframe`` (the default) each decoded Gaussian is in its canonical frame
    (``frame.py``: the same covariance, axes by decreasing scale); ``reframe=False`` keeps the
    input's axes, for callers that code later changes against the decoded attributes (streams).
    """

    def __init__(self, quality: int = DEFAULT_QUALITY, prune: bool = False,
                 progress: Callable[[Iterable], Iterable] | None = None, reframe: bool = True):
        get_preset(quality)
        self.quality, self.prune, self.progress, self.reframe = quality, prune, progress, reframe
        self.last_order: np.ndarray | None = None

    def encode(self, scene: GaussianScene) -> bytes:
        if not isinstance(scene, GaussianScene):
            raise TypeError(f"encode expects a GaussianScene, got {type(scene).__name__}")
        data, self.last_order = encode_scene(scene, self.quality, self.prune, self.progress, self.reframe)
        return data

    def decode(self, data: bytes) -> GaussianScene:
        return decode_scene(data)

    @staticmethod
    def decode_bytes(data: bytes) -> GaussianScene:
        return decode_scene(data)
