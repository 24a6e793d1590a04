"""Morton (Z-order) codes of integer 3D grid coordinates."""

from __future__ import annotations

import numpy as np

__all__ = ["morton_codes", "morton_order", "MAX_AXIS_BITS"]

MAX_AXIS_BITS = 21  # 3 * 21 = 63 bits fit an unsigned 64-bit code


def _spread(v: np.ndarray) -> np.ndarray:
    """Insert two zero bits between each of the low 21 bits of ``v`` (uint64)."""
    v = v.astype(np.uint64) & np.uint64(0x1FFFFF)
    v = (v | (v << np.uint64(32))) & np.uint64(0x1F00000000FFFF)
    v = (v | (v << np.uint64(16))) & np.uint64(0x1F0000FF0000FF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x100F00F00F00F00F)
    v = (v | (v << np.uint64(4))) & np.uint64(0x10C30C30C30C30C3)
    v = (v | (v << np.uint64(2))) & np.uint64(0x1249249249249249)
    return v


def morton_codes(q: np.ndarray) -> np.ndarray:
    """[N, 3] non-negative ints < 2**21 -> [N] uint64 codes (x in the lowest bit)."""
    q = np.asarray(q)
    return _spread(q[:, 0]) | (_spread(q[:, 1]) << np.uint64(1)) | (_spread(q[:, 2]) << np.uint64(2))


def morton_order(q: np.ndarray) -> np.ndarray:
    """[N] int64 permutation sorting ``q`` by Morton code, ties by original index (stable)."""
    return np.argsort(morton_codes(q), kind="stable")
