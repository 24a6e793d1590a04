"""Tiles cover the image and their cross-fade weights sum to one (no seams, no gaps)."""

from __future__ import annotations

import numpy as np
import pytest

from codec.image.tiling import blend_weights, tile_grid


@pytest.mark.parametrize("height,width,tile,overlap", [(100, 130, 32, 16), (64, 64, 64, 16), (1, 1, 32, 0), (97, 33, 32, 16), (200, 70, 64, 32)])
def test_weights_partition_unity(height, width, tile, overlap):
    total = np.zeros((height, width), np.float64)
    cores = np.zeros((height, width), np.int64)
    for t in tile_grid(height, width, tile, overlap):
        assert 0 <= t.top and t.top + t.height <= height and 0 <= t.left and t.left + t.width <= width
        w = blend_weights(t, height, width, overlap)
        assert w.shape == (t.height, t.width) and w.min() >= 0
        total[t.top:t.top + t.height, t.left:t.left + t.width] += w
        cores[t.core_top:t.core_bottom, t.core_left:t.core_right] += 1
    np.testing.assert_allclose(total, 1.0, atol=1e-6)
    assert (cores == 1).all()  # cores partition the image


def test_single_tile_when_image_fits():
    tiles = tile_grid(512, 768, 1024, 32)
    assert len(tiles) == 1 and (tiles[0].height, tiles[0].width) == (512, 768)


def test_overlap_above_half_a_tile_is_refused():
    with pytest.raises(ValueError, match="half"):
        tile_grid(100, 100, 32, 32)
