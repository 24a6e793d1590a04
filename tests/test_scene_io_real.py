"""Readers on the real scenes in ../shared/data/scenes (skipped when the data is missing)."""

from pathlib import Path

import numpy as np
import pytest

from codec.scene import read

DATA = Path(__file__).parents[1].parent / "shared" / "data" / "scenes"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"scene data not found at {DATA}")

CASES = [("playcanvas_biker/biker.compressed.ply", 152746), ("playcanvas_biker/biker.spz", 152746),
         ("playcanvas_guitar/guitar.compressed.ply", 90854), ("padilla_plant/plant.splat", 113648),
         ("playcanvas_monkey_flipbook/monkey_0001.sog", 31658)]


@needs_data
@pytest.mark.parametrize("rel,count", CASES)
def test_real_files_read(rel, count):
    s = read(DATA / rel)
    assert len(s) == count and s.sh_degree == 0
    assert np.isfinite(s.means).all()
    np.testing.assert_allclose(np.linalg.norm(s.quats, axis=1), 1, atol=1e-5)
    assert -25 < s.log_scales.min() and s.log_scales.max() < 5


@needs_data
def test_biker_spz_and_compressed_ply_agree_after_axis_flip():
    """Same scene in two formats: SPZ stores RUB axes, the reader flips y and z to PLY (RDF)."""
    a = read(DATA / "playcanvas_biker/biker.compressed.ply")
    b = read(DATA / "playcanvas_biker/biker.spz")
    # Same order in both files; SPZ positions are 12-bit fixed point, compressed PLY 11/10/11 per chunk
    assert np.abs(a.means - b.means).max() < 2e-3
    assert np.median(a.means[:, 1]) < 0 < np.median(-b.means[:, 1])  # y really was flipped
    inside = (a.log_scales > -10).all(axis=1)  # SPZ clamps log-scales to [-10, 5.94]
    assert np.abs(a.log_scales - b.log_scales)[inside].max() < 0.05  # SPZ log-scale step 1/16
    dq = np.minimum(np.abs(a.quats - b.quats).max(1), np.abs(a.quats + b.quats).max(1))
    assert np.percentile(dq, 99) < 0.01
    assert np.abs(a.opacities - b.opacities).max() < 3 / 255
    assert np.abs(a.base_rgb - b.base_rgb).max() < 0.02
