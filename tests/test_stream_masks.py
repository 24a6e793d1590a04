"""Changed-bit masks and group patterns: round trips, degenerate cases, bad counts."""

from __future__ import annotations

import numpy as np
import pytest

from codec.errors import CodecError
from codec.stream._bytes import ByteReader, ByteWriter
from codec.stream.masks import read_mask, read_patterns, write_mask, write_patterns
from entropy import EntropyError


def _round_trip(changed, ctx, patterns):
    w = ByteWriter()
    write_mask(w, changed, ctx)
    write_patterns(w, patterns)
    data = w.getvalue()
    r = ByteReader(data, "test")
    got = read_mask(r, ctx, changed.size)
    pats = read_patterns(r, int(got.sum()), changed.size)
    r.expect_end()
    assert np.array_equal(got, changed) and np.array_equal(pats, patterns)
    return data


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 1.0])
def test_round_trips(fraction):
    rng = np.random.default_rng(1)
    ctx = rng.random(3000) < 0.1
    changed = rng.random(3000) < fraction
    patterns = rng.choice([1, 5, 7, 63], size=int(changed.sum()))
    _round_trip(changed, ctx, patterns)


def test_stable_masks_are_cheap():
    rng = np.random.default_rng(2)
    ctx = rng.random(100_000) < 0.1
    data = _round_trip(ctx.copy(), ctx, np.full(int(ctx.sum()), 5))
    assert len(data) < 64
    nothing = _round_trip(np.zeros(100_000, bool), ctx, np.zeros(0, np.int64))
    assert len(nothing) < 24


def test_inconsistent_counts_are_rejected():
    ctx = np.zeros(100, bool)
    w = ByteWriter()
    write_mask(w, np.ones(100, bool), ctx)
    with pytest.raises((CodecError, EntropyError)):
        read_mask(ByteReader(w.getvalue(), "test"), np.ones(100, bool), 100)
    with pytest.raises(CodecError):
        read_mask(ByteReader(w.getvalue(), "test"), np.zeros(99, bool), 99)
