"""Delta frames: gated, quantized residuals against the previous *decoded* frame.

Letters: N Gaussians, K SH rest coefficients per channel, C channels of one attribute group,
M Gaussians of a group that carry a residual in this frame.

A delta frame codes frame t against the decoder's reconstruction of frame t-1 (closed loop):
the encoder computes exactly what the decoder will compute (:func:`decode_delta` and the
encoder share :func:`_apply`), so errors never accumulate over a group of frames.

Attribute groups and their bit in the per-Gaussian *pattern* (wire ids, never reordered)::

    bit  group    array (float32)          channels  step (ResidualConfig)
    0    pos      means [N, 3]              3         pos_step (scene units)
    1    scale    log_scales [N, 3]         3         scale_step
    2    quat     quats [N, 4] (w,x,y,z)    4         quat_step
    3    opacity  opacity_logits [N]        1         opacity_step
    4    dc       sh_dc [N, 3]              3         dc_step
    5    rest     sh_rest [N, K, 3]         3K        rest_step

**Gating.** The encoder remembers, per Gaussian and group, the source value it last sent
(the *anchor*; the keyframe's source values at the start of a group). A group of Gaussian i
is considered only when the source has moved away from its anchor by more than the gate
(``gate * pos_step`` for positions, half a step for the other groups), and it is sent only
if its quantized residual ``round((cur - ref) / step)`` is non-zero. Static Gaussians
therefore cost nothing, even when the keyframe itself was coded lossily; a sent value is
within half a step of the source, an unsent one within gate + half a step.

**Payload** (little-endian; sizes in bytes)::

    u8   version (1)
    u32  N                 must equal the reference frame's count
    u16  3K                SH rest channels, must equal the reference frame's
    f32  x6                steps: pos, scale, quat, opacity, dc, rest (finite, > 0)
    mask                   the N changed bits, predicted by the previous delta frame's
                           (:mod:`codec.stream.masks`: same / flipped positions / all bits)
    u8   P, P x (u8 pattern, varint count)   pattern histogram of the M changed Gaussians
    u32+ blob              ANS stream of the M patterns (empty if P <= 1)
    u8   x C per group with M > 0: Laplace scale id of each channel
    u32+ blob              ANS stream of all residuals (ScaleFamily), group order, channel-major,
                           each minus its prediction (below)

**Motion prediction.** A sent row's quantized residual is coded minus the same row's residual
in the previous delta frame (zero after a keyframe or where the row sent nothing): smooth motion
repeats its per-frame step, so only the change of velocity is coded. Both sides carry the
previous residuals and the changed flags in a :class:`DeltaState`.

Everything entropy-coded goes through :mod:`entropy`; a damaged payload raises
:class:`~codec.errors.CorruptDataError` (never another exception).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codec.errors import CorruptDataError
from codec.scene.data import GaussianScene
from entropy import EntropyError

from ._bytes import ByteReader, ByteWriter
from .masks import read_mask, read_patterns, write_mask, write_patterns
from .tables import residual_family

__all__ = ["GROUPS", "ResidualConfig", "DeltaState", "DeltaResult", "encode_delta", "decode_delta",
           "group_arrays", "initial_anchor"]

GROUPS = ("pos", "scale", "quat", "opacity", "dc", "rest")
_BIT = {name: 1 << i for i, name in enumerate(GROUPS)}
_VERSION = 1
#: Delta-frame position step in keyframe grid steps (see ResidualConfig.for_quality).
POS_STEP_FACTOR = 1.0


@dataclass(frozen=True)
class ResidualConfig:
    """Quantization steps of the residuals (pre-activation units) and the position gate.

    ``pos_step`` is in scene units; :meth:`for_quality` derives it from the scene extent.
    Steps are rounded to float32 on the wire; both sides use the rounded values.
    """

    pos_step: float
    scale_step: float = 1 / 64
    quat_step: float = 1 / 512
    opacity_step: float = 1 / 32
    dc_step: float = 1 / 128
    rest_step: float = 1 / 64
    gate: float = 1.0

    @classmethod
    def for_quality(cls, quality: int, extent: float) -> ResidualConfig:
        """Steps matched to the scene codec's preset ``quality`` (1..5, see
        :mod:`codec.scene.presets`), so delta frames keep the keyframe's precision.

        ``extent`` is the largest side of the keyframe's bounding box (scene units); the
        position step is ``POS_STEP_FACTOR`` times the keyframe's position grid step.
        """
        from codec.scene.presets import get_preset

        if isinstance(quality, bool) or not isinstance(quality, int):
            raise ValueError(f"quality must be an int, got {quality!r}")
        p = get_preset(quality)
        extent = float(extent) if math.isfinite(extent) and extent > 0 else 1.0
        grid = extent / (1 << p.pos_bits)
        if p.pos_step_cap is not None:
            grid = min(grid, p.pos_step_cap)
        return cls(pos_step=grid * POS_STEP_FACTOR, scale_step=p.scale_step,
                   quat_step=1.0 / (1 << p.rot_bits), opacity_step=4.0 / ((1 << p.opacity_bits) - 1),
                   dc_step=p.color_step, rest_step=1 / 64)

    def steps(self) -> tuple[float, ...]:
        """The six steps in group order, rounded to float32 exactly as stored."""
        raw = (self.pos_step, self.scale_step, self.quat_step, self.opacity_step, self.dc_step,
               self.rest_step)
        return tuple(float(np.float32(s)) for s in raw)


@dataclass(frozen=True)
class DeltaState:
    """What both sides carry from one delta frame to the next (reset at a keyframe).

    ``changed``: ``[N]`` bool, which Gaussians carried residuals in the previous frame (the
    mask's context). ``q``: group -> (``[M]`` ascending rows, ``[M, C]`` int64 quantized
    residuals) of the previous frame, the motion predictor (rows not listed predict zero).
    """

    changed: np.ndarray
    q: dict

    @classmethod
    def initial(cls, n: int) -> DeltaState:
        return cls(np.zeros(n, bool), {})


@dataclass(frozen=True)
class DeltaResult:
    """What :func:`encode_delta` produces: the payload, the decoder's reconstruction, the new
    encoder anchors and the state for the next frame."""

    payload: bytes
    recon: GaussianScene
    anchor: dict[str, np.ndarray]
    state: DeltaState

    @property
    def changed(self) -> np.ndarray:
        return self.state.changed


def group_arrays(scene: GaussianScene) -> dict[str, np.ndarray]:
    """Group name -> ``[N, C]`` float32 view of ``scene`` (see the module table)."""
    n = len(scene)
    return {"pos": scene.means, "scale": scene.log_scales, "quat": scene.quats,
            "opacity": scene.opacity_logits.reshape(n, 1), "dc": scene.sh_dc,
            "rest": scene.sh_rest.reshape(n, -1)}


def initial_anchor(source: GaussianScene) -> dict[str, np.ndarray]:
    """Anchors at a keyframe: the source values of every group (float32 copies)."""
    return {k: v.copy() for k, v in group_arrays(source).items()}


def _check_pair(ref: GaussianScene, cur: GaussianScene) -> None:
    if len(ref) != len(cur) or ref.sh_rest.shape[1] != cur.sh_rest.shape[1]:
        raise ValueError(f"delta frames need the same Gaussian count and SH degree "
                         f"(reference {ref!r}, frame {cur!r})")


def _align_quats(q: np.ndarray, to: np.ndarray) -> np.ndarray:
    """``q`` with each row's sign flipped where it points away from ``to`` (q and -q are the
    same rotation)."""
    dot = np.einsum("ij,ij->i", q.astype(np.float64), to.astype(np.float64))
    return np.where((dot < 0)[:, None], -q, q)


def encode_delta(ref: GaussianScene, cur: GaussianScene, anchor: dict[str, np.ndarray],
                 state: DeltaState, config: ResidualConfig) -> DeltaResult:
    """Code ``cur`` against the decoded reference ``ref`` (same N, same order).

    Args:
        ref: the decoder's reconstruction of the previous frame.
        cur: the source frame.
        anchor: per-group ``[N, C]`` float32 source values last sent (not modified).
        state: the previous delta frame's :class:`DeltaState` (``DeltaState.initial(N)`` after
            a keyframe).
        config: steps and gate.
    """
    _check_pair(ref, cur)
    n = len(cur)
    steps = config.steps()
    refs, curs = group_arrays(ref), group_arrays(cur)
    curs["quat"] = _align_quats(curs["quat"], refs["quat"])
    new_anchor, sent_q, pattern = {}, {}, np.zeros(n, np.int64)
    for name, step in zip(GROUPS, steps):
        c, r, a = curs[name], refs[name], anchor[name]
        if c.shape[1] == 0:
            new_anchor[name] = a.copy()
            continue
        if name == "quat":
            a = _align_quats(a, c)
        eps = config.gate * step if name == "pos" else 0.5 * step
        moved = np.abs(c.astype(np.float64) - a).max(axis=1) > eps
        rows = np.flatnonzero(moved)
        q = np.rint((c[rows].astype(np.float64) - r[rows]) / step).astype(np.int64)
        keep = (q != 0).any(axis=1)
        rows_sent, q = rows[keep], q[keep]
        pattern[rows_sent] |= _BIT[name]
        sent_q[name] = q
        na = anchor[name].copy()
        na[rows] = cur.quats[rows] if name == "quat" else c[rows]
        new_anchor[name] = na
    changed = pattern != 0
    w = ByteWriter()
    w.u8(_VERSION)
    w.u32(n)
    w.u16(refs["rest"].shape[1])
    for s in steps:
        w.f32(s)
    write_mask(w, changed, np.asarray(state.changed, bool))
    write_patterns(w, pattern[changed])
    values, ids = [], []
    fam = residual_family()
    idx = np.flatnonzero(changed)
    for name in GROUPS:
        q = sent_q.get(name)
        if q is None or q.shape[0] == 0:
            continue
        coded = q - _predicted(state, name, idx[(pattern[changed] & _BIT[name]) != 0])
        chan_ids = fam.best_scale_ids(coded.T)
        for cid in chan_ids.tolist():
            w.u8(cid)
        values.append(coded.T.reshape(-1))
        ids.append(np.repeat(chan_ids, q.shape[0]))
    stream = fam.encode(np.concatenate(values), np.concatenate(ids)) if values else b""
    w.blob(stream)
    recon = _apply(ref, changed, pattern[changed], sent_q, steps)
    return DeltaResult(w.getvalue(), recon, new_anchor, _next_state(changed, pattern[changed], sent_q))


def _predicted(state: DeltaState, name: str, rows: np.ndarray) -> np.ndarray | int:
    """Motion prediction of the rows' residuals: the same rows' residuals one frame earlier
    (zero for rows that sent nothing then). ``rows`` ascending."""
    prev = state.q.get(name)
    if prev is None:
        return 0
    prev_rows, prev_q = prev
    pos = np.searchsorted(prev_rows, rows)
    pos_c = np.minimum(pos, max(prev_rows.size - 1, 0))
    hit = (pos < prev_rows.size) & (prev_rows[pos_c] == rows) if prev_rows.size else np.zeros(rows.size, bool)
    out = np.zeros((rows.size, prev_q.shape[1]), np.int64)
    out[hit] = prev_q[pos_c[hit]]
    return out


def _next_state(changed: np.ndarray, patterns: np.ndarray, q_by_group: dict[str, np.ndarray]) -> DeltaState:
    """State after a frame: its changed bits, and per group (ascending rows, residuals)."""
    idx = np.flatnonzero(changed)
    q = {name: (idx[(patterns & _BIT[name]) != 0], vals) for name, vals in q_by_group.items() if vals.shape[0]}
    return DeltaState(changed, q)


def _apply(ref: GaussianScene, changed: np.ndarray, patterns: np.ndarray,
           q_by_group: dict[str, np.ndarray], steps: tuple[float, ...]) -> GaussianScene:
    """The reconstruction both sides compute: ref + q * step on the sent rows (float64
    arithmetic, one rounding to float32; elementwise IEEE operations only, so bit-exact).

    Unsent rows are the reference's values bit for bit; sent quaternion rows are normalized
    the way :class:`GaussianScene` normalizes. Only the sent rows are checked and touched, so
    a frame with few moving Gaussians decodes in time proportional to them.
    """
    idx = np.flatnonzero(changed)
    refs = group_arrays(ref)
    out = {}
    for name, step in zip(GROUPS, steps):
        base = refs[name]
        q = q_by_group.get(name)
        if q is None or q.shape[0] == 0:
            out[name] = base
            continue
        rows = idx[(patterns & _BIT[name]) != 0]
        with np.errstate(over="ignore", invalid="ignore"):
            new = (base[rows].astype(np.float64) + q.astype(np.float64) * step).astype(np.float32)
        if not np.isfinite(new).all():
            raise CorruptDataError(f"corrupt delta frame: {name} residuals give non-finite values")
        if name == "quat":
            d = new.astype(np.float64)  # explicit sum order: no reduction whose order may vary
            norms = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2] + d[:, 3] * d[:, 3])
            if (norms < 1e-12).any():
                raise CorruptDataError("corrupt delta frame: a quaternion residual gives a zero rotation")
            new = (new / norms[:, None]).astype(np.float32)
        arr = base.copy()
        arr[rows] = new
        out[name] = arr
    n, k3 = len(ref), refs["rest"].shape[1]
    # the rows it changed were checked above, the rest come from a validated scene
    return GaussianScene._trusted(out["pos"], out["scale"], out["quat"], out["opacity"].reshape(n),
                                  out["dc"], out["rest"].reshape(n, k3 // 3, 3))


def decode_delta(payload: bytes, ref: GaussianScene, state: DeltaState
                 ) -> tuple[GaussianScene, DeltaState]:
    """Decode a delta payload against the decoded previous frame ``ref``.

    Args:
        state: the previous delta frame's state (``DeltaState.initial(N)`` after a keyframe).
    Returns:
        (frame, state): the reconstruction and the state for the next delta frame.
    Raises:
        CorruptDataError: the payload is damaged or does not fit ``ref``.
    """
    if len(state.changed) != len(ref):
        raise CorruptDataError("corrupt delta frame: decoder state does not match the reference frame")
    try:
        return _decode(payload, ref, state)
    except EntropyError as exc:
        raise CorruptDataError(f"corrupt delta frame: {exc}") from None


def _decode(payload: bytes, ref: GaussianScene, state: DeltaState) -> tuple[GaussianScene, DeltaState]:
    ctx = np.asarray(state.changed, bool)
    r = ByteReader(payload, "delta frame")
    if r.u8("version") != _VERSION:
        raise CorruptDataError("corrupt delta frame: unknown payload version")
    n, k3 = r.u32("count"), r.u16("SH channels")
    refs = group_arrays(ref)
    if n != len(ref) or k3 != refs["rest"].shape[1]:
        raise CorruptDataError(f"corrupt delta frame: it codes {n} Gaussians with {k3} SH rest "
                               f"channels, the reference frame has {len(ref)} and {refs['rest'].shape[1]}")
    steps = tuple(float(np.float32(r.f32("step"))) for _ in GROUPS)
    if not all(math.isfinite(s) and s > 0 for s in steps):
        raise CorruptDataError("corrupt delta frame: a quantization step is not a positive number")
    changed = read_mask(r, ctx, n)
    patterns = read_patterns(r, int(changed.sum()), n)
    fam = residual_family()
    sizes, ids = {}, []
    for name in GROUPS:
        rows = int(np.count_nonzero(patterns & _BIT[name]))
        c = refs[name].shape[1]
        if rows == 0:
            continue
        if c == 0:
            raise CorruptDataError(f"corrupt delta frame: residuals for the empty group {name!r}")
        chan = np.array([r.u8("scale id") for _ in range(c)], np.int64)
        if (chan >= fam.num_scales).any():
            raise CorruptDataError("corrupt delta frame: scale id out of range")
        sizes[name] = (rows, c)
        ids.append(np.repeat(chan, rows))
    stream = r.blob("residual stream")
    r.expect_end()
    values = fam.decode(stream, np.concatenate(ids)) if ids else np.zeros(0, np.int64)
    if not ids and stream:
        raise CorruptDataError("corrupt delta frame: unexpected residual stream")
    q_by_group, pos = {}, 0
    idx = np.flatnonzero(changed)
    for name, (rows, c) in sizes.items():
        coded = values[pos:pos + rows * c].reshape(c, rows).T
        with np.errstate(over="ignore"):
            q_by_group[name] = coded + _predicted(state, name, idx[(patterns & _BIT[name]) != 0])
        pos += rows * c
    frame = _apply(ref, changed, patterns, q_by_group, steps)
    return frame, _next_state(changed, patterns, q_by_group)
