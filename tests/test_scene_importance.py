"""Importance classes of scene format 3 (codec/scene/importance.py)."""

import numpy as np
import pytest

from codec.errors import CorruptDataError
from codec.scene.importance import MAX_CLASS, area_index, importance_class, importance_tables


def _columns(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, n), rng.integers(-200, -40, (n, 3))


def test_area_index_is_the_two_largest():
    s = np.array([[3, -1, 7], [0, 0, 0], [-5, 2, 1]])
    assert area_index(s[:, 0], s[:, 1], s[:, 2]).tolist() == [10, 0, 3]


@pytest.mark.parametrize("keep", [0.1, 0.25, 0.6])
def test_heaviest_share_keeps_class_0_and_classes_follow_the_weight(keep):
    qo, qs = _columns()
    step = 1 / 24
    wo, wa, lo = importance_tables(qo, qs, 8, step, 0.0, keep)
    c = importance_class(qo, area_index(qs[:, 0], qs[:, 1], qs[:, 2]), wo, wa, lo)
    assert c.min() == 0 and c.max() <= MAX_CLASS
    alpha = np.maximum(qo / 255, 0.25 / 255)
    log2_w = np.log2(alpha) + area_index(qs[:, 0], qs[:, 1], qs[:, 2]) * step / np.log(2)
    heavy = log2_w >= np.quantile(log2_w, 1 - keep)
    assert (c[heavy] == 0).mean() > 0.9  # class 0 up to the tables' floor rounding
    assert (c[heavy] <= 1).all() and c[~heavy].mean() > c[heavy].mean()
    # two Gaussians whose weights differ by 4x or more are at least a class apart (or both capped)
    order = np.argsort(log2_w)
    light, heavy1 = order[0], order[-1]
    assert c[light] == min(MAX_CLASS, c[light]) and c[light] >= c[heavy1]


def test_tables_that_do_not_cover_the_data_are_refused():
    qo, qs = _columns(100)
    wo, wa, lo = importance_tables(qo, qs, 8, 1 / 24, 0.0, 0.5)
    ai = area_index(qs[:, 0], qs[:, 1], qs[:, 2])
    with pytest.raises(CorruptDataError):
        importance_class(qo, ai, wo, wa, lo + 1)
    with pytest.raises(CorruptDataError):
        importance_class(qo, ai, wo[:100], wa, lo)


def test_empty():
    wo, wa, lo = importance_tables(np.zeros(0, np.int64), np.zeros((0, 3), np.int64), 8, 1 / 24, 0.0, 0.5)
    assert len(wo) == 256 and len(wa) >= 1
    assert importance_class(np.zeros(0, np.int64), np.zeros(0, np.int64), wo, wa, lo).size == 0


def test_reference_weight_from_a_subset():
    """``among`` ranks the weights of a subset only (the encoder passes the scene's bulk): huge
    Gaussians outside it no longer push the rest of the scene into the light classes."""
    qo, qs = _columns()
    far = np.zeros(len(qo), bool)
    far[::3] = True
    qs = qs.copy()
    qs[far] += 120  # a third of the Gaussians 150x larger in each axis (a sky-dome)
    ai = area_index(qs[:, 0], qs[:, 1], qs[:, 2])
    c_all = importance_class(qo, ai, *importance_tables(qo, qs, 8, 1 / 24, 0.0, 0.25))
    c_bulk = importance_class(qo, ai, *importance_tables(qo, qs, 8, 1 / 24, 0.0, 0.25, ~far))
    assert (c_all[~far] == 0).mean() < 0.05 and (c_bulk[~far] == 0).mean() > 0.2
