"""Overlapping tiles for bounded-memory coding of large images, blended without seams.

The image is partitioned into cores of ``tile x tile`` pixels; each tile codes its core plus
``overlap`` pixels on every side that has a neighbour. At decode, neighbouring tiles are
cross-faded with linear ramps across the ``2 * overlap`` band centred on their shared core
border; the ramps of two neighbours sum to one, so flat content stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Tile", "tile_grid", "blend_weights"]


@dataclass(frozen=True)
class Tile:
    """Pixel region ``[top, top+height) x [left, left+width)`` and the core bounds it blends on."""

    top: int
    left: int
    height: int
    width: int
    core_top: int
    core_left: int
    core_bottom: int
    core_right: int


def _spans(size: int, tile: int) -> list[tuple[int, int]]:
    return [(start, min(start + tile, size)) for start in range(0, size, tile)]


def tile_grid(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """Tiles covering an ``height x width`` image, row-major. ``2 * overlap <= tile`` keeps every
    pixel inside at most two cross-fades per axis, so the ramps sum to one."""
    if 2 * overlap > tile:
        raise ValueError(f"overlap {overlap} is more than half the tile size {tile}")
    tiles = []
    rows, cols = _spans(height, tile), _spans(width, tile)
    for r0, r1 in rows:
        for c0, c1 in cols:
            top, bottom = max(0, r0 - overlap), min(height, r1 + overlap)
            left, right = max(0, c0 - overlap), min(width, c1 + overlap)
            tiles.append(Tile(top, left, bottom - top, right - left, r0, c0, r1, c1))
    return tiles


def _ramp(start: int, length: int, core0: int, core1: int, size: int, overlap: int) -> np.ndarray:
    x = np.arange(start, start + length, dtype=np.float32) + 0.5
    w = np.ones(length, dtype=np.float32)
    if overlap and core0 > 0:
        w = np.minimum(w, np.clip((x - (core0 - overlap)) / (2 * overlap), 0, 1))
    if overlap and core1 < size:
        w = np.minimum(w, np.clip(((core1 + overlap) - x) / (2 * overlap), 0, 1))
    return w


def blend_weights(t: Tile, height: int, width: int, overlap: int) -> np.ndarray:
    """``[t.height, t.width]`` float32 weights of a tile's pixels in the blended image."""
    wy = _ramp(t.top, t.height, t.core_top, t.core_bottom, height, overlap)
    wx = _ramp(t.left, t.width, t.core_left, t.core_right, width, overlap)
    return wy[:, None] * wx[None, :]
