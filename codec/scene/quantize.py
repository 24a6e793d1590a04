"""Scalar quantizers and the SH k-means codebook of the scene codec (one pair per attribute).

Each ``*_to_int`` maps float attributes to integers (encoder side) and each ``*_from_int``
maps them back (decoder side, plain numpy arithmetic, so the same integers give the same
floats on every run). The bound each quantizer guarantees is stated in its docstring;
``presets.py`` turns them into the per-preset guarantees printed by ``--help``.
"""

from __future__ import annotations

import numpy as np

from .data import logit, sigmoid

__all__ = ["positions_to_int", "positions_from_int", "uniform_to_int", "uniform_from_int",
           "opacity_to_int", "opacity_from_int", "quats_to_int", "quats_from_int", "kmeans"]

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


def opacity_from_int(q: np.ndarray, bits: int) -> np.ndarray:
    levels = (1 << bits) - 1
    # 0 and 1 are kept finite: a quarter step inside the range; one table lookup per Gaussian
    table = logit(np.arange(levels + 1, dtype=np.float64) / levels, 0.25 / levels).astype(np.float32)
    return table[q]


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
    """Inverse of :func:`quats_to_int`; ``bits`` may be an int or [N] ints (0: identity)."""
    b = np.broadcast_to(np.asarray(bits, np.int64), largest.shape)
    levels = np.maximum((1 << b) - 1, 1).astype(np.float64)[:, None]
    others = (ints.astype(np.float64) / levels * 2.0 - 1.0) * INV_SQRT2
    others = np.where(b[:, None] > 0, others, 0.0)
    largest = np.where(b > 0, largest, 0)  # nothing stored: the identity (w = 1)
    m = np.sqrt(np.clip(1.0 - (others ** 2).sum(axis=1), 0.0, None))
    q = np.zeros((len(largest), 4))
    rows = np.arange(len(largest))
    q[rows, largest] = m
    for j in (1, 2, 3):
        q[rows, (largest + j) % 4] = others[:, j - 1]
    q /= np.maximum(np.sqrt(np.einsum("ij,ij->i", q, q)), 1e-30)[:, None]
    return q.astype(np.float32)


def kmeans(x: np.ndarray, k: int, iters: int = 10, seed: int = 0, weights: np.ndarray | None = None,
           chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Weighted k-means (k-means++-lite init by random distinct rows, Lloyd steps).

    Returns (codebook [k', D] float32 with k' <= k, labels [N] int64). Deterministic for a
    given seed; encoder-side only (the decoder just indexes the stored codebook).
    """
    x = np.asarray(x, np.float32)
    n = len(x)
    if n == 0:
        return np.zeros((0, x.shape[1]), np.float32), np.zeros(0, np.int64)
    uniq = np.unique(x, axis=0)
    if len(uniq) <= k:
        labels = np.zeros(n, np.int64)
        for s in range(0, n, chunk):
            d = ((x[s:s + chunk, None, :] - uniq[None]) ** 2).sum(-1)
            labels[s:s + chunk] = d.argmin(1)
        return uniq.astype(np.float32), labels
    w = np.ones(n, np.float64) if weights is None else np.asarray(weights, np.float64)
    rng = np.random.default_rng(seed)
    cb = x[rng.choice(n, size=k, replace=False)].copy()
    labels = np.zeros(n, np.int64)
    for _ in range(iters):
        cn = (cb ** 2).sum(1)
        for s in range(0, n, chunk):
            xs = x[s:s + chunk]
            labels[s:s + chunk] = (cn[None] - 2.0 * xs @ cb.T).argmin(1)
        sums = np.zeros(cb.shape, np.float64)
        np.add.at(sums, labels, x * w[:, None])
        wsum = np.bincount(labels, weights=w, minlength=k)
        empty = wsum <= 0
        cb = np.where(empty[:, None], cb, sums / np.maximum(wsum, 1e-30)[:, None]).astype(np.float32)
        if empty.any():  # re-seed dead codewords on random points
            cb[empty] = x[rng.choice(n, size=int(empty.sum()), replace=False)]
    cn = (cb ** 2).sum(1)
    for s in range(0, n, chunk):
        labels[s:s + chunk] = (cn[None] - 2.0 * x[s:s + chunk] @ cb.T).argmin(1)
    return cb, labels
