"""Per-Gaussian masks of a delta frame: which Gaussians changed, and which groups each sent.

* The *changed* bit of every Gaussian, coded with two contexts (did the same Gaussian change
  in the previous delta frame?) under static tables built from four stored counts.
* The 6-bit *pattern* (one bit per attribute group) of each changed Gaussian, under a table
  built from its stored histogram.

Layout (inside the delta payload, see :mod:`codec.stream.residual`)::

    varint x4   counts c[ctx][bit] for (0,0), (0,1), (1,0), (1,1)
    u32+ blob   ANS stream of the N bits (empty when every bit is equal)
    u8 P, P x (u8 pattern, varint count)
    u32+ blob   ANS stream of the M patterns (empty when P <= 1)

Readers validate every count against N and the context before decoding.
"""

from __future__ import annotations

import numpy as np

from codec.errors import CorruptDataError
from entropy import FrequencyTables, counts_to_freqs, decode_symbols, encode_symbols

from ._bytes import ByteReader, ByteWriter

__all__ = ["write_mask", "read_mask", "write_patterns", "read_patterns"]


def write_mask(w: ByteWriter, changed: np.ndarray, ctx: np.ndarray) -> None:
    """Append the ``[N]`` bool ``changed`` bits under the ``[N]`` bool context ``ctx``."""
    counts = np.zeros((2, 2), np.int64)
    np.add.at(counts, (ctx.astype(np.int64), changed.astype(np.int64)), 1)
    for v in counts.reshape(-1).tolist():
        w.varint(v)
    if counts[:, 0].sum() and counts[:, 1].sum():
        tables = FrequencyTables(counts_to_freqs(counts))
        w.blob(encode_symbols(changed.astype(np.int32), tables, ctx.astype(np.int32)))
    else:
        w.blob(b"")


def write_patterns(w: ByteWriter, patterns: np.ndarray) -> None:
    """Append the ``[M]`` int patterns (1..63) of the changed Gaussians."""
    hist = np.bincount(patterns, minlength=64)
    present = np.flatnonzero(hist)
    w.u8(len(present))
    for p in present.tolist():
        w.u8(p)
        w.varint(int(hist[p]))
    if len(present) > 1:
        w.blob(encode_symbols(patterns.astype(np.int32), FrequencyTables(counts_to_freqs(hist))))
    else:
        w.blob(b"")


def read_mask(r: ByteReader, ctx: np.ndarray, n: int) -> np.ndarray:
    """``[N]`` bool changed bits; ``ctx`` is the previous frame's ``[N]`` bool."""
    counts = np.array([r.varint("mask count", n) for _ in range(4)], np.int64).reshape(2, 2)
    ctx_i = ctx.astype(np.int32)
    n_ctx1 = int(np.count_nonzero(ctx))
    if counts.sum() != n or counts[1].sum() != n_ctx1:
        raise CorruptDataError("corrupt delta frame: mask counts do not match the frame")
    mask_stream = r.blob("mask stream")
    if counts[:, 0].sum() and counts[:, 1].sum():
        tables = FrequencyTables(counts_to_freqs(counts))
        changed = decode_symbols(mask_stream, tables, n, ctx_i).astype(bool)
        if int(changed.sum()) != int(counts[:, 1].sum()):
            raise CorruptDataError("corrupt delta frame: mask does not match its counts")
    elif mask_stream:
        raise CorruptDataError("corrupt delta frame: unexpected mask stream")
    else:
        changed = np.full(n, bool(counts[:, 1].sum()))
    return changed


def read_patterns(r: ByteReader, m: int, n: int) -> np.ndarray:
    """``[M]`` int64 patterns (1..63) of the changed Gaussians."""
    hist = np.zeros(64, np.int64)
    for _ in range(r.u8("pattern count")):
        p = r.u8("pattern")
        if not 0 < p < 64 or hist[p]:
            raise CorruptDataError("corrupt delta frame: bad pattern histogram")
        hist[p] = r.varint("pattern count", n)
    if hist.sum() != m:
        raise CorruptDataError("corrupt delta frame: pattern counts do not match the mask")
    pat_stream = r.blob("pattern stream")
    if np.count_nonzero(hist) > 1:
        patterns = decode_symbols(pat_stream, FrequencyTables(counts_to_freqs(hist)), m).astype(np.int64)
        if not np.array_equal(np.bincount(patterns, minlength=64), hist):
            raise CorruptDataError("corrupt delta frame: patterns do not match their histogram")
    elif pat_stream:
        raise CorruptDataError("corrupt delta frame: unexpected pattern stream")
    else:
        patterns = np.full(m, int(np.argmax(hist)) if m else 0, np.int64)
    return patterns
