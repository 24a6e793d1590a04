"""Quantized Laplace / Gaussian families with an indexed scale table and an escape path.

A :class:`ScaleFamily` holds one integer frequency table per scale (``S`` scales) over the
alphabet ``K = 2 * support + 3``:

======================  =====================================================
symbol                  meaning
======================  =====================================================
``0``                   escape below: value ``< -support``
``1 .. 2*support + 1``  value ``symbol - support - 1`` in ``[-support, support]``
``2*support + 2``       escape above: value ``> support``
======================  =====================================================

The escape symbols carry the tail mass of the distribution; the escaped magnitude
(``-support - 1 - value`` or ``value - support - 1``) follows in the same ANS stream
through :mod:`entropy.escape`, so any int64 is coded losslessly.

Tables are computed once in float64 (``math.exp`` / ``math.erfc``) and quantized to
integers with :func:`entropy.tables.quantize_pmf`; only the integers are used for coding.
For bit-exact decoding across machines store them: :meth:`ScaleFamily.to_bytes` /
:meth:`ScaleFamily.from_bytes` carry the integer tables themselves, so a decoder never
depends on its platform's libm.

Stream order (ANS is a stack): the encoder pushes escape magnitudes first and symbols
last; the decoder pops the symbols, learns which values escaped, then pops magnitudes.
"""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np

from ._coder import (
    as_index_array,
    check_count,
    encoder_bytes,
    finish_decoder,
    new_decoder,
    new_encoder,
)
from .categorical import pop_symbols, push_symbols_reverse
from .errors import EntropyError
from .escape import magnitude_bits, pop_magnitudes, push_magnitudes_reverse
from .tables import MAX_ALPHABET, PRECISION, FrequencyTables, quantize_pmf

__all__ = ["ScaleFamily", "KIND_IDS", "MAX_SCALES"]

#: Wire ids of the distribution kinds (never enumeration order).
KIND_IDS = {"laplace": 1, "gaussian": 2}
#: Most scales one family may hold.
MAX_SCALES = 4096

_MAGIC = b"ESF1"
_VERSION = 1
_HEADER = struct.Struct("<4sBBHII")  # magic, version, kind id, reserved, support, S


def _tail(kind: str, x: np.ndarray, scale: float) -> np.ndarray:
    """P(X > x) for x >= 0 under a zero-mean Laplace (scale b) or Gaussian (std sigma)."""
    if kind == "laplace":
        return np.array([0.5 * math.exp(-v / scale) for v in x.tolist()])
    root2 = math.sqrt(2.0)
    return np.array([0.5 * math.erfc(v / (scale * root2)) for v in x.tolist()])


def _family_pmf(kind: str, scales: np.ndarray, support: int) -> np.ndarray:
    """``[S, 2*support+3]`` float64 pmfs (tails in the escape symbols)."""
    half = np.arange(support + 1, dtype=np.float64) + 0.5  # 0.5, 1.5, ..., support + 0.5
    rows = []
    for scale in scales.tolist():
        q = _tail(kind, half, scale)
        centre = 1.0 - 2.0 * q[0]
        side = q[:-1] - q[1:]  # mass of values 1..support
        rows.append(np.concatenate([[q[-1]], side[::-1], [centre], side, [q[-1]]]))
    return np.maximum(np.array(rows), 0.0)


class ScaleFamily:
    """Zero-mean quantized Laplace or Gaussian with ``S`` indexed scales and an escape.

    Args:
        kind: ``"laplace"`` (scale ``b``) or ``"gaussian"`` (std ``sigma``).
        scales: ``[S]`` positive finite floats, one table each.
        support: values in ``[-support, support]`` are coded directly, others escaped.
        precision: fixed-point bits of the tables (default :data:`PRECISION`).
    """

    def __init__(
        self, kind: str, scales: np.ndarray, support: int, precision: int = PRECISION
    ) -> None:
        kind, scales, support = self._check(kind, scales, support)
        freqs = quantize_pmf(_family_pmf(kind, scales, support), precision)
        self._init(kind, scales, support, FrequencyTables(freqs, precision))

    @staticmethod
    def _check(kind: object, scales: object, support: object) -> tuple[str, np.ndarray, int]:
        if kind not in KIND_IDS:
            raise EntropyError(f"kind must be one of {sorted(KIND_IDS)}, got {kind!r}")
        s = np.asarray(scales, dtype=np.float64) if np.asarray(scales).dtype.kind in "fiu" else None
        if s is None or s.ndim != 1 or not 1 <= s.size <= MAX_SCALES:
            raise EntropyError(f"scales must be a rank-1 real array of 1..{MAX_SCALES} entries")
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise EntropyError("scales must be positive and finite")
        if isinstance(support, bool) or not isinstance(support, (int, np.integer)):
            raise EntropyError(f"support must be an int, got {type(support).__name__}")
        if not 0 <= int(support) <= (MAX_ALPHABET - 3) // 2:
            raise EntropyError(f"support must be in [0, {(MAX_ALPHABET - 3) // 2}], got {support}")
        s = s.copy()
        s.setflags(write=False)
        return str(kind), s, int(support)

    def _init(self, kind: str, scales: np.ndarray, support: int, tables: FrequencyTables) -> None:
        self._kind, self._scales, self._support, self._tables = kind, scales, support, tables

    kind = property(lambda self: self._kind, doc="``'laplace'`` or ``'gaussian'``.")
    scales = property(lambda self: self._scales, doc="``[S]`` float64, read-only.")
    support = property(lambda self: self._support, doc="Largest magnitude coded directly.")
    tables = property(lambda self: self._tables, doc="The ``[S, 2*support+3]`` integer tables.")
    num_scales = property(lambda self: self._scales.size, doc="``S``.")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScaleFamily):
            return NotImplemented
        return (
            (self._kind, self._support) == (other._kind, other._support)
            and np.array_equal(self._scales, other._scales)
            and self._tables == other._tables
        )

    __hash__ = None  # type: ignore[assignment]

    # -- value <-> symbol --------------------------------------------------------------
    def _split(self, values: object) -> tuple[np.ndarray, np.ndarray]:
        """``[N]`` values -> ``[N]`` int32 symbols and ``[E]`` uint64 escaped magnitudes."""
        v = np.asarray(values)
        if v.ndim != 1:
            raise EntropyError(f"values must be a rank-1 array [N], got shape {v.shape}")
        if v.size and v.dtype.kind not in "iu":
            raise EntropyError(f"values must have an integer dtype, got {v.dtype}")
        if v.dtype == np.uint64 and v.size and int(v.max()) > np.iinfo(np.int64).max:
            raise EntropyError("values must fit in int64")
        v = v.astype(np.int64, copy=False)
        s = self._support
        sym = (np.clip(v, -s - 1, s + 1) + (s + 1)).astype(np.int32)
        if v.size == 0 or (int(v.min()) >= -s and int(v.max()) <= s):  # fast path: no escapes
            return sym, np.zeros(0, dtype=np.uint64)
        ve = v[(sym == 0) | (sym == 2 * s + 2)]
        mag = np.where(ve < 0, -(s + 1) - ve, ve - (s + 1)).astype(np.uint64)
        return sym, mag

    def _join(self, sym: np.ndarray, mag: np.ndarray) -> np.ndarray:
        s = self._support
        v = sym.astype(np.int64) - (s + 1)
        if mag.size == 0:
            return v
        esc = np.flatnonzero((sym == 0) | (sym == 2 * s + 2))
        m = mag.astype(np.int64)  # < 2**63, fits
        v[esc] = np.where(sym[esc] == 0, -(s + 1) - m, (s + 1) + m)
        return v

    def _ids(self, scale_ids: object, n: int) -> np.ndarray:
        ids = as_index_array(scale_ids, "scale_ids", self.num_scales)
        if ids.size != n:
            raise EntropyError(f"scale_ids has {ids.size} entries, values has {n}")
        return ids

    # -- coding ------------------------------------------------------------------------
    def encode(self, values: np.ndarray, scale_ids: np.ndarray) -> bytes:
        """Code integer values, each under the table of its scale.

        Args:
            values: ``[N]`` any integer dtype (int64 range); out-of-support values escape.
            scale_ids: ``[N]`` integers in ``[0, S)``.
        Returns:
            The ANS stream (little-endian uint32 words); ``N`` is not stored.
        """
        sym, mag = self._split(values)
        ids = self._ids(scale_ids, sym.size)
        coder = new_encoder(sym.size)
        push_magnitudes_reverse(coder, mag)  # pushed first, popped last
        push_symbols_reverse(coder, sym, self._tables, ids)
        return encoder_bytes(coder)

    def decode(self, data: bytes, scale_ids: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`encode`; ``N = len(scale_ids)``.

        Returns:
            ``[N]`` int64.
        Raises:
            EntropyError: bad arguments or corrupt / trailing data (never anything else).
        """
        ids_arr = np.asarray(scale_ids)
        n = check_count(ids_arr.shape[0] if ids_arr.ndim == 1 else -1, "len(scale_ids)")
        ids = self._ids(ids_arr, n)
        coder = new_decoder(data)
        sym = pop_symbols(coder, self._tables, ids, n)
        k = 2 * self._support + 2
        num_esc = int(np.count_nonzero((sym == 0) | (sym == k)))
        mag = pop_magnitudes(coder, num_esc)
        finish_decoder(coder, n)
        return self._join(sym, mag)

    def bits(self, values: np.ndarray, scale_ids: np.ndarray) -> float:
        """Model cross-entropy in bits: symbol code lengths plus exact raw escape bits."""
        sym, mag = self._split(values)
        ids = self._ids(scale_ids, sym.size)
        return self._tables.cross_entropy_bits(sym, ids) + (
            magnitude_bits(mag) if mag.size else 0.0
        )

    def best_scale_ids(self, blocks: np.ndarray) -> np.ndarray:
        """The cheapest scale for each block of values (encoder-side helper).

        Args:
            blocks: ``[B, L]`` integers; each row is one block sharing a scale.
        Returns:
            ``[B]`` int64 scale ids minimizing the model bits of each row (ties: lowest id).
        """
        b = np.asarray(blocks)
        if b.ndim != 2:
            raise EntropyError(f"blocks must have shape [B, L], got {b.shape}")
        sym, _ = self._split(b.reshape(-1))
        sym = sym.reshape(b.shape)
        cl = self._tables.codelengths
        cost = np.stack([cl[s][sym].sum(axis=1) for s in range(self.num_scales)], axis=1)
        return np.argmin(cost, axis=1) if b.shape[0] else np.zeros(0, dtype=np.int64)

    # -- serialization -------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """``"ESF1" | u8 version | u8 kind id | u16 0 | u32 support | u32 S | S f64 scales |``
        ``FrequencyTables.to_bytes() | u32 CRC32 of everything before``, little-endian."""
        head = _HEADER.pack(
            _MAGIC, _VERSION, KIND_IDS[self._kind], 0, self._support, self.num_scales
        )
        body = head + self._scales.astype("<f8").tobytes() + self._tables.to_bytes()
        return body + struct.pack("<I", zlib.crc32(body))

    @classmethod
    def from_bytes(cls, data: bytes) -> ScaleFamily:
        """Inverse of :meth:`to_bytes` (validated, sizes bounded before allocation)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise EntropyError(f"family data must be bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < _HEADER.size + 4:
            raise EntropyError(f"family data truncated: {len(data)} bytes")
        magic, version, kind_id, reserved, support, s = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION or reserved != 0:
            raise EntropyError("not scale-family data, or an unsupported version")
        kinds = {v: k for k, v in KIND_IDS.items()}
        if kind_id not in kinds or not 1 <= s <= MAX_SCALES:
            raise EntropyError(f"family data declares kind {kind_id} and {s} scales: invalid")
        table_at = _HEADER.size + 8 * s
        if len(data) < table_at + 4:
            raise EntropyError("family data truncated")
        (crc,) = struct.unpack_from("<I", data, len(data) - 4)
        if zlib.crc32(data[:-4]) != crc:
            raise EntropyError("family data checksum mismatch")
        scales = np.frombuffer(data, dtype="<f8", count=s, offset=_HEADER.size).astype(np.float64)
        kind, scales, support = cls._check(kinds[kind_id], scales, support)
        tables = FrequencyTables.from_bytes(data[table_at:-4])
        if tables.num_tables != s or tables.num_symbols != 2 * support + 3:
            raise EntropyError("family tables do not match its scales and support")
        fam = cls.__new__(cls)
        fam._init(kind, scales, support, tables)
        return fam
