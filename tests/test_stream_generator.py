"""The moving-parts generator is reproducible and moves about the requested fraction."""

from __future__ import annotations

import numpy as np

from codec.stream.generator import moving_indices, moving_sequence, random_scene


def test_reproducible_and_fraction():
    base = random_scene(3000, seed=0)
    a = moving_sequence(base, 5, moving_fraction=0.1, seed=4)
    b = moving_sequence(base, 5, moving_fraction=0.1, seed=4)
    assert all(np.array_equal(x.means, y.means) and np.array_equal(x.quats, y.quats) for x, y in zip(a, b))
    assert np.array_equal(a[0].means, base.means)
    moved = np.abs(a[3].means - base.means).max(axis=1) > 0
    assert 0.08 < moved.mean() < 0.12
    idx = np.concatenate(moving_indices(base, 0.1, seed=4))
    assert set(np.flatnonzero(moved)) <= set(idx.tolist())
    for name in ("log_scales", "opacity_logits", "sh_dc"):
        assert np.array_equal(getattr(a[3], name), getattr(base, name))
    c = moving_sequence(base, 5, moving_fraction=0.1, seed=5)
    assert not np.array_equal(c[3].means, a[3].means)
