"""Changed-bit masks and group patterns: round trips, degenerate cases, bad counts."""

from __future__ import annotations

import numpy as np
import pytest

from codec.errors import CodecError
from codec.stream._bytes import ByteReader, ByteWriter
from codec.stream.masks import (
    MASK_BITS,
    MASK_FLIPS,
    MASK_SAME,
    read_mask,
    read_patterns,
    write_mask,
    write_patterns,
)


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


def test_modes_and_bad_data():
    rng = np.random.default_rng(3)
    ctx = rng.random(1000) < 0.5
    w = ByteWriter()
    write_mask(w, ctx.copy(), ctx)
    assert w.getvalue() == bytes([MASK_SAME])
    w = ByteWriter()
    few = ctx.copy()
    few[[3, 500]] ^= True
    write_mask(w, few, ctx)
    assert w.getvalue()[0] == MASK_FLIPS
    w = ByteWriter()
    write_mask(w, rng.random(1000) < 0.5, ctx)  # unrelated bits: the dense coding is smaller
    dense = w.getvalue()
    assert dense[0] == MASK_BITS
    with pytest.raises(CodecError):  # counts say 1000 bits, the context has 999
        read_mask(ByteReader(dense, "test"), ctx[:999], 999)
    with pytest.raises(CodecError):
        read_mask(ByteReader(bytes([7]), "test"), ctx, 1000)
    forged = ByteWriter()
    forged.u8(MASK_FLIPS)
    forged.varint(2)
    forged.u8(0)
    from codec.stream.tables import residual_family

    forged.blob(residual_family().encode(np.array([10, 2000]), np.zeros(2, np.int64)))
    with pytest.raises(CodecError):  # the second flip lands past N
        read_mask(ByteReader(forged.getvalue(), "test"), ctx, 1000)
