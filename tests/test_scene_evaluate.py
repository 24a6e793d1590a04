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


def test_orbit_cameras_frame_the_object_not_a_sky_dome():
    """An object of radius ~0.3 and 18 % of the Gaussians on a shell at radius 200 (as in a
    phone scan's sky-dome): the cameras stay at the object's scale (a 10-90 % box of all the
    means would put them 1.26 away)."""
    rng = np.random.default_rng(1)
    obj = rng.normal(0, 0.15, (820, 3))
    shell = rng.normal(size=(180, 3))
    shell = 200 * shell / np.linalg.norm(shell, axis=1, keepdims=True)
    m = np.vstack([obj, shell])
    s = GaussianScene(m, np.full((1000, 3), -3.0), np.tile([1.0, 0, 0, 0], (1000, 1)), np.full(1000, 2.0),
                      np.zeros((1000, 3)))
    for cam in orbit_cameras(s, 4, 64):
        assert 0.3 < np.linalg.norm(cam.center - np.median(m, axis=0)) < 0.8


def test_attribute_errors_pair_gaussians_in_another_order():
    """OTHER holds ORIG's Gaussians shuffled, with small errors, and two of them share a mean:
    the errors are those of the matching Gaussians, not of whatever sits at the same index."""
    s = _scene(300)
    rng = np.random.default_rng(3)
    means = s.means.copy()
    means[1] = means[0]  # coincident means, told apart by their other attributes
    s = GaussianScene(means, s.log_scales + rng.normal(0, 0.5, (300, 3)), s.quats, s.opacity_logits, s.sh_dc)
    noisy = GaussianScene(s.means + 1e-4, s.log_scales + 0.01, s.quats, s.opacity_logits, s.sh_dc - 0.02)
    perm = rng.permutation(300)
    r = evaluate(s, noisy.subset(perm), views=1, size=16)
    assert r["matching"].startswith("nearest (300 distinct")
    e = r["attributes"]
    assert e["means"]["max"] == pytest.approx(1e-4, rel=1e-2) and e["log_scales"]["max"] == pytest.approx(0.01, rel=1e-3)
    assert e["sh_dc"]["max"] == pytest.approx(0.02, rel=1e-3) and e["quats"]["max"] == 0
    assert evaluate(s, noisy, views=1, size=16)["matching"] == "same order"
