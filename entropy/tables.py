"""Fixed-point frequency tables and their exact hand-off to constriction.

A frequency table over ``K`` symbols is a row of ``K`` integers, each ``>= 1``, summing to
``2**precision``. ``FrequencyTables`` holds ``T`` such rows (``[T, K]``), validates them,
serializes them to bytes, and builds the constriction models that code with them.

Exactness. constriction's ``Categorical(probabilities, perfect=False)`` quantizes floats to
its 24-bit fixed point as ``cdf[i] = floor(c[i] * (2**24 - K) / total) + i`` where ``c`` is
the left-to-right running sum of the floats and ``total`` their sum. We hand it
``probabilities = freqs * 2**(24 - precision) - 1`` as float64: small integers, so every
running sum is exact, ``total == 2**24 - K`` exactly, the scale factor is exactly 1.0 and
the resulting cdf is exactly ours. The coded size therefore matches the cross-entropy under
our integer tables (tests check this), and the models are a deterministic function of the
stored integers on every machine.
"""

from __future__ import annotations

import struct
import zlib

import constriction
import numpy as np

from ._coder import as_index_array
from .errors import EntropyError

__all__ = [
    "PRECISION",
    "CONSTRICTION_PRECISION",
    "CATEGORICAL_PERFECT",
    "MAX_ALPHABET",
    "MAX_TABLE_ENTRIES",
    "quantize_pmf",
    "counts_to_freqs",
    "FrequencyTables",
]

#: Fixed-point bits of constriction's categorical models under the default ``AnsCoder``
#: (32-bit words, 64-bit state). Fixed by constriction's Python bindings.
CONSTRICTION_PRECISION = 24
#: Default fixed-point bits of every table: 24, the most constriction's default ``AnsCoder``
#: supports, so rare symbols cost at most 24 bits and the quantization loss is ~K/2**24.
PRECISION = CONSTRICTION_PRECISION
#: The ``perfect`` flag passed to every ``constriction.stream.model.Categorical``. It changes
#: the bitstream, so it is pinned here. ``False`` selects constriction's closed-form
#: quantizer, which reproduces our integer tables exactly (see module docstring).
CATEGORICAL_PERFECT = False
#: Largest alphabet size ``K`` accepted anywhere (tables, bytes, families).
MAX_ALPHABET = 1 << 20
#: Largest ``T * K`` accepted (also bounds ``from_bytes`` allocation: 4 bytes per entry).
MAX_TABLE_ENTRIES = 1 << 26

_MAGIC = b"EFT1"
_VERSION = 1
_HEADER = struct.Struct("<4sBBHII")  # magic, version, precision, reserved, T, K


def _check_precision(precision: object) -> int:
    if isinstance(precision, bool) or not isinstance(precision, (int, np.integer)):
        raise EntropyError(f"precision must be an int, got {type(precision).__name__}")
    if not 1 <= int(precision) <= CONSTRICTION_PRECISION:
        raise EntropyError(
            f"precision must be in [1, {CONSTRICTION_PRECISION}] (constriction's limit), "
            f"got {precision}"
        )
    return int(precision)


def _check_alphabet(k: int, precision: int) -> None:
    if k < 1:
        raise EntropyError("tables need at least one symbol (K >= 1)")
    if k > min(MAX_ALPHABET, 1 << precision):
        raise EntropyError(
            f"K={k} symbols exceed the limit min(MAX_ALPHABET={MAX_ALPHABET}, "
            f"2**precision={1 << precision})"
        )


def _cdf_to_freqs(cdf_inner: np.ndarray, free: int) -> np.ndarray:
    """Rows of interior cdf points in [0, free] -> freqs (each >= 1) summing to free + K."""
    rows = cdf_inner.shape[0]
    cdf = np.concatenate(
        [np.zeros((rows, 1), np.int64), cdf_inner, np.full((rows, 1), free, np.int64)], axis=1
    )
    return np.diff(cdf, axis=1) + 1


def quantize_pmf(probs: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    """Quantize probabilities to fixed-point frequency tables, deterministically.

    Each symbol gets 1 plus its share of the remaining ``2**precision - K`` weight, computed
    from the left-to-right running sum (so rounding is ``floor`` of a monotone sequence).

    Args:
        probs: ``[..., K]`` real, finite, ``>= 0``; rows need not be normalized but must have
            a positive sum.
        precision: fixed-point bits, 1..24.
    Returns:
        ``[..., K]`` int64, every entry ``>= 1``, every row sums to ``2**precision``.
    """
    precision = _check_precision(precision)
    p = np.asarray(probs)
    if p.ndim < 1:
        raise EntropyError("probs must have shape [..., K]")
    if p.dtype.kind not in "fiu":
        raise EntropyError(f"probs must be real numbers, got dtype {p.dtype}")
    k = p.shape[-1]
    _check_alphabet(k, precision)
    flat = p.astype(np.float64).reshape(-1, k)
    if not np.all(np.isfinite(flat)) or np.any(flat < 0):
        raise EntropyError("probs must be finite and non-negative")
    csum = np.cumsum(flat, axis=1)  # sequential: same rounding everywhere
    total = csum[:, -1:]
    if np.any(total <= 0) or not np.all(np.isfinite(total)):
        raise EntropyError("every probability row needs a positive, finite sum")
    free = (1 << precision) - k
    inner = np.floor(csum[:, :-1] * (free / total))
    inner = np.clip(inner, 0, free).astype(np.int64)
    inner = np.maximum.accumulate(inner, axis=1) if k > 1 else inner
    return _cdf_to_freqs(inner, free).reshape(p.shape)


def counts_to_freqs(counts: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    """Integer counts to fixed-point frequency tables, in exact integer arithmetic.

    A row of all-zero counts gives the uniform table. Counts are shifted right together if
    a row total would overflow the int64 products.

    Args:
        counts: ``[..., K]`` integers ``>= 0``.
        precision: fixed-point bits, 1..24.
    Returns:
        ``[..., K]`` int64, every entry ``>= 1``, every row sums to ``2**precision``.
    """
    precision = _check_precision(precision)
    c = np.asarray(counts)
    if c.ndim < 1 or c.dtype.kind not in "iu":
        raise EntropyError(f"counts must be an integer array [..., K], got {c.dtype} {c.shape}")
    k = c.shape[-1]
    _check_alphabet(k, precision)
    if c.size and c.dtype.kind == "i" and int(c.min()) < 0:
        raise EntropyError("counts must be non-negative")
    # Shift each row right so that its total times 2**precision fits int64 (exact otherwise).
    allowed_bits = 62 - precision - k.bit_length()
    rows = c.reshape(-1, k)
    if rows.size:
        row_bits = np.frexp(rows.max(axis=1).astype(np.float64))[1]  # >= bit length
        shift = np.clip(row_bits - allowed_bits, 0, None).astype(rows.dtype)[:, None]
        rows = rows >> shift
    flat = rows.astype(np.int64)
    flat = np.where(flat.sum(axis=1, keepdims=True) == 0, 1, flat)
    csum = np.cumsum(flat, axis=1)
    total = csum[:, -1:]
    free = (1 << precision) - k
    inner = (csum[:, :-1] * free) // total
    return _cdf_to_freqs(inner, free).reshape(c.shape)


class FrequencyTables:
    """``T`` fixed-point frequency tables over ``K`` symbols (immutable).

    Args:
        freqs: ``[T, K]`` (or ``[K]`` for one table) integers, every entry ``>= 1``, every row
            summing to ``2**precision``.
        precision: fixed-point bits of the rows, 1..24 (default :data:`PRECISION`). Tables
            with fewer than 24 bits are scaled up by ``2**(24 - precision)`` exactly when
            handed to constriction.
    Raises:
        EntropyError: on any violation.
    """

    def __init__(self, freqs: np.ndarray, precision: int = PRECISION) -> None:
        precision = _check_precision(precision)
        f = np.asarray(freqs)
        if f.ndim == 1:
            f = f[None, :]
        if f.ndim != 2 or f.dtype.kind not in "iu":
            raise EntropyError(
                f"freqs must be an integer array [T, K], got dtype {f.dtype} shape {f.shape}"
            )
        t, k = f.shape
        _check_alphabet(k, precision)
        if t < 1 or t * k > MAX_TABLE_ENTRIES:
            raise EntropyError(f"need 1 <= T and T*K <= {MAX_TABLE_ENTRIES}, got T={t}, K={k}")
        if f.dtype.kind == "u" and int(f.max()) > (1 << precision):
            raise EntropyError("every frequency must be <= 2**precision")
        f = f.astype(np.int64)
        if int(f.min()) < 1:
            raise EntropyError("every symbol needs a frequency >= 1 (use quantize_pmf)")
        sums = f.sum(axis=1)
        if np.any(sums != (1 << precision)):
            bad = int(np.flatnonzero(sums != (1 << precision))[0])
            raise EntropyError(
                f"row {bad} sums to {int(sums[bad])}, expected 2**{precision}={1 << precision}"
            )
        f.setflags(write=False)
        self._freqs = f
        self._precision = precision
        self._models: list[object | None] = [None] * t
        self._codelengths: np.ndarray | None = None

    @property
    def num_tables(self) -> int:
        """``T``."""
        return self._freqs.shape[0]

    @property
    def num_symbols(self) -> int:
        """``K``."""
        return self._freqs.shape[1]

    @property
    def precision(self) -> int:
        """Fixed-point bits; every row sums to ``2**precision``."""
        return self._precision

    @property
    def freqs(self) -> np.ndarray:
        """``[T, K]`` int64, read-only."""
        return self._freqs

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrequencyTables):
            return NotImplemented
        return self._precision == other._precision and np.array_equal(self._freqs, other._freqs)

    def __hash__(self) -> int:
        return hash((self._precision, self._freqs.shape, self._freqs.tobytes()))

    def __repr__(self) -> str:
        t, k, p = self.num_tables, self.num_symbols, self.precision
        return f"FrequencyTables(T={t}, K={k}, precision={p})"

    @property
    def codelengths(self) -> np.ndarray:
        """``[T, K]`` float64: ideal code length in bits of each symbol under each table."""
        if self._codelengths is None:
            cl = self._precision - np.log2(self._freqs.astype(np.float64))
            cl.setflags(write=False)
            self._codelengths = cl
        return self._codelengths

    def model(self, table_id: int) -> object | None:
        """The cached constriction model of one table (``None`` when ``K == 1``: 0 bits)."""
        if self.num_symbols == 1:
            return None
        m = self._models[table_id]
        if m is None:
            scaled = self._freqs[table_id] << (CONSTRICTION_PRECISION - self._precision)
            m = constriction.stream.model.Categorical(
                (scaled - 1).astype(np.float64), perfect=CATEGORICAL_PERFECT
            )
            self._models[table_id] = m
        return m

    def cross_entropy_bits(self, symbols: np.ndarray, table_ids: np.ndarray | None = None) -> float:
        """Ideal size in bits of ``symbols`` under these tables.

        Args:
            symbols: ``[N]`` integers in ``[0, K)``.
            table_ids: ``[N]`` integers in ``[0, T)``; may be omitted when ``T == 1``.
        """
        s = as_index_array(symbols, "symbols", self.num_symbols, np.intp)
        tid = resolve_table_ids(self, table_ids, s.size, np.intp)
        if s.size == 0:
            return 0.0
        return float(self.codelengths[tid, s].sum())

    def to_bytes(self) -> bytes:
        """Serialize: ``"EFT1" | u8 version | u8 precision | u16 0 | u32 T | u32 K |``
        ``T*K u32 freqs (row-major) | u32 CRC32 of everything before``, all little-endian."""
        head = _HEADER.pack(_MAGIC, _VERSION, self._precision, 0, self.num_tables, self.num_symbols)
        body = head + self._freqs.astype("<u4").tobytes()
        return body + struct.pack("<I", zlib.crc32(body))

    @classmethod
    def from_bytes(cls, data: bytes) -> FrequencyTables:
        """Inverse of :meth:`to_bytes`; sizes are checked against ``len(data)`` and the hard
        limits before anything is allocated. Raises :class:`EntropyError` on any defect."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise EntropyError(f"table data must be bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < _HEADER.size + 4:
            raise EntropyError(f"table data truncated: {len(data)} bytes")
        magic, version, precision, reserved, t, k = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise EntropyError("not frequency-table data (bad magic)")
        if version != _VERSION:
            raise EntropyError(f"unsupported frequency-table version {version}")
        if reserved != 0:
            raise EntropyError("corrupt table data: reserved field is not zero")
        if t < 1 or k < 1 or k > MAX_ALPHABET or t * k > MAX_TABLE_ENTRIES:
            raise EntropyError(f"table data declares T={t}, K={k}: outside the limits")
        expected = _HEADER.size + 4 * t * k + 4
        if len(data) != expected:
            raise EntropyError(f"table data has {len(data)} bytes, header implies {expected}")
        (crc,) = struct.unpack_from("<I", data, expected - 4)
        if zlib.crc32(data[: expected - 4]) != crc:
            raise EntropyError("table data checksum mismatch")
        freqs = np.frombuffer(data, dtype="<u4", count=t * k, offset=_HEADER.size)
        return cls(freqs.astype(np.int64).reshape(t, k), precision=precision)


def resolve_table_ids(
    tables: FrequencyTables, table_ids: np.ndarray | None, n: int, dtype: type = np.int32
) -> np.ndarray:
    """Validate ``table_ids`` (``[N]`` in ``[0, T)``), or default to all zeros when ``T == 1``."""
    if table_ids is None:
        if tables.num_tables != 1:
            raise EntropyError(f"table_ids are required with {tables.num_tables} tables")
        return np.zeros(n, dtype=dtype)
    tid = as_index_array(table_ids, "table_ids", tables.num_tables, dtype)
    if tid.size != n:
        raise EntropyError(f"table_ids has {tid.size} entries, symbols has {n}")
    return tid
