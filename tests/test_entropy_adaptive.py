"""Tests for entropy.adaptive.AdaptiveCategorical."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entropy import AdaptiveCategorical, EntropyError


@settings(max_examples=30, deadline=None)
@given(
    k=st.sampled_from([1, 2, 5, 256, 4096]),
    n=st.integers(0, 2000),
    interval=st.sampled_from([1, 7, 256]),
    increment=st.integers(1, 64),
    seed=st.integers(0, 10**6),
)
def test_round_trip(k: int, n: int, interval: int, increment: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sym = rng.integers(0, k, n) if seed % 2 else np.minimum(rng.geometric(0.3, n) - 1, k - 1)
    coder = AdaptiveCategorical(
        k, increment=increment, limit=max(2 * k, 1 << 12), update_interval=interval
    )
    data = coder.encode(sym)
    out = coder.decode(data, n)
    assert out.dtype == np.int32 and out.shape == (n,)
    np.testing.assert_array_equal(out, sym)
    assert abs(len(data) * 8 - coder.cross_entropy_bits(sym)) <= 96


def test_adapts_and_overhead() -> None:
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.full(256, 0.1))
    sym = rng.choice(256, size=200_000, p=p)
    coder = AdaptiveCategorical(256)
    data = coder.encode(sym)
    entropy_bits = -(p * np.log2(p)).sum() * sym.size
    assert len(data) * 8 < 1.02 * entropy_bits  # learns the skewed source
    assert len(data) * 8 <= coder.cross_entropy_bits(sym) * 1.001 + 256
    np.testing.assert_array_equal(coder.decode(data, sym.size), sym)


def test_settings_are_part_of_the_format() -> None:
    sym = np.random.default_rng(2).integers(0, 8, 3000)
    data = AdaptiveCategorical(8, increment=32).encode(sym)
    try:
        out = AdaptiveCategorical(8, increment=16).decode(data, sym.size)
    except EntropyError:
        return
    assert not np.array_equal(out, sym)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(num_symbols=0),
        dict(num_symbols=4, increment=0),
        dict(num_symbols=4, limit=7),
        dict(num_symbols=4, update_interval=0),
        dict(num_symbols=2.5),
    ],
)
def test_bad_settings(kwargs: dict) -> None:
    with pytest.raises(EntropyError):
        AdaptiveCategorical(**kwargs)


def test_bad_calls() -> None:
    coder = AdaptiveCategorical(4)
    with pytest.raises(EntropyError):
        coder.encode(np.array([4]))
    with pytest.raises(EntropyError):
        coder.decode(b"", -1)
    with pytest.raises(EntropyError):
        coder.decode(b"\x01\x00\x00", 1)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([1, 64]))
def test_garbage_gives_only_entropy_error(data: bytes, interval: int) -> None:
    coder = AdaptiveCategorical(300, update_interval=interval)
    try:
        out = coder.decode(data, 400)
    except EntropyError:
        return
    assert out.shape == (400,) and out.max(initial=0) < 300


def test_truncation_caught() -> None:
    coder = AdaptiveCategorical(50)
    sym = np.random.default_rng(3).integers(0, 50, 2000)
    data = coder.encode(sym)
    caught = 0
    for cut in range(0, len(data), 4):
        try:
            coder.decode(data[:cut], sym.size)
        except EntropyError:
            caught += 1
    assert caught >= 0.99 * (len(data) // 4)
