"""Scalar quantizers of the scene codec (one pair per attribute) and recognition of the grid an
already-quantized input sits on.

Each ``*_to_int`` maps float attributes to integers (encoder side) and each ``*_from_int``
maps them back (decoder side, plain numpy arithmetic, so the same integers give the same
floats on every run). The bound each quantizer guarantees is stated in its docstring;
``presets.py`` turns them into the per-preset guarantees printed by ``--help``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .data import sigmoid

__all__ = ["positions_to_int", "positions_from_int", "uniform_to_int", "uniform_from_int",
           "opacity_to_int", "opacity_from_int", "quats_to_int", "quats_from_int", "quats_from_components",
           "grid_of", "fixed_point_step", "uniform_offset_to_int", "uniform_offset_from_int"]

INV_SQRT2 = 1.0 / np.sqrt(2.0)


def positions_to_int(means: np.ndarray, origin: np.ndarray, step: float) -> np.ndarray:
    """[N, 3] -> [N, 3] int64 grid indices >= 0; |error| <= step / 2 per axis."""
    return np.round((means.astype(np.float64) - origin) / step).astype(np.int64)


def positions_from_int(q: np.ndarray, origin: np.ndarray, step: float) -> np.ndarray:
    return (q.astype(np.float64) * step + origin).astype(np.float32)


def uniform_to_int(x: np.ndarray, step: float) -> np.ndarray:
    """Uniform scalar quantizer with zero at 0; |error| <= step / 2."""
    return np.round(np.asarray(x, np.float64) / step).astype(np.int64)


def uniform_from_int(q: np.ndarray, step: float) -> np.ndarray:
    return (q.astype(np.float64) * step).astype(np.float32)


def opacity_to_int(logits: np.ndarray, bits: int) -> np.ndarray:
    """Opacity after sigmoid on 2**bits - 1 steps; |error| <= 0.5 / (2**bits - 1) post-sigmoid."""
    levels = (1 << bits) - 1
    return np.round(sigmoid(logits) * levels).astype(np.int64)


@functools.lru_cache(maxsize=None)
def _opacity_table(bits: int) -> np.ndarray:
    """[2**bits] float32 logits of the opacity levels, from scalar ``math.log`` / ``math.log1p``
    (numpy's array ``log`` is dispatched by CPU feature, so it could round differently on
    another machine). 0 and 1 are kept finite: a quarter step inside the range."""
    levels = (1 << bits) - 1
    eps = 0.25 / levels
    p = [min(max(i / levels, eps), 1.0 - eps) for i in range(levels + 1)]
    table = np.array([math.log(v) - math.log1p(-v) for v in p], np.float64).astype(np.float32)
    table.flags.writeable = False
    return table


def opacity_from_int(q: np.ndarray, bits: int) -> np.ndarray:
    """Opacity logits [N] float32 of levels ``q`` [N] (one table lookup per Gaussian)."""
    return _opacity_table(bits)[q]


def quats_to_int(quats: np.ndarray, bits) -> tuple[np.ndarray, np.ndarray]:
    """Smallest three: ([N] index of the largest |component| of (w,x,y,z), [N, 3] ints in
    [0, 2**bits - 1]) for the other components in order, sign fixed so the largest is
    positive. Each stored component has |error| <= 1 / (sqrt(2) * (2**bits - 1))."""
    q = quats.astype(np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
    largest = np.argmax(np.abs(q), axis=1)
    rows = np.arange(len(q))
    q = q * np.where(q[rows, largest] < 0, -1.0, 1.0)[:, None]
    others = np.stack([q[rows, (largest + j) % 4] for j in (1, 2, 3)], axis=1)
    levels = ((1 << np.asarray(bits, np.int64)) - 1).reshape(-1, 1) if np.ndim(bits) else (1 << bits) - 1
    ints = np.clip(np.round((others / INV_SQRT2 + 1.0) * 0.5 * levels), 0, levels).astype(np.int64)
    return largest.astype(np.int64), ints


def quats_from_int(largest: np.ndarray, ints: np.ndarray, bits) -> np.ndarray:
    """Inverse of :func:`quats_to_int`: [N] largest index, [N, 3] ints, ``bits`` an int or [N]
    ints (0: identity) -> [N, 4] float32 unit quaternions (w, x, y, z)."""
    ints = np.asarray(ints, np.int64)
    return quats_from_components(largest, ints[:, 0], ints[:, 1], ints[:, 2], bits)


def quats_from_components(largest: np.ndarray, i0: np.ndarray, i1: np.ndarray, i2: np.ndarray,
                          bits, out: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
    """:func:`quats_from_int` with the three stored components as separate [N] int arrays.

    With ``out`` ([M, 4] float32, C-contiguous) and ``rows`` ([N] distinct indices < M), the
    quaternions are written to ``out[rows]`` (other rows untouched) and ``out`` is returned.

    Elementwise float64 arithmetic only: each component value comes from a table over
    (bits, int) and the norm is summed in a fixed order, so the result does not depend on
    how a platform vectorizes reductions.
    """
    largest = np.asarray(largest, np.int64)
    n = largest.shape[0]
    if out is None:
        out, rows = np.empty((n, 4), np.float32), np.arange(n)
    if n == 0:
        return out
    comps = [np.asarray(i, np.int64) for i in (i0, i1, i2)]
    b = np.broadcast_to(np.asarray(bits, np.int64), (n,))
    width = max(int(c.max()) for c in comps) + 1
    levels = np.maximum((1 << np.arange(int(b.max()) + 1, dtype=np.int64)) - 1, 1).astype(np.float64)
    table = (np.arange(width, dtype=np.float64)[None, :] / levels[:, None] * 2.0 - 1.0) * INV_SQRT2
    table[0] = 0.0  # nothing stored: the identity (w = 1)
    flat, base = table.ravel(), b * width
    others = [flat[base + c] for c in comps]
    sq = [o * o for o in others]
    m = np.sqrt(np.clip(1.0 - (sq[0] + sq[1] + sq[2]), 0.0, None))
    # components two apart pair up whatever the largest one is, so this is (w²+y²)+(x²+z²)
    norm = np.maximum(np.sqrt((m * m + sq[1]) + (sq[0] + sq[2])), 1e-30)
    lead = np.where(b > 0, largest, 0)
    assert out.flags.c_contiguous and out.dtype == np.float32
    flat_out, row = out.reshape(-1), np.asarray(rows, np.int64) * 4
    for j, v in enumerate([m] + others):  # component (lead + j) % 4 holds the j-th value
        flat_out[row + ((lead + j) & 3)] = v / norm
    return out


def grid_of(x: np.ndarray, step: float) -> tuple[float, float]:
    """(step', offset) for a uniform quantizer of the values ``x`` at a nominal ``step``.

    When ``x`` already sits on a uniform grid ``offset + k g`` (a quantized source: SPZ stores
    log-scales, colours and SH on such grids) no finer than half the nominal step
    (``step < 2 g``), quantizing on that grid loses nothing: ``(g, offset)``, offset in [0, g)
    (coarser than ``step`` only where ``g`` is, and then exact). Otherwise ``(step, 0.0)``: a
    multiple of a finer grid is not exact either, and measured 1 % larger at the default
    preset on plant's 8-bit colours. A grid is recognised when at most a quarter of the values
    are distinct (at most 65,536) and every one is within 1e-3 g of it.
    """
    x = np.asarray(x, np.float64).ravel()
    v = np.unique(x)
    if len(v) < 3 or 4 * len(v) > x.size or len(v) > 1 << 16:
        return step, 0.0
    span = v[-1] - v[0]
    g = span / max(round(span / np.diff(v).min()), 1)
    k = (v - v[0]) / g
    if not g > 0 or step >= 2 * g or np.abs(k - np.round(k)).max() > 1e-3:
        return step, 0.0
    return g, float(v[0] - np.floor(v[0] / g + 1e-6) * g)


def fixed_point_step(x: np.ndarray, lo: int = 2, hi: int = 24) -> float | None:
    """The coarsest 2^-k (lo <= k <= hi) that every value of ``x`` is a multiple of (to 1e-3 of
    it), or None: positions of a fixed-point source (SPZ: 2^-12)."""
    x = np.asarray(x, np.float64).ravel()
    if x.size == 0:
        return None
    for k in range(lo, hi + 1):
        y = x * (1 << k)
        if np.abs(y - np.round(y)).max() <= 1e-3:
            return 2.0 ** -k
    return None


def uniform_offset_to_int(x: np.ndarray, step: float, offset: float) -> np.ndarray:
    """Uniform quantizer on the grid ``offset + k step``; |error| <= step / 2."""
    return np.round((np.asarray(x, np.float64) - offset) / step).astype(np.int64)


def uniform_offset_from_int(q: np.ndarray, step: float, offset: float) -> np.ndarray:
    return (q.astype(np.float64) * step + offset).astype(np.float32)
