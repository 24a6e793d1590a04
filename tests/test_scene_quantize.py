"""Quantizers and Morton order: bounds, exact inverses, ordering."""

import numpy as np

from codec.scene.morton import morton_codes, morton_order
from codec.scene.quantize import (INV_SQRT2, opacity_from_int, opacity_to_int, quats_from_components,
                                  quats_from_int, quats_to_int)


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


def test_opacity_levels():
    logits = np.linspace(-12, 12, 1001)
    q = opacity_to_int(logits, 8)
    p = 1 / (1 + np.exp(-opacity_from_int(q, 8).astype(np.float64)))
    assert np.abs(p - 1 / (1 + np.exp(-logits))).max() <= 0.5 / 255 + 1e-6


def _quats_reference(largest, ints, bits):
    """Plain inverse of quats_to_int: one Gaussian at a time (the fast path must match it exactly)."""
    out = np.zeros((len(largest), 4), np.float32)
    for i, (lead, b) in enumerate(zip(largest, bits)):
        if b == 0:
            out[i, 0] = 1.0
            continue
        o = [(float(v) / ((1 << int(b)) - 1) * 2.0 - 1.0) * INV_SQRT2 for v in ints[i]]
        q = np.zeros(4)
        q[lead] = np.sqrt(max(1.0 - (o[0] * o[0] + o[1] * o[1] + o[2] * o[2]), 0.0))
        for j in (1, 2, 3):
            q[(lead + j) % 4] = o[j - 1]
        norm = max(np.sqrt((q[0] * q[0] + q[2] * q[2]) + (q[1] * q[1] + q[3] * q[3])), 1e-30)
        out[i] = q / norm
    return out


def test_quats_fast_path_matches_reference():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(3000, 4))
    bits = rng.integers(0, 10, 3000)
    largest, ints = quats_to_int(q, bits)
    ints[bits == 0] = 0
    ref = _quats_reference(largest, ints, bits)
    np.testing.assert_array_equal(quats_from_int(largest, ints, bits), ref)
    coded = np.flatnonzero(bits)
    out = np.full((3000, 4), 7.0, np.float32)
    quats_from_components(largest[coded], *ints[coded].T, bits[coded], out=out, rows=coded)
    np.testing.assert_array_equal(out[coded], ref[coded])
    assert (out[bits == 0] == 7.0).all()  # rows not listed are left alone
