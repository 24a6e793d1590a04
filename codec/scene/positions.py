"""Positions of the scene codec: coarse cells along the Morton order, then per-axis refinement.

The means sit on a fine grid (``codec.quantization_grid``). A coarse cell is ``2^L`` fine steps
per axis; the cells are coded as deltas along the Morton order (x with block-adaptive Laplace
scales, y conditioned on |dx|, z on |dx| + |dy|), and each Gaussian then codes the top ``r``
bits of its position inside the cell per axis, ``r`` from a stored table over its median
quantized log-scale: enough that its step is at most ``pos_rel`` times its median standard
deviation, never finer than the fine grid, and at most ``L``. The decoded position is the
centre of what is left.

Formats 1-4 use L = 6. Format 5 stores L (``refine_levels``) and the encoder codes the
positions at L = 6, 5, ... (``LEVEL_CHOICES``) while that makes them smaller. Smaller cells
cost more cell deltas but code the order of the Gaussians sharing a cell (which the refinement
bits cannot), and give the large Gaussians that need no refinement a finer step for free: no
Gaussian's step ever grows. At quality 1 this saved 4.7 % of biker, 4.4 % of guitar, 3.3 % of
plant, 6.2 % of tap and 0.7 % of donut (L = 2 to 4).
"""

from __future__ import annotations

import numpy as np

from codec.errors import CorruptDataError
from entropy import TableIds

from ._header import int_field, lut_field
from .morton import MAX_AXIS_BITS
from .presets import Preset
from .quantize import positions_from_int
from .streams import bucket, decode_categorical, decode_residuals, encode_categorical, encode_residuals

__all__ = ["REFINE", "LEVEL_CHOICES", "refine_table", "median3", "encode_positions", "decode_positions"]

REFINE = 6  # refinement levels (cell = 2^6 fine steps) of formats 1-4, and the most format 5 allows
LEVEL_CHOICES = (2, 3, 4, 5, 6)  # the cell sizes a format 5 encoder tries


def refine_table(lo: int, hi: int, preset: Preset, step: float, scale_step: float,
                 scale_offset: float = 0.0, levels: int = REFINE) -> np.ndarray:
    """[hi - lo] uint8: refinement levels (0..``levels``) for a median log-scale of (lo + i) steps.

    The coarse grid is ``step * 2**levels``; a Gaussian gets enough levels that its grid step is
    at most ``preset.pos_rel`` times its median standard deviation (and never finer than
    ``step``). Stored in the file, so the decoder computes no logarithms.
    """
    sigma = np.exp((lo + np.arange(max(hi - lo, 1))) * scale_step + scale_offset)
    need = np.ceil(np.log2(step * (1 << levels) / (preset.pos_rel * sigma)))
    return np.clip(need, 0, levels).astype(np.uint8)


def median3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Elementwise median of three [N] int arrays."""
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


def _encode_at(q: np.ndarray, mid: np.ndarray, relax: np.ndarray, preset: Preset, step: float,
               scale_step: float, scale_offset: float, levels: int) -> tuple[dict, list[tuple[str, bytes]]]:
    coarse = q >> levels
    d = np.diff(coarse, axis=0, prepend=np.zeros((1, 3), np.int64))
    cy, cz = bucket(d[:, 0]), bucket(np.abs(d[:, 0]) + np.abs(d[:, 1]))
    sections = [("pos_x", encode_residuals(d[:, 0])), ("pos_y", encode_residuals(d[:, 1], cy, 16)),
                ("pos_z", encode_residuals(d[:, 2], cz, 16))]
    lo, hi = (int(mid.min()), int(mid.max()) + 1) if len(mid) else (0, 1)
    lut = refine_table(lo, hi, preset, step, scale_step, scale_offset, levels)
    r = np.maximum(lut[mid - lo].astype(np.int64) - relax, 0)
    top = (q & ((1 << levels) - 1)) >> (levels - r)[:, None]
    sections += [(f"refine_{'xyz'[a]}", encode_categorical(top[:, a], 1 << levels, r, levels + 1)) for a in range(3)]
    return {"refine_levels": levels, "refine_lo": lo, "refine_lut": lut.tobytes()}, sections


def encode_positions(q: np.ndarray, mid: np.ndarray, relax: np.ndarray, preset: Preset, step: float,
                     scale_step: float, scale_offset: float,
                     choices: tuple[int, ...] = LEVEL_CHOICES) -> tuple[dict, list[tuple[str, bytes]]]:
    """(header fields, sections pos_x..z and refine_x..z) of the fine grid positions ``q`` [N, 3]
    (int64, in Morton order) with median quantized log-scales ``mid`` [N] and refinement level
    reductions ``relax`` [N]: the smallest over the cell sizes ``2^L``, L in ``choices``, tried
    from the largest down until the size grows (it falls, then rises, as L shrinks: two or three
    tries on most scenes)."""
    best = None
    for levels in sorted(choices, reverse=True):
        fields, sections = _encode_at(q, mid, relax, preset, step, scale_step, scale_offset, levels)
        size = sum(len(b) for _, b in sections) + len(fields["refine_lut"])
        if best is not None and size >= best[0]:
            break
        best = (size, fields, sections)
    return best[1], best[2]


def decode_positions(h: dict, sec, n: int, levels: int, mid: np.ndarray, relax: np.ndarray,
                     origin: np.ndarray, step: float) -> np.ndarray:
    """[N, 3] float32 means from the sections and header fields :func:`encode_positions` wrote,
    with cells of ``2^levels`` fine steps and the decoder's ``mid`` and ``relax`` ([N] int64)."""
    dx = decode_residuals(sec("pos_x"), n, what="pos_x")
    dy = decode_residuals(sec("pos_y"), n, bucket(dx), 16, what="pos_y")
    dz = decode_residuals(sec("pos_z"), n, bucket(np.abs(dx) + np.abs(dy)), 16, what="pos_z")
    coarse = [np.cumsum(d) for d in (dx, dy, dz)]
    if n and any(a.min() < 0 or a.max() >= (1 << (MAX_AXIS_BITS - levels)) for a in coarse):
        raise CorruptDataError("decoded positions leave the grid")
    lut = lut_field(h, "refine_lut", levels)
    i = mid - int_field(h, "refine_lo", -(1 << 40), 1 << 40)
    if len(i) and (i.min() < 0 or i.max() >= len(lut)):
        raise CorruptDataError("refinement table does not cover the decoded scales")
    r = np.maximum(lut[i].astype(np.int64) - relax, 0)
    rids = TableIds(r, levels + 1)
    shift = levels - r
    centre = (1 << shift) >> 1
    means = np.empty((n, 3), np.float32)
    for a, ax in enumerate("xyz"):
        top = decode_categorical(sec(f"refine_{ax}"), n, 1 << levels, rids, levels + 1, what=f"refine_{ax}")
        if (top >> r).any():
            raise CorruptDataError("position refinement out of range")
        means[:, a] = positions_from_int((coarse[a] << levels) + (top << shift) + centre, origin[a], step)
    return means
