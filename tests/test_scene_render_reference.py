"""The tiled, batched rasterizer against a per-pixel brute-force compositor.

With opacities under exp(4.5) / 255 (about 0.35) every pixel a Gaussian reaches with
alpha >= 1/255 lies inside its 3-sigma footprint, so the tile culling must change nothing:
each pixel equals front-to-back compositing of all Gaussians in depth order with the same
alpha rule (skip under 1/255, cap 0.99, stop before transmittance falls under 1e-4).
"""

import numpy as np
import torch

from codec.scene.data import SH_C0, GaussianScene
from codec.scene.render import ALPHA_MAX, ALPHA_MIN, T_MIN, Camera, contributions, project, render, sh_colors

torch.set_num_threads(1)


def _random_scene(n, seed, max_opacity):
    rng = np.random.default_rng(seed)
    means = np.column_stack([rng.uniform(-0.6, 0.6, n), rng.uniform(-0.5, 0.5, n), rng.uniform(1.0, 3.0, n)])
    log_scales = rng.uniform(np.log(0.003), np.log(0.12), (n, 3))
    quats = rng.normal(size=(n, 4))
    opac = rng.uniform(0.005, max_opacity, n)
    return GaussianScene(means, log_scales, quats, np.log(opac / (1 - opac)), rng.normal(0, 1, (n, 3)) / SH_C0 * 0.3)


def _brute_force(scene, cam):
    """([H, W, 3] float64 image, [N] largest weight alpha * T of each Gaussian): every pixel
    composites every projected Gaussian (no tiles)."""
    proj = project(scene, cam)
    col = sh_colors(scene, proj.index, cam.center).double().numpy()
    opac = 1 / (1 + np.exp(-scene.opacity_logits[proj.index.numpy()].astype(np.float64)))
    order = np.argsort(proj.depth.numpy(), kind="stable")
    xy, conic = proj.xy.double().numpy()[order], proj.conic.double().numpy()[order]
    col, opac = col[order], opac[order]
    img, best = np.zeros((cam.height, cam.width, 3)), np.zeros(len(order))
    for py in range(cam.height):
        for px in range(cam.width):
            d = np.array([px + 0.5, py + 0.5]) - xy
            power = -0.5 * (conic[:, 0] * d[:, 0] ** 2 + conic[:, 2] * d[:, 1] ** 2) - conic[:, 1] * d[:, 0] * d[:, 1]
            alpha = np.minimum(opac * np.exp(np.minimum(power, 0)), ALPHA_MAX)
            t = 1.0
            for j in np.nonzero((power <= 0) & (alpha >= ALPHA_MIN))[0]:
                if t * (1 - alpha[j]) < T_MIN:
                    break
                img[py, px] += t * alpha[j] * col[j]
                best[j] = max(best[j], t * alpha[j])
                t *= 1 - alpha[j]
    weights = np.zeros(len(scene))
    weights[proj.index.numpy()[order]] = best
    return img, weights


def test_batched_tiles_equal_brute_force_compositing():
    # 21 x 13 pixels: edge tiles are partial in both directions; 300 Gaussians overlap heavily
    cam = Camera(np.eye(3), np.zeros(3), 24.0, 24.0, 10.5, 6.5, 21, 13)
    s = _random_scene(300, 0, 0.34)
    np.testing.assert_allclose(render(s, cam).numpy(), _brute_force(s, cam)[0], atol=2e-5)


def test_opaque_crowd_stops_like_brute_force():
    """Opacities up to 0.34 over 3000 Gaussians: many pixels reach the transmittance stop,
    across several depth chunks of the batched compositor."""
    cam = Camera(np.eye(3), np.zeros(3), 20.0, 20.0, 8.0, 8.0, 16, 16)
    s = _random_scene(3000, 1, 0.34)
    np.testing.assert_allclose(render(s, cam).numpy(), _brute_force(s, cam)[0], atol=5e-5)


def test_contributions_equal_brute_force_weights():
    cam = Camera(np.eye(3), np.zeros(3), 24.0, 24.0, 10.5, 6.5, 21, 13)
    s = _random_scene(400, 2, 0.34)
    expect = _brute_force(s, cam)[1]
    assert (expect > 0).sum() > 100 and (expect == 0).sum() > 10  # some hidden or off-screen
    np.testing.assert_allclose(contributions(s, [cam]), expect, atol=2e-6)
