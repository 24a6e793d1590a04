"""Evaluation helpers: orbit cameras look at the scene, PSNR/SSIM sanity, attribute errors."""

import numpy as np
import pytest
import torch

from codec.errors import InvalidInputError
from codec.scene.data import GaussianScene
from codec.scene.evaluate import attribute_errors, evaluate, orbit_cameras, parse_camera, psnr, ssim

torch.set_num_threads(1)


def _scene(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return GaussianScene(rng.normal(0, 0.3, (n, 3)) + [5, -2, 1], np.full((n, 3), -3.0), np.tile([1.0, 0, 0, 0], (n, 1)),
                         np.full(n, 2.0), rng.normal(0, 1, (n, 3)))


def test_orbit_cameras_see_the_centre():
    s = _scene()
    for cam in orbit_cameras(s, 6, 64):
        p = cam.rotation @ np.median(s.means, axis=0) + cam.translation
        assert p[2] > 0
        np.testing.assert_allclose([cam.fx * p[0] / p[2] + cam.cx, cam.fy * p[1] / p[2] + cam.cy], [32, 32], atol=1e-6)
        up_img = cam.rotation @ np.array([0.0, -1.0, 0.0])
        assert up_img[1] < 0  # world up (-y in PLY axes) is image up


def test_psnr_ssim_and_camera_spec():
    a = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    assert psnr(a, a) == float("inf") and ssim(a, a) == pytest.approx(1.0)
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 * 3072), rel=1e-9)
    s = _scene()
    assert parse_camera("orbit:3/4", s, 32).width == 32
    with pytest.raises(InvalidInputError):
        parse_camera("orbit:9", s, 32)


def test_evaluate_identical_and_attribute_errors():
    s = _scene()
    r = evaluate(s, s, views=2, size=32)
    assert r["psnr"] == float("inf") and r["attributes"]["means"]["max"] == 0
    moved = GaussianScene(s.means + 0.01, s.log_scales, -s.quats, s.opacity_logits, s.sh_dc)
    e = attribute_errors(s, moved)
    assert e["means"]["max"] == pytest.approx(0.01, abs=1e-6) and e["quats"]["max"] == 0  # q and -q agree
