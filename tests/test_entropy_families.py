"""Tests for entropy.families (ScaleFamily) and the escape path in entropy.escape."""

from __future__ import annotations

import constriction
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entropy import EntropyError, ScaleFamily
from entropy.escape import magnitude_bits, pop_magnitudes, push_magnitudes_reverse

FAST = settings(max_examples=30, deadline=None)
_SCALES = np.geomspace(0.11, 64.0, 24)
_LAPLACE = ScaleFamily("laplace", _SCALES, 40)
_GAUSS = ScaleFamily("gaussian", _SCALES, 40)
INT64 = st.integers(-(2**63), 2**63 - 1)


@FAST
@given(
    kind=st.sampled_from(["laplace", "gaussian"]),
    values=st.lists(st.one_of(st.integers(-60, 60), INT64), max_size=300),
    seed=st.integers(0, 1000),
)
def test_round_trip_with_escapes(kind: str, values: list[int], seed: int) -> None:
    fam = _LAPLACE if kind == "laplace" else _GAUSS
    v = np.array(values, dtype=np.int64)
    ids = np.random.default_rng(seed).integers(0, fam.num_scales, v.size)
    data = fam.encode(v, ids)
    out = fam.decode(data, ids)
    assert out.dtype == np.int64 and out.shape == v.shape
    np.testing.assert_array_equal(out, v)
    assert abs(len(data) * 8 - fam.bits(v, ids)) <= 96


@FAST
@given(support=st.integers(0, 5), values=st.lists(INT64, max_size=40))
def test_tiny_support(support: int, values: list[int]) -> None:
    fam = ScaleFamily("laplace", np.array([0.5, 3.0]), support)
    v = np.array(values, dtype=np.int64)
    ids = np.arange(v.size) % 2
    np.testing.assert_array_equal(fam.decode(fam.encode(v, ids), ids), v)


def test_escape_magnitudes_exact_bits_and_stack() -> None:
    m = np.array([0, 1, 2, 3, 2**16 - 1, 2**16, 2**40 + 5, 2**63 - 1], dtype=np.uint64)
    coder = constriction.stream.stack.AnsCoder()
    push_magnitudes_reverse(coder, m)
    assert abs(coder.num_bits() - magnitude_bits(m)) <= 64
    dec = constriction.stream.stack.AnsCoder(coder.get_compressed())
    out = pop_magnitudes(dec, m.size)
    assert out.size == m.size and dec.is_empty()
    np.testing.assert_array_equal(out, m)


def test_realistic_overhead_and_best_scale() -> None:
    rng = np.random.default_rng(2)
    ids = np.repeat(rng.integers(0, _SCALES.size, 400), 256)
    v = np.round(rng.laplace(0.0, _SCALES[ids])).astype(np.int64)
    data = _LAPLACE.encode(v, ids)
    bits = _LAPLACE.bits(v, ids)
    assert len(data) * 8 <= bits * 1.001 + 256
    best = _LAPLACE.best_scale_ids(v.reshape(400, 256))
    assert best.shape == (400,)
    assert _LAPLACE.bits(v, np.repeat(best, 256)) <= bits
    assert np.mean(np.abs(np.log(_SCALES[best] / _SCALES[ids[::256]]))) < 0.5


def test_bytes_round_trip() -> None:
    data = _GAUSS.to_bytes()
    back = ScaleFamily.from_bytes(data)
    assert back == _GAUSS and back.kind == "gaussian" and back.support == 40
    for bad in (data[:-1], data[:10], b"ESF2" + data[4:], bytes(len(data))):
        with pytest.raises(EntropyError):
            ScaleFamily.from_bytes(bad)


@pytest.mark.parametrize(
    "args",
    [
        ("cauchy", _SCALES, 4),
        ("laplace", np.array([0.0]), 4),
        ("laplace", np.array([np.inf]), 4),
        ("laplace", np.zeros((2, 2)) + 1, 4),
        ("laplace", _SCALES, -1),
        ("laplace", _SCALES, 2**30),
        ("laplace", _SCALES, 1.5),
    ],
)
def test_bad_construction(args: tuple) -> None:
    with pytest.raises(EntropyError):
        ScaleFamily(*args)


def test_bad_calls() -> None:
    with pytest.raises(EntropyError):
        _LAPLACE.encode(np.array([1, 2]), np.array([0]))
    with pytest.raises(EntropyError):
        _LAPLACE.encode(np.array([1.5]), np.array([0]))
    with pytest.raises(EntropyError):
        _LAPLACE.encode(np.array([1]), np.array([99]))
    with pytest.raises(EntropyError):
        _LAPLACE.encode(np.array([2**64 - 1], dtype=np.uint64), np.array([0]))
    with pytest.raises(EntropyError):
        _LAPLACE.decode(b"", np.zeros((1, 1), np.int64))


_IDS = np.random.default_rng(4).integers(0, _SCALES.size, 500)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_gives_only_entropy_error(data: bytes) -> None:
    for fam in (_LAPLACE, _GAUSS):
        try:
            out = fam.decode(data, _IDS)
        except EntropyError:
            continue
        assert out.shape == _IDS.shape and out.dtype == np.int64


def test_truncated_and_flipped() -> None:
    v = np.round(np.random.default_rng(9).laplace(0, 30, _IDS.size)).astype(np.int64)
    v[::50] = 10**12
    data = _LAPLACE.encode(v, _IDS)
    caught = 0
    for cut in range(0, len(data), 4):
        try:  # ANS decodes anything; the leftover-state check catches nearly all cuts
            assert _LAPLACE.decode(data[:cut], _IDS).shape == _IDS.shape
        except EntropyError:
            caught += 1
    assert caught >= 0.99 * (len(data) // 4)
    for i in range(0, len(data), 5):
        bad = bytearray(data)
        bad[i] ^= 0x10
        try:
            out = _LAPLACE.decode(bytes(bad), _IDS)
        except EntropyError:
            continue
        assert out.shape == _IDS.shape


_FAMILY_BYTES = ScaleFamily("gaussian", np.array([0.5, 2.0]), 3).to_bytes()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.integers(0, len(_FAMILY_BYTES) - 1), st.integers(1, 255))
def test_family_from_bytes_garbage(data: bytes, pos: int, flip: int) -> None:
    damaged = bytearray(_FAMILY_BYTES)
    damaged[pos] ^= flip
    for candidate in (data, _FAMILY_BYTES[:pos], bytes(damaged), _FAMILY_BYTES[:16] + data):
        if candidate == _FAMILY_BYTES:
            continue
        try:
            ScaleFamily.from_bytes(candidate)
        except EntropyError:
            continue
        raise AssertionError("damaged family bytes were accepted")
