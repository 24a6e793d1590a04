"""Correspondence recovery: permutations always, the true one when positions identify it."""

from __future__ import annotations

import numpy as np

from codec.stream.matching import is_identity_order, match_order


def test_recovers_a_shuffle_with_small_motion():
    rng = np.random.default_rng(0)
    ref = rng.uniform(-1, 1, (5000, 3))
    perm = rng.permutation(5000)
    cur = (ref + rng.normal(0, 1e-4, ref.shape))[perm]
    p = match_order(ref, cur)
    assert np.array_equal(np.sort(p), np.arange(5000))
    assert np.mean(perm[p] == np.arange(5000)) > 0.99


def test_duplicates_and_far_points_still_give_a_permutation():
    ref = np.zeros((50, 3))
    cur = np.concatenate([np.zeros((25, 3)), np.full((25, 3), 9.0)])
    p = match_order(ref, cur)
    assert np.array_equal(np.sort(p), np.arange(50))
    assert match_order(np.zeros((0, 3)), np.zeros((0, 3))).size == 0


def test_identity_check():
    a = np.random.default_rng(1).uniform(size=(100, 3))
    assert is_identity_order(a, a + 1e-6, 1e-5)
    assert not is_identity_order(a, a[::-1], 1e-5)
