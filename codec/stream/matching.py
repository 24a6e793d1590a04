"""Recovering Gaussian correspondence between two frames with the same count.

Writers that re-sort Gaussians every frame (PlayCanvas SOG sorts them spatially) break the
"index k is the same Gaussian" assumption of delta frames. :func:`match_order` pairs every
Gaussian of one frame with one of another by position: a few rounds of nearest-neighbour
candidates (closest pairs win conflicts), then whatever is left is paired in position order.
The result is always a permutation; whether it is *good* is decided by the caller from the
cost of the resulting delta frame (a bad match simply codes as a keyframe).
"""

from __future__ import annotations

import numpy as np

__all__ = ["match_order", "is_identity_order"]

_ROUNDS = 8


def is_identity_order(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """True when ``[N, 3]`` positions ``a`` and ``b`` agree index-wise within ``tol`` for 99%
    of the rows (same order)."""
    if a.shape != b.shape:
        return False
    if a.shape[0] == 0:
        return True
    d = np.abs(a.astype(np.float64) - b).max(axis=1)
    return float(np.quantile(d, 0.99)) <= tol


def match_order(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """A permutation ``p`` [N] int64 such that ``cur[p[j]]`` is the Gaussian matched to
    ``ref[j]`` (``ref``, ``cur``: ``[N, 3]`` positions)."""
    from scipy.spatial import cKDTree

    n = ref.shape[0]
    if cur.shape[0] != n:
        raise ValueError("match_order needs frames with the same count")
    if n == 0:
        return np.zeros(0, np.int64)
    k = min(_ROUNDS, n)
    dist, cand = cKDTree(cur.astype(np.float64)).query(ref.astype(np.float64), k=k)
    dist, cand = dist.reshape(n, k), cand.reshape(n, k)
    out = np.full(n, -1, np.int64)
    used = np.zeros(n, bool)
    for r in range(k):
        todo = np.flatnonzero(out < 0)
        if todo.size == 0:
            break
        c, d = cand[todo, r], dist[todo, r]
        ok = ~used[c]
        todo, c, d = todo[ok], c[ok], d[ok]
        order = np.lexsort((todo, d))  # closest pairs first, ties by index (deterministic)
        todo, c = todo[order], c[order]
        _, first = np.unique(c, return_index=True)
        out[todo[first]] = c[first]
        used[c[first]] = True
    left_ref = np.flatnonzero(out < 0)
    if left_ref.size:
        left_cur = np.flatnonzero(~used)
        key_r = np.lexsort(ref[left_ref].T[::-1])
        key_c = np.lexsort(cur[left_cur].T[::-1])
        out[left_ref[key_r]] = left_cur[key_c]
    return out
