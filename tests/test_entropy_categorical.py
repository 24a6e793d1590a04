"""Tests for entropy.categorical: single and indexed tables, robustness, overhead."""

from __future__ import annotations

import constriction
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entropy import (
    EntropyError,
    FrequencyTables,
    TableIds,
    counts_to_freqs,
    decode_columns,
    decode_symbols,
    encode_symbols,
    pop_symbols,
    push_symbols_reverse,
    quantize_pmf,
)

FAST = settings(max_examples=30, deadline=None)


def sample(tables: FrequencyTables, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one symbol per id from its table (vectorized inverse-cdf sampling)."""
    t, k = tables.freqs.shape
    total = 1 << tables.precision
    flat = (np.cumsum(tables.freqs, axis=1) + np.arange(t)[:, None] * total).ravel()
    u = rng.integers(0, total, ids.size) + ids * total
    return np.searchsorted(flat, u, side="right") - ids * k


@st.composite
def tables_and_symbols(draw: st.DrawFn) -> tuple[FrequencyTables, np.ndarray, np.ndarray | None]:
    k = draw(st.sampled_from([1, 2, 3, 17, 256, 8192]))
    t = draw(st.integers(1, 4 if k >= 8192 else 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    skew = draw(st.sampled_from([0.01, 0.3, 5.0]))
    p = rng.dirichlet(np.full(k, skew), size=t) if k > 1 else np.ones((t, 1))
    tables = FrequencyTables(quantize_pmf(p))
    n = draw(st.integers(0, 3000))
    ids = rng.integers(0, t, n) if t > 1 or draw(st.booleans()) else None
    row = ids if ids is not None else np.zeros(n, dtype=np.int64)
    if draw(st.booleans()):  # symbols from the model
        sym = sample(tables, row, rng)
    else:  # adversarial: uniform over the alphabet (hits frequency-1 symbols)
        sym = rng.integers(0, k, n)
    return tables, sym, ids


@FAST
@given(tables_and_symbols())
def test_round_trip(case: tuple[FrequencyTables, np.ndarray, np.ndarray | None]) -> None:
    tables, sym, ids = case
    data = encode_symbols(sym, tables, ids)
    assert len(data) % 4 == 0
    out = decode_symbols(data, tables, sym.size, ids)
    assert out.dtype == np.int32 and out.shape == (sym.size,)
    np.testing.assert_array_equal(out, sym)


def test_stack_helpers_two_parts_decoder_ends_empty() -> None:
    """ANS is a stack: part B pushed after part A is popped first."""
    rng = np.random.default_rng(3)
    t = FrequencyTables(quantize_pmf(rng.dirichlet(np.ones(50), size=5)))
    a, b = rng.integers(0, 50, 1000).astype(np.int32), rng.integers(0, 50, 700).astype(np.int32)
    ida, idb = rng.integers(0, 5, 1000).astype(np.int32), rng.integers(0, 5, 700).astype(np.int32)
    coder = constriction.stream.stack.AnsCoder()
    push_symbols_reverse(coder, a, t, ida)
    push_symbols_reverse(coder, b, t, idb)
    dec = constriction.stream.stack.AnsCoder(coder.get_compressed())
    got_b = pop_symbols(dec, t, idb, 700)
    got_a = pop_symbols(dec, t, ida, 1000)
    assert got_a.size == 1000 and got_b.size == 700
    np.testing.assert_array_equal(got_b, b)
    np.testing.assert_array_equal(got_a, a)
    assert dec.is_empty()


def test_empty_and_degenerate() -> None:
    t = FrequencyTables(quantize_pmf(np.ones(4)))
    assert encode_symbols(np.zeros(0, np.int64), t) == b""
    assert decode_symbols(b"", t, 0).shape == (0,)
    one = FrequencyTables(np.array([[2**24], [2**24]]))
    data = encode_symbols(np.zeros(9, np.int64), one, np.arange(9) % 2)
    assert len(data) <= 8  # only the stream check value: K=1 symbols cost 0 bits
    np.testing.assert_array_equal(
        decode_symbols(data, one, table_ids=np.arange(9) % 2), np.zeros(9)
    )
    with pytest.raises(EntropyError):
        decode_symbols(b"", one, 9, np.arange(9) % 2)  # missing check value
    with pytest.raises(EntropyError):
        decode_symbols(data, t, 0)  # leftover


def test_overhead_within_target() -> None:
    """Coded bits within 0.1% + 32 bytes of the cross-entropy (64 tables x K=256)."""
    rng = np.random.default_rng(7)
    t = FrequencyTables(quantize_pmf(rng.dirichlet(np.full(256, 0.1), size=64)))
    ids = rng.integers(0, 64, 400_000)
    sym = sample(t, ids, rng)
    data = encode_symbols(sym, t, ids)
    ce = t.cross_entropy_bits(sym, ids)
    assert len(data) * 8 <= ce * 1.001 + 256
    assert len(data) * 8 >= ce * 0.999 - 256
    out = decode_symbols(data, t, sym.size, ids)  # 2 chunks of the canonical order
    assert out.size == sym.size
    np.testing.assert_array_equal(out, sym)


@pytest.mark.parametrize("chunk, t, n", [(50, 3, 1000), (64, 40, 5000), (1, 2, 30)])
def test_chunked_order_round_trip(
    monkeypatch: pytest.MonkeyPatch, chunk: int, t: int, n: int
) -> None:
    import entropy.categorical as cat

    monkeypatch.setattr(cat, "CHUNK_SYMBOLS", chunk)
    rng = np.random.default_rng(chunk + t)
    tables = FrequencyTables(quantize_pmf(rng.dirichlet(np.ones(9), size=t)))
    ids = np.repeat(rng.integers(0, t, n // 5 + 1), 5)[:n] if t > 2 else rng.integers(0, t, n)
    sym = rng.integers(0, 9, n)
    out = decode_symbols(encode_symbols(sym, tables, ids), tables, n, ids)
    assert out.size == n
    np.testing.assert_array_equal(out, sym)


@pytest.mark.parametrize("chunk", [1 << 18, 64])
def test_shared_table_ids_decode_like_arrays(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """One TableIds reused for several streams gives what a plain id array gives, including
    chunks that hold a single table (identity order) and chunks that need sorting."""
    import entropy.categorical as cat

    monkeypatch.setattr(cat, "CHUNK_SYMBOLS", chunk)
    rng = np.random.default_rng(11)
    tables = FrequencyTables(quantize_pmf(rng.dirichlet(np.ones(12), size=5)))
    ids = np.concatenate([np.full(300, 3), rng.integers(0, 5, 700)])
    shared = TableIds(ids, 5)
    for seed in range(3):
        sym = np.random.default_rng(seed).integers(0, 12, ids.size)
        data = encode_symbols(sym, tables, ids)
        np.testing.assert_array_equal(decode_symbols(data, tables, ids.size, shared), sym)
        np.testing.assert_array_equal(decode_symbols(data, tables, table_ids=shared), sym)
    with pytest.raises(EntropyError):
        decode_symbols(data, tables, ids.size - 1, shared)
    with pytest.raises(EntropyError):
        decode_symbols(data, tables, ids.size, TableIds(ids, 6))  # ids for another number of tables
    with pytest.raises(EntropyError):
        TableIds(ids, 3)  # ids out of range


@pytest.mark.parametrize("chunk, t, rows", [(1 << 18, 7, 3000), (64, 3, 1000), (50, 7, 333), (1, 4, 20),
                                           (1 << 18, 1, 500), (1 << 18, 21, 0)])
def test_columns_decode_like_tiled_ids(monkeypatch: pytest.MonkeyPatch, chunk: int, t: int, rows: int) -> None:
    """decode_columns (strided groups) against the general path with ids tile(arange(T), R),
    including chunks that cut a row and one-symbol chunks; the decoder ends empty."""
    import entropy.categorical as cat

    monkeypatch.setattr(cat, "CHUNK_SYMBOLS", chunk)
    rng = np.random.default_rng(rows + t)
    tables = FrequencyTables(quantize_pmf(rng.dirichlet(np.full(40, 0.3), size=t)))
    ids = np.tile(np.arange(t), rows)
    sym = sample(tables, ids, rng)
    data = encode_symbols(sym, tables, ids)
    out = decode_columns(data, tables, rows)
    assert out.shape == (rows, t) and out.dtype == np.int32
    np.testing.assert_array_equal(out, decode_symbols(data, tables, ids.size, ids).reshape(rows, t))
    np.testing.assert_array_equal(out.ravel(), sym)
    if rows:
        with pytest.raises(EntropyError):
            decode_columns(data, tables, rows - 1)  # bits left over
        with pytest.raises(EntropyError):
            decode_columns(data[:-4], tables, rows)
    with pytest.raises(EntropyError):
        decode_columns(data, "tables", rows)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda t: encode_symbols(np.array([0, 4]), t),
        lambda t: encode_symbols(np.array([-1]), t),
        lambda t: encode_symbols(np.array([0.5]), t),
        lambda t: encode_symbols(np.zeros((2, 2), np.int64), t),
        lambda t: encode_symbols(np.array([0]), "tables"),
        lambda t: decode_symbols(b"", t, -1),
        lambda t: decode_symbols(b"", t, 2**40),
        lambda t: decode_symbols(b"", t, 1.5),
        lambda t: decode_symbols(b"", t),
    ],
)
def test_bad_arguments(call: object) -> None:
    t = FrequencyTables(quantize_pmf(np.ones(4)))
    with pytest.raises(EntropyError):
        call(t)  # type: ignore[operator]


def test_indexed_argument_errors() -> None:
    t = FrequencyTables(counts_to_freqs(np.ones((3, 4), np.int64)))
    with pytest.raises(EntropyError, match="required"):
        encode_symbols(np.array([1]), t)
    with pytest.raises(EntropyError, match="table_ids"):
        encode_symbols(np.array([1]), t, np.array([3]))
    with pytest.raises(EntropyError, match="entries"):
        encode_symbols(np.array([1, 2]), t, np.array([0]))


def test_wrong_count_is_detected() -> None:
    t = FrequencyTables(quantize_pmf(np.array([0.5, 0.3, 0.2])))
    sym = np.tile([2, 1], 200)
    data = encode_symbols(sym, t)
    with pytest.raises(EntropyError):
        decode_symbols(data, t, sym.size - 1)


def _decode_or_error(data: bytes, tables: FrequencyTables, ids: np.ndarray) -> None:
    try:
        out = decode_symbols(data, tables, ids.size, ids)
    except EntropyError:
        return
    assert out.shape == ids.shape and out.dtype == np.int32
    assert out.min(initial=0) >= 0 and out.max(initial=0) < tables.num_symbols


_TABLES = FrequencyTables(
    quantize_pmf(np.random.default_rng(5).dirichlet(np.full(300, 0.2), size=6))
)
_IDS = np.random.default_rng(6).integers(0, 6, 2000)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_gives_only_entropy_error(data: bytes) -> None:
    _decode_or_error(data, _TABLES, _IDS)


def test_truncated_and_flipped_streams() -> None:
    rng = np.random.default_rng(8)
    sym = rng.integers(0, 300, _IDS.size)
    data = encode_symbols(sym, _TABLES, _IDS)
    errors = 0
    for cut in range(0, len(data), 4):
        try:
            decode_symbols(data[:cut], _TABLES, _IDS.size, _IDS)
        except EntropyError:
            errors += 1
    for i in range(0, len(data), 7):
        bad = bytearray(data)
        bad[i] ^= 1 << (i % 8)
        _decode_or_error(bytes(bad), _TABLES, _IDS)
    _decode_or_error(data[:-1], _TABLES, _IDS)
    assert errors >= 0.99 * (len(data) // 4)  # stream check value catches truncation


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(1, 40)), max_size=60))
def test_grouping_order_is_the_stable_argsort(runs: list[tuple[int, int]]) -> None:
    """The canonical order (both run-based and radix paths) equals a stable argsort."""
    from entropy.categorical import _group

    ids = np.repeat([r[0] for r in runs], [r[1] for r in runs]).astype(np.int32)
    for arr in (ids, np.random.default_rng(len(runs)).permutation(ids)):
        order, bounds = _group(arr, 10)
        np.testing.assert_array_equal(order, np.argsort(arr, kind="stable"))
        np.testing.assert_array_equal(np.diff(bounds), np.bincount(arr, minlength=10))
