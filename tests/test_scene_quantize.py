"""Quantizers and Morton order: bounds, exact inverses, ordering."""

import numpy as np

from codec.scene.morton import morton_codes, morton_order
from codec.scene.quantize import kmeans, opacity_from_int, opacity_to_int, quats_from_int, quats_to_int


def test_morton_interleaves_x_lowest():
    q = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [2, 0, 0]])
    np.testing.assert_array_equal(morton_codes(q), [1, 2, 4, 7, 8])
    np.testing.assert_array_equal(morton_order(np.array([[1, 1, 1], [0, 0, 0], [0, 0, 0]])), [1, 2, 0])


def test_quats_smallest_three_bounds_and_variable_bits():
    q = np.random.default_rng(0).normal(size=(2000, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    for bits in (5, 8, 10):
        largest, ints = quats_to_int(q, bits)
        back = quats_from_int(largest, ints, bits).astype(np.float64)
        d = np.minimum(np.abs(back - q).max(1), np.abs(back + q).max(1))
        assert d.max() <= 3 / (np.sqrt(2) * ((1 << bits) - 1))
    bits = np.array([0, 4, 9] * 10)
    largest, ints = quats_to_int(q[:30], bits)
    back = quats_from_int(largest, ints, bits)
    np.testing.assert_allclose(back[bits == 0], np.tile([1, 0, 0, 0], ((bits == 0).sum(), 1)))


def test_opacity_levels_and_kmeans():
    logits = np.linspace(-12, 12, 1001)
    q = opacity_to_int(logits, 8)
    p = 1 / (1 + np.exp(-opacity_from_int(q, 8).astype(np.float64)))
    assert np.abs(p - 1 / (1 + np.exp(-logits))).max() <= 0.5 / 255 + 1e-6
    x = np.concatenate([np.zeros((50, 2)), np.ones((50, 2)) * 5]).astype(np.float32)
    cb, lab = kmeans(x, 2, seed=1)
    np.testing.assert_allclose(np.sort(cb[:, 0]), [0, 5])
    assert len(set(lab[:50])) == 1 and lab[0] != lab[-1]
