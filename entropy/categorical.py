"""Coding symbols under fixed frequency tables: one table, or one table per symbol.

ANS is a stack: the last symbol pushed is the first popped. :func:`encode_symbols` and
:func:`decode_symbols` hide this for whole arrays (you get your symbols back in order);
the ``push_*`` / ``pop_*`` helpers expose it for callers that put several arrays into one
stream: pop in the reverse order of push.

Indexed coding (``table_ids``) is vectorized by grouping, in a canonical order the decoder
rebuilds from ``table_ids`` alone: the symbols are cut into consecutive chunks (see
:data:`CHUNK_SYMBOLS`); within a chunk they are stably sorted by table id; each non-empty
group is coded as one batch with its table's cached model. Chunks are pushed last-first, so
the decoder pops chunk 0 first, group by group, and scatters the groups back. The loops run
over chunks and distinct tables, never over symbols. Decoders of several streams that share
their table ids can compute this grouping once (:class:`TableIds`) and pass it to each.

Columns (:func:`decode_columns`): when the ids repeat ``0, 1, ..., T-1`` (an ``[R, T]`` array
coded row-major with table ``j`` for column ``j``), every group of a chunk is an arithmetic
progression of stride ``T``, so the decoder pops each group straight into its strided slice:
no id array, no sort, no scatter. Same stream as the general path (tests compare the two).
"""

from __future__ import annotations

import constriction
import numpy as np

from ._coder import (
    as_index_array,
    check_count,
    encoder_bytes,
    finish_decoder,
    guard,
    new_decoder,
    new_encoder,
)
from .errors import EntropyError
from .tables import FrequencyTables, resolve_table_ids

__all__ = [
    "CHUNK_SYMBOLS",
    "GROUP_MIN_AVERAGE",
    "TableIds",
    "encode_symbols",
    "decode_symbols",
    "push_symbols_reverse",
    "pop_symbols",
    "pop_columns",
    "decode_columns",
]

#: Indexed coding works on consecutive chunks of ``max(CHUNK_SYMBOLS, GROUP_MIN_AVERAGE * T)``
#: symbols, so that sorting and gathering stay in cache. Part of the bitstream: pinned.
CHUNK_SYMBOLS = 1 << 18
#: Chunks hold at least this many symbols per table on average (bounds per-call overhead).
GROUP_MIN_AVERAGE = 16

_AnsCoder = constriction.stream.stack.AnsCoder


def _group(table_ids: np.ndarray, num_tables: int) -> tuple[np.ndarray, np.ndarray]:
    """The stable order that groups ``table_ids`` ascending, and ``[T+1]`` group bounds.

    Equal to ``np.argsort(table_ids, kind="stable")``. When ids come in runs (one context or
    scale per block, the usual case) the runs are sorted instead of the symbols, and the
    order is rebuilt from run starts: O(N) with sequential memory access.
    """
    n = table_ids.size
    change = np.flatnonzero(table_ids[1:] != table_ids[:-1]) + 1
    if change.size * 8 < n:
        starts = np.concatenate([np.zeros(1, np.int64), change])
        lengths = np.diff(np.append(starts, n))
        run_ids = table_ids[starts]
        run_order = np.argsort(run_ids, kind="stable")
        s_starts, s_lengths = starts[run_order], lengths[run_order]
        dest = np.cumsum(s_lengths) - s_lengths  # where each sorted run lands
        order = np.repeat(s_starts - dest, s_lengths) + np.arange(n, dtype=np.int64)
        sizes = np.bincount(run_ids, weights=lengths, minlength=num_tables).astype(np.int64)
    else:
        # 8/16-bit keys let numpy use its O(N) radix sort for stable sorting.
        if num_tables <= 1 << 8:
            keys = table_ids.astype(np.uint8)
        elif num_tables <= 1 << 16:
            keys = table_ids.astype(np.uint16)
        else:
            keys = table_ids
        order = np.argsort(keys, kind="stable")
        sizes = np.bincount(table_ids, minlength=num_tables)
    bounds = np.zeros(num_tables + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    return order, bounds


def _chunks(count: int, num_tables: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` of the chunks of the canonical order (see module docstring)."""
    size = max(CHUNK_SYMBOLS, GROUP_MIN_AVERAGE * num_tables)
    return [(lo, min(lo + size, count)) for lo in range(0, count, size)]


class TableIds:
    """Validated table ids with their canonical grouping, computed once and reusable.

    Pass one ``TableIds`` as ``table_ids`` to several :func:`decode_symbols` /
    :func:`pop_symbols` calls whose streams share the ids (same ``N`` and ``T``): the ids are
    checked once and the per-chunk sort is done on first use only. The grouping is exactly
    the one a plain array gives, so the bitstream is the same.

    Args:
        table_ids: ``[N]`` integers in ``[0, T)``.
        num_tables: ``T``.
    """

    def __init__(self, table_ids: np.ndarray, num_tables: int) -> None:
        if isinstance(num_tables, bool) or not isinstance(num_tables, (int, np.integer)) or num_tables < 1:
            raise EntropyError(f"num_tables must be a positive int, got {num_tables!r}")
        self.num_tables = int(num_tables)
        self.ids = as_index_array(table_ids, "table_ids", self.num_tables)  # [N] int32
        self._groups: list[tuple[int, int, np.ndarray | None, np.ndarray]] | None = None

    @classmethod
    def _validated(cls, ids: np.ndarray, num_tables: int) -> TableIds:
        """Wrap ids that were already checked (``[N]`` int32 in ``[0, T)``), without a copy."""
        obj = cls.__new__(cls)
        obj.num_tables, obj.ids, obj._groups = num_tables, ids, None
        return obj

    def __len__(self) -> int:
        return self.ids.size

    def groups(self) -> list[tuple[int, int, np.ndarray | None, np.ndarray]]:
        """Per chunk ``(lo, hi, order, bounds)`` as :func:`_group` gives them; ``order`` is
        ``None`` when one table holds the whole chunk (the order is then the identity)."""
        if self._groups is None:
            self._groups = [(lo, hi, *_chunk_group(self.ids[lo:hi], self.num_tables))
                            for lo, hi in _chunks(self.ids.size, self.num_tables)]
        return self._groups


def _chunk_group(ids: np.ndarray, num_tables: int) -> tuple[np.ndarray | None, np.ndarray]:
    first = int(ids[0])
    if not (ids != first).any():  # one table: identity order, no sort and no scatter
        bounds = np.zeros(num_tables + 1, dtype=np.int64)
        bounds[first + 1:] = ids.size
        return None, bounds
    return _group(ids, num_tables)


def push_symbols_reverse(
    coder: _AnsCoder, symbols: np.ndarray, tables: FrequencyTables, table_ids: np.ndarray
) -> None:
    """Push validated symbols onto an ANS stack so that :func:`pop_symbols` returns them.

    Args:
        coder: constriction ``AnsCoder`` (a stack; anything pushed later pops first).
        symbols: ``[N]`` int32 in ``[0, K)`` (already validated).
        tables: the frequency tables.
        table_ids: ``[N]`` int32 in ``[0, T)`` (already validated).
    """
    if symbols.size == 0 or tables.num_symbols == 1:
        return  # a one-symbol alphabet costs 0 bits
    with guard("encoding failed"):
        if tables.num_tables == 1:
            coder.encode_reverse(symbols, tables.model(0))
            return
        for lo, hi in reversed(_chunks(symbols.size, tables.num_tables)):
            order, bounds = _group(table_ids[lo:hi], tables.num_tables)
            grouped = symbols[lo:hi][order]
            for t in np.flatnonzero(np.diff(bounds))[::-1]:
                coder.encode_reverse(grouped[bounds[t] : bounds[t + 1]], tables.model(int(t)))


def pop_symbols(
    coder: _AnsCoder, tables: FrequencyTables, table_ids: np.ndarray | TableIds, count: int
) -> np.ndarray:
    """Pop ``count`` symbols pushed by :func:`push_symbols_reverse` with the same ids.

    ``table_ids`` is ``[count]`` int32 in ``[0, T)`` (already validated) or a
    :class:`TableIds` over ``count`` ids and ``T`` tables.

    Returns:
        ``[count]`` int32 in ``[0, K)``.
    """
    if count == 0 or tables.num_symbols == 1:
        return np.zeros(count, dtype=np.int32)
    out = np.empty(count, dtype=np.int32)
    with guard("corrupt data"):
        if tables.num_tables == 1:
            out[:] = coder.decode(tables.model(0), count)
            return out
        if not isinstance(table_ids, TableIds):
            table_ids = TableIds._validated(table_ids, tables.num_tables)
        for lo, hi, order, bounds in table_ids.groups():
            nonempty = np.flatnonzero(np.diff(bounds))
            if order is None:
                t = int(nonempty[0])
                out[lo:hi] = coder.decode(tables.model(t), hi - lo)
                continue
            grouped = np.empty(hi - lo, dtype=np.int32)
            for t in nonempty:
                a, b = int(bounds[t]), int(bounds[t + 1])
                grouped[a:b] = coder.decode(tables.model(int(t)), b - a)
            out[lo:hi][order] = grouped
    return out


def pop_columns(coder: _AnsCoder, tables: FrequencyTables, rows: int) -> np.ndarray:
    """Pop an ``[R, T]`` array whose column ``j`` was pushed with table ``j``.

    Equal to ``pop_symbols(coder, tables, np.tile(np.arange(T), R), R * T).reshape(R, T)``
    (same symbols popped in the same order): within chunk ``[lo, hi)`` of the flat index,
    table ``j``'s group is ``lo + (j - lo) % T, ... + T, ...`` below ``hi``, popped for ``j``
    ascending like the stable sort orders them.

    Args:
        coder: constriction ``AnsCoder``.
        tables: ``T`` tables over ``K`` symbols.
        rows: ``R`` (``R * T`` already checked against ``MAX_SYMBOLS``).
    Returns:
        ``[R, T]`` int32 in ``[0, K)``.
    """
    t = tables.num_tables
    count = rows * t
    if count == 0 or tables.num_symbols == 1:
        return np.zeros((rows, t), dtype=np.int32)
    out = np.empty(count, dtype=np.int32)
    with guard("corrupt data"):
        if t == 1:
            out[:] = coder.decode(tables.model(0), count)
        else:
            for lo, hi in _chunks(count, t):
                for j in range(t):
                    first = lo + (j - lo) % t
                    if first < hi:
                        out[first:hi:t] = coder.decode(tables.model(j), (hi - first + t - 1) // t)
    return out.reshape(rows, t)


def decode_columns(data: bytes, tables: FrequencyTables, rows: int) -> np.ndarray:
    """Decode ``[R, T]`` symbols, column ``j`` under table ``j``, from a stream written by
    ``encode_symbols(symbols.ravel(), tables, np.tile(np.arange(T), R))``.

    Args:
        data: the stream.
        tables: the same ``T`` tables over ``K`` symbols.
        rows: ``R``.
    Returns:
        ``[R, T]`` int32 in ``[0, K)``.
    Raises:
        EntropyError: bad arguments, corrupt data, or data left over after ``R * T`` symbols.
    """
    if not isinstance(tables, FrequencyTables):
        raise EntropyError(f"tables must be FrequencyTables, got {type(tables).__name__}")
    rows = check_count(rows, "rows")
    count = check_count(rows * tables.num_tables, "rows * num_tables")
    coder = new_decoder(data)
    out = pop_columns(coder, tables, rows)
    finish_decoder(coder, count)
    return out


def encode_symbols(
    symbols: np.ndarray, tables: FrequencyTables, table_ids: np.ndarray | None = None
) -> bytes:
    """Entropy-code symbols into a new ANS stream.

    Args:
        symbols: ``[N]`` integers in ``[0, K)``.
        tables: ``T`` frequency tables over ``K`` symbols.
        table_ids: ``[N]`` integers in ``[0, T)``: the table of each symbol. Optional when
            ``T == 1``.
    Returns:
        The stream: little-endian uint32 words (``b""`` when nothing needed coding). It does
        not store ``N``; the caller must.
    Raises:
        EntropyError: symbols or ids out of range, wrong shapes or dtypes.
    """
    if not isinstance(tables, FrequencyTables):
        raise EntropyError(f"tables must be FrequencyTables, got {type(tables).__name__}")
    s = as_index_array(symbols, "symbols", tables.num_symbols)
    tid = resolve_table_ids(tables, table_ids, s.size)
    coder = new_encoder(s.size)
    push_symbols_reverse(coder, s, tables, tid)
    return encoder_bytes(coder)


def decode_symbols(
    data: bytes,
    tables: FrequencyTables,
    count: int | None = None,
    table_ids: np.ndarray | TableIds | None = None,
) -> np.ndarray:
    """Decode a stream written by :func:`encode_symbols`.

    Args:
        data: the stream.
        tables: the same tables the encoder used.
        count: number of symbols ``N``; may be omitted when ``table_ids`` is given.
        table_ids: ``[N]`` integers in ``[0, T)``, the same as the encoder's, or a
            :class:`TableIds` of them (reused across streams that share the ids).
    Returns:
        ``[N]`` int32 in ``[0, K)``.
    Raises:
        EntropyError: bad arguments, corrupt data, or data left over after ``N`` symbols.
            Never any other exception, whatever ``data`` holds.
    """
    if not isinstance(tables, FrequencyTables):
        raise EntropyError(f"tables must be FrequencyTables, got {type(tables).__name__}")
    if count is None:
        if table_ids is None:
            raise EntropyError("decode_symbols needs count or table_ids")
        if isinstance(table_ids, TableIds):
            count = len(table_ids)
        else:
            count = np.asarray(table_ids).shape[0] if np.ndim(table_ids) == 1 else -1
    count = check_count(count)
    if isinstance(table_ids, TableIds):
        if table_ids.num_tables != tables.num_tables or len(table_ids) != count:
            raise EntropyError(f"table_ids cover {len(table_ids)} symbols and {table_ids.num_tables} tables, "
                               f"expected {count} and {tables.num_tables}")
        tid = table_ids
    else:
        tid = resolve_table_ids(tables, table_ids, count)
    coder = new_decoder(data)
    out = pop_symbols(coder, tables, tid, count)
    finish_decoder(coder, count)
    return out
