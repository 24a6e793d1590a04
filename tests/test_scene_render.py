"""CPU renderer against analytic cases: one Gaussian's footprint, depth order, opacity, SH."""

import math

import numpy as np
import pytest
import torch

from codec.scene.data import SH_C0, GaussianScene
from codec.scene.render import Camera, contributions, project, render

torch.set_num_threads(1)


def _cam(size=64, f=64.0):
    return Camera(np.eye(3), np.zeros(3), f, f, size / 2, size / 2, size, size)


def _scene(means, sigma, rgb, opacity, quats=None):
    n = len(means)
    rgb = np.asarray(rgb, np.float64).reshape(n, 3)
    ls = np.log(np.broadcast_to(np.asarray(sigma, np.float64), (n, 3)))
    q = np.tile([1.0, 0, 0, 0], (n, 1)) if quats is None else quats
    op = np.log(np.asarray(opacity) / (1 - np.asarray(opacity)))
    return GaussianScene(means, ls, q, np.broadcast_to(op, (n,)), (rgb - 0.5) / SH_C0)


def test_single_gaussian_footprint_matches_ewa():
    """A Gaussian at depth 2 with sigma 0.05, f = 64: screen sigma^2 = (64*0.05/2)^2 + 0.3."""
    s = _scene(np.array([[0.0, 0.0, 2.0]]), 0.05, [1, 1, 1], 0.5)
    img = render(s, _cam())[..., 0].numpy()
    var = (64 * 0.05 / 2) ** 2 + 0.3
    ys, xs = np.mgrid[0:64, 0:64] + 0.5
    r2 = (xs - 32) ** 2 + (ys - 32) ** 2
    expect = 0.5 * np.exp(-0.5 * r2 / var)
    expect = np.where(expect >= 1 / 255, expect, 0)
    np.testing.assert_allclose(img, expect, atol=1e-5)


def test_anisotropic_rotation_swaps_axes():
    q = np.array([[math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)]])  # 90 degrees about z
    s = GaussianScene(np.array([[0.0, 0, 2]]), np.log([[0.2, 0.02, 0.02]]), q, [3.0], np.zeros((1, 3)))
    img = render(s, _cam())[..., 0].numpy()
    assert img[:, 32].sum() > 3 * img[32, :].sum()  # long axis now vertical


def test_front_to_back_order_and_opacity():
    near_red = _scene(np.array([[0, 0, 1.0], [0, 0, 3.0]]), 0.5, [[1, 0, 0], [0, 0, 1]], 0.6)
    px = render(near_red, _cam(16))[8, 8].numpy()
    # exact alpha 0.6 (centre sits between pixels: tiny falloff), then 0.6 of what is left
    a1 = 0.6 * math.exp(-0.5 * 0.5 / ((64 * 0.5) ** 2 + 0.3))
    np.testing.assert_allclose(px[0], a1, rtol=1e-3)
    a2 = 0.6 * math.exp(-0.5 * 0.5 / ((64 * 0.5 / 3) ** 2 + 0.3))
    assert px[2] == pytest.approx((1 - a1) * a2, rel=1e-4)
    swapped = _scene(np.array([[0, 0, 3.0], [0, 0, 1.0]]), 0.5, [[0, 0, 1], [1, 0, 0]], 0.6)
    np.testing.assert_allclose(render(swapped, _cam(16)).numpy(), render(near_red, _cam(16)).numpy(), atol=1e-6)


def test_opaque_stack_stops_and_behind_camera_culled():
    means = np.array([[0, 0, 1.0]] * 40 + [[0, 0, -1.0]])
    s = _scene(means, 1.0, np.tile([0.2, 0.4, 0.6], (41, 1)), 0.99)
    px = render(s, _cam(16))[8, 8].numpy()
    np.testing.assert_allclose(px, [0.2, 0.4, 0.6], atol=1e-3)
    assert project(s, _cam(16)).index.numel() == 40


def test_sh_degree1_view_dependence():
    rest = np.zeros((1, 3, 3))
    rest[0, 1] = 1.0  # coefficient of +z: C1 * z
    s = GaussianScene(np.array([[0.0, 0, 2]]), np.log([[0.3] * 3]), [[1.0, 0, 0, 0]], [5.0], np.zeros((1, 3)), rest)
    px = render(s, _cam(16))[8, 8].numpy()
    np.testing.assert_allclose(px, 0.99 * (0.5 + 0.4886025119029199), atol=2e-3)  # alpha capped at 0.99


def test_contributions_are_the_largest_compositing_weights():
    """Front Gaussian: its own (capped) alpha at the centre pixel; one behind it: its alpha times
    what the front one leaves; one hidden behind an opaque stack or off screen: 0."""
    means = np.array([[0, 0, 1.0], [0, 0, 3.0], [50.0, 0, 1.0]])
    s = _scene(means, 0.5, np.ones((3, 3)), 0.6)
    w = contributions(s, [_cam(16)])
    a1 = 0.6 * math.exp(-0.5 * 0.5 / ((64 * 0.5) ** 2 + 0.3))  # centre sits between pixels
    a2 = 0.6 * math.exp(-0.5 * 0.5 / ((64 * 0.5 / 3) ** 2 + 0.3))
    assert w[0] == pytest.approx(a1, rel=1e-4) and w[1] == pytest.approx((1 - a1) * a2, rel=1e-4)
    assert w[2] == 0.0
    hidden = _scene(np.array([[0, 0, 1.0]] * 30 + [[0, 0, 5.0]]), 1.0, np.ones((31, 3)), 0.99)
    assert contributions(hidden, [_cam(16)])[-1] == 0.0  # pixels stopped before reaching it
    # over several views the largest weight wins: the hidden one is in front when seen from behind
    back = Camera(np.diag([-1.0, 1.0, -1.0]), np.array([0.0, 0.0, 6.0]), 64.0, 64.0, 8, 8, 16, 16)
    assert contributions(hidden, [_cam(16), back])[-1] > 0.9
