"""The residual entropy model is pinned: a changed table would make old streams undecodable."""

from __future__ import annotations

import numpy as np

from codec.stream.tables import RESIDUAL_SUPPORT, residual_family, residual_family_sha256

PINNED_SHA256 = "9cfc540bd568c3238efd81b49ff8fb17020ef7e562c0caa76e367c603a734f7a"


def test_family_tables_are_pinned():
    assert residual_family_sha256() == PINNED_SHA256


def test_family_round_trip_with_escapes():
    fam = residual_family()
    values = np.array([0, 1, -1, 5, RESIDUAL_SUPPORT, -RESIDUAL_SUPPORT - 1, 10**9, -(10**9)], np.int64)
    ids = np.arange(values.size) % fam.num_scales
    assert np.array_equal(fam.decode(fam.encode(values, ids), ids), values)
