"""Entropy-coded integer streams for the scene codec (all coding goes through :mod:`entropy`).

Two kinds of stream, both self-describing so one section holds one stream:

* **categorical** (:func:`encode_categorical` / :func:`decode_categorical`): symbols in
  ``[0, K)`` with an integer context ``ctx`` in ``[0, T)`` known to the decoder. The encoder
  counts symbols per context, stores the counts (scaled to 16 bits, zlib-packed) and codes with
  ``entropy.counts_to_freqs`` tables rebuilt from those stored integers on both sides.
  :func:`decode_categorical_columns` reads such a stream whose context is the column of an
  ``[N, W]`` array (SH coefficients) without building that context.
* **residual** (:func:`encode_residuals` / :func:`decode_residuals`): signed integers under a
  Laplace :class:`entropy.ScaleFamily` (escapes for the tails). The scale of each value is
  chosen per context (a stored byte per context) or per block of :data:`BLOCK` values (block
  scale ids sent as a categorical stream first).

Layout of a stream: ``u32 len(meta) | meta | payload``; ``meta`` is zlib-compressed.
Every count and length is checked before allocation; failures raise CorruptDataError.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from codec.errors import CorruptDataError, LimitExceededError
from entropy import (AdaptiveCategorical, EntropyError, FrequencyTables, ScaleFamily, TableIds, counts_to_freqs,
                     decode_columns, decode_symbols, encode_symbols)

__all__ = ["encode_categorical", "decode_categorical", "decode_categorical_columns", "encode_residuals",
           "decode_residuals", "BLOCK", "LAPLACE_SCALES", "bucket"]

BLOCK = 64
MAX_META = 1 << 24
MAX_TABLE = 1 << 22  # T * K entries
_SUPPORT = 255
# Laplace scales 0.2 .. ~26000 in steps of 2**(1/2): a deterministic table, stored as integers
LAPLACE_SCALES = tuple(float(0.2 * 2 ** (i / 2)) for i in range(35))
_FAMILY: ScaleFamily | None = None


def _family() -> ScaleFamily:
    global _FAMILY
    if _FAMILY is None:
        _FAMILY = ScaleFamily("laplace", np.array(LAPLACE_SCALES), _SUPPORT)
    return _FAMILY


def bucket(x: np.ndarray, top: int = 15) -> np.ndarray:
    """[N] int64 context: bit length of |x| capped at ``top`` (0 for 0).

    |x| is clipped to 2**(top-1) first (whose bit length is ``top``), so the float exponent
    from ``frexp`` is exact; an overflowed |int64 min| (negative) counts as 0.
    """
    a = np.clip(np.abs(np.asarray(x, np.int64)), 0, 1 << (top - 1))
    return np.frexp(a)[1].astype(np.int64)


def _pack(meta: bytes, payload: bytes) -> bytes:
    z = zlib.compress(meta, 9)
    return struct.pack("<I", len(z)) + z + payload


def _unpack(data: bytes, what: str) -> tuple[bytes, bytes]:
    if len(data) < 4:
        raise CorruptDataError(f"{what}: stream is truncated")
    (m,) = struct.unpack_from("<I", data)
    if 4 + m > len(data):
        raise CorruptDataError(f"{what}: stream metadata runs past the section")
    try:
        d = zlib.decompressobj()
        meta = d.decompress(data[4:4 + m], MAX_META)
        if d.unconsumed_tail or not d.eof:
            raise CorruptDataError(f"{what}: stream metadata is too large or incomplete")
    except zlib.error:
        raise CorruptDataError(f"{what}: stream metadata does not decompress") from None
    return meta, data[4 + m:]


def _scaled_counts(counts: np.ndarray) -> np.ndarray:
    """Scale each row so its max is 65535, keeping every observed symbol >= 1."""
    mx = np.maximum(counts.max(axis=1, keepdims=True), 1)
    s = np.where(counts > 0, np.maximum((counts * 65535 + mx - 1) // mx, 1), 0)
    return s.astype("<u2")


def _tables(scaled: np.ndarray) -> FrequencyTables:
    c = scaled.astype(np.int64)
    c[c.sum(axis=1) == 0] = 1  # an unused context still needs a valid table
    return FrequencyTables(counts_to_freqs(c))


ADAPTIVE_MAX = 1 << 15  # streams this short also try adaptive coding (no stored table)


def _adaptive(k: int) -> AdaptiveCategorical:
    return AdaptiveCategorical(k, increment=32, limit=1 << 16, update_interval=64)


def encode_categorical(symbols: np.ndarray, k: int, ctx: np.ndarray | None = None, t: int = 1) -> bytes:
    """Code ``symbols`` [N] in [0, k) under stored per-context count tables (ctx [N] in [0, t)).

    Short streams are also coded with one adaptive model per context (nothing stored but the
    per-context lengths) and the smaller of the two is kept; a mode byte says which.
    """
    s = np.asarray(symbols, np.int64)
    c = np.zeros(len(s), np.int64) if ctx is None else np.asarray(ctx, np.int64)
    assert s.size == 0 or (s.min() >= 0 and s.max() < k and c.min() >= 0 and c.max() < t)
    counts = np.zeros((t, k), np.int64)
    np.add.at(counts, (c, s), 1)
    scaled = _scaled_counts(counts)
    meta = b"T" + struct.pack("<II", t, k) + scaled.tobytes()
    payload = encode_symbols(s.astype(np.int32), _tables(scaled), c.astype(np.int32) if t > 1 else None) if len(s) else b""
    best = _pack(meta, payload)
    if 0 < len(s) <= ADAPTIVE_MAX:
        parts = [_adaptive(k).encode(s[c == j].astype(np.int32)) if (c == j).any() else b"" for j in range(t)]
        meta_a = b"A" + struct.pack("<II", t, k) + np.array([len(p) for p in parts], "<u4").tobytes()
        alt = _pack(meta_a, b"".join(parts))
        if len(alt) < len(best):
            best = alt
    return best


def _categorical_header(data: bytes, k: int, t: int, what: str) -> tuple[bytes, bytes]:
    """(meta, payload) of a categorical stream whose table shape is checked to be ``t`` x ``k``."""
    meta, payload = _unpack(data, what)
    if len(meta) < 9 or meta[:1] not in (b"T", b"A"):
        raise CorruptDataError(f"{what}: bad table header")
    tt, kk = struct.unpack_from("<II", meta, 1)
    if (tt, kk) != (t, k) or t * k > MAX_TABLE:
        raise CorruptDataError(f"{what}: table shape {tt}x{kk} does not match the expected {t}x{k}")
    return meta, payload


def _stored_tables(meta: bytes, k: int, t: int, what: str) -> FrequencyTables:
    """The ``t`` x ``k`` tables of a stream in table mode (meta begins with ``T``)."""
    if len(meta) != 9 + 2 * t * k:
        raise CorruptDataError(f"{what}: table size does not match its shape")
    try:
        return _tables(np.frombuffer(meta, "<u2", count=t * k, offset=9).reshape(t, k))
    except EntropyError as e:
        raise CorruptDataError(f"{what}: {e}") from None


def decode_categorical(data: bytes, count: int, k: int, ctx: np.ndarray | TableIds | None = None, t: int = 1,
                       what: str = "stream") -> np.ndarray:
    """Inverse of :func:`encode_categorical`; [count] int64.

    ``ctx`` is [count] ints in [0, t) or an ``entropy.TableIds`` of them (built once when
    several streams share a context, so it is checked and grouped once).
    """
    meta, payload = _categorical_header(data, k, t, what)
    if count == 0:
        return np.zeros(0, np.int64)
    if meta[:1] == b"A":
        c = np.zeros(count, np.int64) if ctx is None else np.asarray(ctx.ids if isinstance(ctx, TableIds) else ctx,
                                                                      np.int64)
        return _decode_adaptive(meta, payload, count, k, c, t, what)
    tables = _stored_tables(meta, k, t, what)
    try:
        ids = None if t == 1 else ctx if isinstance(ctx, TableIds) else np.asarray(ctx, np.int32)
        out = decode_symbols(payload, tables, count, ids)
    except EntropyError as e:
        raise CorruptDataError(f"{what}: {e}") from None
    return out.astype(np.int64)


def decode_categorical_columns(data: bytes, rows: int, k: int, width: int, what: str = "stream") -> np.ndarray:
    """[rows, width] int32: the inverse of ``encode_categorical(sym.ravel(), k, ctx, width)``
    for ``sym`` [rows, width] with ``ctx = tile(arange(width), rows)`` (one table per column).

    Decodes exactly what :func:`decode_categorical` gives for that ``ctx`` (reshaped), without
    building the [rows * width] context array (``entropy.decode_columns``).
    """
    meta, payload = _categorical_header(data, k, width, what)
    if rows == 0:
        return np.zeros((0, width), np.int32)
    if meta[:1] == b"A":  # a short stream: the general path
        c = np.tile(np.arange(width, dtype=np.int64), rows)
        return _decode_adaptive(meta, payload, rows * width, k, c, width, what).astype(np.int32).reshape(rows, width)
    tables = _stored_tables(meta, k, width, what)
    try:
        return decode_columns(payload, tables, rows)
    except EntropyError as e:
        raise CorruptDataError(f"{what}: {e}") from None


def _decode_adaptive(meta, payload, count, k, c, t, what) -> np.ndarray:
    if count > ADAPTIVE_MAX or len(meta) != 9 + 4 * t:
        raise CorruptDataError(f"{what}: adaptive stream header is malformed")
    lengths = np.frombuffer(meta, "<u4", count=t, offset=9).astype(np.int64)
    if lengths.sum() != len(payload):
        raise CorruptDataError(f"{what}: adaptive stream lengths do not match the payload")
    out = np.zeros(count, np.int64)
    off = 0
    for j in range(t):
        sel = np.nonzero(c == j)[0]
        part = payload[off:off + int(lengths[j])]
        off += int(lengths[j])
        if sel.size == 0:
            if part:
                raise CorruptDataError(f"{what}: data for an empty context")
            continue
        try:
            out[sel] = _adaptive(k).decode(part, int(sel.size))
        except EntropyError as e:
            raise CorruptDataError(f"{what}: {e}") from None
    return out


def encode_residuals(values: np.ndarray, ctx: np.ndarray | None = None, t: int = 1) -> bytes:
    """Code signed ints [N] with a Laplace scale per context (ctx given) or per block."""
    v = np.asarray(values, np.int64)
    fam = _family()
    nscales = len(LAPLACE_SCALES)
    if ctx is not None:
        c = np.asarray(ctx, np.int64)
        choice = np.zeros(t, np.int64)
        for j in range(t):
            sel = v[c == j]
            if sel.size:
                bits = [fam.bits(sel, np.full(sel.size, i)) for i in range(nscales)]
                choice[j] = int(np.argmin(bits))
        ids = choice[c]
        meta = b"C" + struct.pack("<I", t) + choice.astype(np.uint8).tobytes()
    else:
        nb = (len(v) + BLOCK - 1) // BLOCK
        pad = np.zeros(nb * BLOCK, np.int64)
        pad[:len(v)] = v
        block_ids = fam.best_scale_ids(pad.reshape(nb, BLOCK)) if nb else np.zeros(0, np.int64)
        ids = np.repeat(np.asarray(block_ids, np.int64), BLOCK)[:len(v)]
        meta = b"B" + encode_categorical(block_ids, nscales)
    payload = fam.encode(v, ids) if len(v) else b""
    return _pack(meta, payload)


def decode_residuals(data: bytes, count: int, ctx: np.ndarray | None = None, t: int = 1,
                     what: str = "stream") -> np.ndarray:
    """Inverse of :func:`encode_residuals`; [count] int64."""
    meta, payload = _unpack(data, what)
    fam = _family()
    nscales = len(LAPLACE_SCALES)
    if meta[:1] == b"C" and ctx is not None:
        if len(meta) != 5 + t or struct.unpack_from("<I", meta, 1)[0] != t:
            raise CorruptDataError(f"{what}: bad context table")
        choice = np.frombuffer(meta, np.uint8, count=t, offset=5).astype(np.int64)
        if (choice >= nscales).any():
            raise CorruptDataError(f"{what}: scale id out of range")
        ids = choice[np.asarray(ctx, np.int64)]
    elif meta[:1] == b"B" and ctx is None:
        nb = (count + BLOCK - 1) // BLOCK
        block_ids = decode_categorical(meta[1:], nb, nscales, what=what)
        ids = np.repeat(block_ids, BLOCK)[:count]
    else:
        raise CorruptDataError(f"{what}: unknown residual stream mode")
    if count == 0:
        return np.zeros(0, np.int64)
    if count > (1 << 28):
        raise LimitExceededError(f"{what}: {count} values is over the limit")
    try:
        return np.asarray(fam.decode(payload, ids), np.int64)
    except EntropyError as e:
        raise CorruptDataError(f"{what}: {e}") from None
