"""PlayCanvas / SuperSplat compressed PLY reader (``*.compressed.ply``).

Layout (PlayCanvas engine ``gsplat-compressed-data.js``): ``element chunk C`` of float32
min/max boxes (``min_x..max_z``, ``min_scale_x..max_scale_z`` and optionally ``min_r..max_b``),
one chunk per 256 consecutive splats; ``element vertex N`` of four uint32:

* ``packed_position``: x/y/z in 11/10/11 bits, lerped inside the chunk box;
* ``packed_rotation``: top 2 bits = index of the largest of (rot_0..rot_3), then three 10-bit
  values of the other components in order, each ``(u/1023 - 0.5) * sqrt(2)``;
* ``packed_scale``: log-scales in 11/10/11 bits lerped in the chunk's scale range;
* ``packed_color``: RGBA 8888 (R in the top byte); rgb lerped in the chunk colour box when it
  has one, ``f_dc = (c - 0.5) / C0``; alpha is ``sigmoid(opacity)``.

An optional ``element sh`` holds ``f_rest_*`` as uint8, channel-major, decoded as
``((u + 0.5) / 256 - 0.5) * 8`` (0 -> -4, 255 -> 4). Coordinates follow the PLY convention.
"""

from __future__ import annotations

import numpy as np

from codec.errors import CorruptDataError

from .data import SH_C0, GaussianScene, logit
from .io_ply import PlyElement, parse_ply

__all__ = ["read_compressed_ply", "is_compressed_ply"]

CHUNK = 256
_BOX = ["min_x", "min_y", "min_z", "max_x", "max_y", "max_z",
        "min_scale_x", "min_scale_y", "min_scale_z", "max_scale_x", "max_scale_y", "max_scale_z"]
_COLOR = ["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"]
_PACKED = ["packed_position", "packed_rotation", "packed_scale", "packed_color"]


def is_compressed_ply(elements: dict[str, PlyElement]) -> bool:
    v = elements.get("vertex")
    return "chunk" in elements and v is not None and all(p in v.names for p in _PACKED)


def _unorm(v: np.ndarray, shift: int, bits: int) -> np.ndarray:
    return ((v >> np.uint32(shift)) & np.uint32((1 << bits) - 1)).astype(np.float64) / ((1 << bits) - 1)


def _lerp(lo, hi, t):
    return lo * (1.0 - t) + hi * t


def read_compressed_ply(buf: bytes, what: str = "compressed PLY") -> GaussianScene:
    """Decode a PlayCanvas compressed PLY into a float scene (see the module docstring)."""
    elements, _ = parse_ply(buf, what)
    if not is_compressed_ply(elements):
        raise CorruptDataError(f"{what}: not a PlayCanvas compressed PLY (needs chunk + packed_* vertex)")
    chunk, vert = elements["chunk"], elements["vertex"]
    n = vert.count
    if chunk.count != (n + CHUNK - 1) // CHUNK:
        raise CorruptDataError(f"{what}: {chunk.count} chunks for {n} splats (expected {(n + CHUNK - 1) // CHUNK})")
    missing = [p for p in _BOX if p not in chunk.names]
    if missing:
        raise CorruptDataError(f"{what}: chunk properties missing: {', '.join(missing)}")
    ci = np.arange(n) // CHUNK
    c = {p: chunk.data[p].astype(np.float64)[ci] for p in _BOX + [q for q in _COLOR if q in chunk.names]}
    v = {p: vert.data[p].astype(np.uint32) for p in _PACKED}

    pp = v["packed_position"]
    means = np.stack([_lerp(c["min_x"], c["max_x"], _unorm(pp, 21, 11)),
                      _lerp(c["min_y"], c["max_y"], _unorm(pp, 11, 10)),
                      _lerp(c["min_z"], c["max_z"], _unorm(pp, 0, 11))], axis=1)
    ps = v["packed_scale"]
    scales = np.stack([_lerp(c["min_scale_x"], c["max_scale_x"], _unorm(ps, 21, 11)),
                       _lerp(c["min_scale_y"], c["max_scale_y"], _unorm(ps, 11, 10)),
                       _lerp(c["min_scale_z"], c["max_scale_z"], _unorm(ps, 0, 11))], axis=1)
    pr = v["packed_rotation"]
    norm = np.sqrt(2.0)
    abc = np.stack([(_unorm(pr, s, 10) - 0.5) * norm for s in (20, 10, 0)], axis=1)
    largest = (pr >> np.uint32(30)).astype(np.int64)
    m = np.sqrt(np.clip(1.0 - (abc ** 2).sum(axis=1), 0.0, None))
    quats = np.empty((n, 4))
    rows = np.arange(n)
    for slot in range(4):  # component index -> which of a,b,c (or m) it is
        src = np.where(largest == slot, -1, np.where(largest < slot, slot - 1, slot))
        quats[:, slot] = np.where(src < 0, m, abc[rows, np.clip(src, 0, 2)])
    pc = v["packed_color"]
    rgb = np.stack([_unorm(pc, 24, 8), _unorm(pc, 16, 8), _unorm(pc, 8, 8)], axis=1)
    if all(q in c for q in _COLOR):
        lo = np.stack([c["min_r"], c["min_g"], c["min_b"]], axis=1)
        hi = np.stack([c["max_r"], c["max_g"], c["max_b"]], axis=1)
        rgb = _lerp(lo, hi, rgb)
    alpha = _unorm(pc, 0, 8)
    rest = None
    if "sh" in elements:
        sh = elements["sh"]
        nr = len(sh.names)
        if nr not in (9, 24, 45) or sh.count != n:
            raise CorruptDataError(f"{what}: sh element has {nr} properties x {sh.count} rows")
        missing = [f"f_rest_{i}" for i in range(nr) if f"f_rest_{i}" not in sh.names]
        if missing:
            raise CorruptDataError(f"{what}: sh element lacks {', '.join(missing[:3])}"
                                   f"{' ...' if len(missing) > 3 else ''} (expected f_rest_0..f_rest_{nr - 1})")
        u = np.stack([sh.data[f"f_rest_{i}"].astype(np.float64) for i in range(nr)], axis=1)
        t = np.where(u == 0, 0.0, np.where(u == 255, 1.0, (u + 0.5) / 256.0))
        rest = ((t - 0.5) * 8.0).reshape(n, 3, nr // 3).transpose(0, 2, 1)
    return GaussianScene.cleaned(means, scales, quats, logit(alpha, 0.25 / 255), (rgb - 0.5) / SH_C0, rest,
                                 source=what)
