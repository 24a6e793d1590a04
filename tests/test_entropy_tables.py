"""Tests for entropy.tables: quantization, validation, serialization, exact hand-off."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import entropy
from entropy import EntropyError, FrequencyTables, counts_to_freqs, quantize_pmf

FAST = settings(max_examples=40, deadline=None)


def _check_table(f: np.ndarray, precision: int) -> None:
    assert f.dtype == np.int64
    assert f.min() >= 1
    assert np.all(f.sum(axis=-1) == 1 << precision)


@FAST
@given(
    probs=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40),
        elements=st.floats(0, 1e6, allow_nan=False),
    ),
    precision=st.integers(6, 24),
)
def test_quantize_pmf_invariants(probs: np.ndarray, precision: int) -> None:
    probs = probs.copy()
    probs[..., 0] += 1.0  # positive row sums
    before = probs.copy()
    f = quantize_pmf(probs, precision)
    assert f.shape == probs.shape
    _check_table(f, precision)
    np.testing.assert_array_equal(probs, before)  # input not mutated
    np.testing.assert_array_equal(f, quantize_pmf(probs, precision))  # deterministic


def test_quantize_pmf_is_close_and_monotone() -> None:
    p = np.random.default_rng(0).dirichlet(np.full(512, 0.2), size=8)
    f = quantize_pmf(p)
    assert np.abs(f / 2**24 - p).max() < 512 / 2**24
    big = p > 1e-3
    assert np.all(f[big] >= np.floor(p[big] * (2**24 - 512)))


@FAST
@given(
    counts=hnp.arrays(
        np.int64, st.tuples(st.integers(1, 5), st.integers(1, 300)), elements=st.integers(0, 2**62)
    ),
)
def test_counts_to_freqs_invariants(counts: np.ndarray) -> None:
    f = counts_to_freqs(counts)
    _check_table(f, 24)
    np.testing.assert_array_equal(f, counts_to_freqs(counts.copy()))


def test_counts_to_freqs_exact_cases() -> None:
    np.testing.assert_array_equal(counts_to_freqs(np.array([0, 0]), 4), [8, 8])  # zero -> uniform
    np.testing.assert_array_equal(counts_to_freqs(np.array([1, 1, 2]), 4), [4, 4, 8])
    np.testing.assert_array_equal(counts_to_freqs(np.array([7]), 24), [2**24])
    f = counts_to_freqs(np.array([[2**64 - 1, 1, 0]], dtype=np.uint64))
    _check_table(f, 24)


@pytest.mark.parametrize(
    "freqs, match",
    [
        (np.array([[1, 2**24 - 2]]), "sums"),
        (np.array([[0, 2**24]]), ">= 1"),
        (np.array([[0.5, 0.5]]), "integer"),
        (np.zeros((0, 4), np.int64), "T"),
        (np.zeros((2, 0), np.int64), "at least one"),
        (np.ones((1, 1, 1), np.int64), "integer array"),
    ],
)
def test_frequency_tables_reject_bad(freqs: np.ndarray, match: str) -> None:
    with pytest.raises(EntropyError, match=match):
        FrequencyTables(freqs)


@pytest.mark.parametrize(
    "bad", [np.array([[np.nan, 1.0]]), np.array([[-1.0, 2.0]]), np.zeros((1, 3))]
)
def test_quantize_pmf_rejects_bad(bad: np.ndarray) -> None:
    with pytest.raises(EntropyError):
        quantize_pmf(bad)
    with pytest.raises(EntropyError):
        quantize_pmf(np.ones(3), precision=25)


def test_bytes_round_trip_and_corruption() -> None:
    t = FrequencyTables(quantize_pmf(np.random.default_rng(1).random((3, 17)), 16), precision=16)
    data = t.to_bytes()
    back = FrequencyTables.from_bytes(data)
    assert back == t and back.precision == 16 and back.freqs.shape == (3, 17)
    for bad in (data[:-1], data + b"\0", b"XXXX" + data[4:], data[:20], b"", 5):
        with pytest.raises(EntropyError):
            FrequencyTables.from_bytes(bad)  # type: ignore[arg-type]
    flipped = bytearray(data)
    flipped[30] ^= 1
    with pytest.raises(EntropyError):
        FrequencyTables.from_bytes(bytes(flipped))


def test_from_bytes_bounds_huge_header() -> None:
    import struct

    head = struct.pack("<4sBBHII", b"EFT1", 1, 24, 0, 2**31, 2**20)
    with pytest.raises(EntropyError, match="limits"):
        FrequencyTables.from_bytes(head + b"\0" * 8)


@pytest.mark.parametrize("k", [2, 3, 256, 8192])
def test_constriction_uses_exactly_our_tables(k: int) -> None:
    """Coded size == cross-entropy under our integers, even for symbols of frequency 1..3.

    Symbols are drawn uniformly (not from the table), which makes the rare symbols common:
    an off-by-one in any small frequency would cost whole bits per symbol.
    """
    rng = np.random.default_rng(k)
    p = rng.dirichlet(np.full(k, 0.05))
    f = quantize_pmf(p)
    f[0] += f[1] - 1  # force a frequency-1 and a frequency-3 symbol
    f[1] = 1
    if k > 2:
        f[0] += f[2] - 3
        f[2] = 3
    t = FrequencyTables(f)
    sym = rng.integers(0, k, 20_000)
    data = entropy.encode_symbols(sym, t)
    ce = t.cross_entropy_bits(sym)
    assert abs(len(data) * 8 - ce) <= 64, (len(data) * 8, ce)


def test_low_precision_tables_scale_exactly() -> None:
    f16 = np.array([1, 3, 2**16 - 4])
    t = FrequencyTables(f16, precision=16)
    sym = np.tile([0, 1, 2], 5000)
    data = entropy.encode_symbols(sym, t)
    assert abs(len(data) * 8 - t.cross_entropy_bits(sym)) <= 64
    np.testing.assert_array_equal(entropy.decode_symbols(data, t, sym.size), sym)


_VALID = FrequencyTables(quantize_pmf(np.arange(1.0, 7.0), 12), precision=12).to_bytes()


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120), st.integers(0, len(_VALID) - 1), st.integers(1, 255))
def test_from_bytes_garbage_gives_only_entropy_error(data: bytes, pos: int, flip: int) -> None:
    damaged = bytearray(_VALID)
    damaged[pos] ^= flip
    for candidate in (data, _VALID[:pos], bytes(damaged), _VALID[:16] + data):
        try:
            t = FrequencyTables.from_bytes(candidate)
        except EntropyError:
            continue
        assert t == FrequencyTables.from_bytes(_VALID)  # only the intact bytes parse
