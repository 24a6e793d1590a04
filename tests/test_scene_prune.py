"""Significance pruning: what the reference views never see (or barely) goes, the rest stays."""

import numpy as np

from codec.scene.data import GaussianScene
from codec.scene.prune import PRUNE_WEIGHT, prune_mask, reference_cameras, significance


def _scene():
    """Four opaque blobs at the origin with a small Gaussian hidden inside them, a faint one
    (opacity 1/300) beside them, and four small opaque ones far out (they set the orbit radius)."""
    means = np.array([[0, 0, 0]] * 5 + [[0.5, 0, 0], [2, 0, 2], [-2, 0, 2], [2, 0, -2], [-2, 0, -2]], np.float64)
    sigma = np.array([0.1] * 4 + [0.005, 0.05] + [0.05] * 4)
    opacity = np.array([0.99] * 5 + [1 / 300] + [0.9] * 4)
    n = len(means)
    return GaussianScene(means, np.log(np.repeat(sigma[:, None], 3, 1)), np.tile([1.0, 0, 0, 0], (n, 1)),
                         np.log(opacity / (1 - opacity)), np.zeros((n, 3)))


def test_hidden_and_faint_gaussians_are_dropped():
    s = _scene()
    assert len(reference_cameras(s)) == 16
    w = significance(s)
    assert w.shape == (10,) and w.dtype == np.float32
    # the hidden one sits behind blobs of alpha > 0.95 in every view: transmittance ends the pixel
    assert w[4] == 0.0 and w[5] < PRUNE_WEIGHT
    assert w[0] > 0.9 and (w[6:] > 0.5).all()
    np.testing.assert_array_equal(prune_mask(s), [True] * 4 + [False, False] + [True] * 4)


def test_progress_wraps_the_reference_views():
    seen = []

    def progress(cams):
        for cam in cams:
            seen.append(cam)
            yield cam

    significance(_scene(), progress)
    assert len(seen) == 16
