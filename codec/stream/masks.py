"""Per-Gaussian masks of a delta frame: which Gaussians changed, and which groups each sent.

* The *changed* bit of every Gaussian, predicted by the previous delta frame's bit (its
  context). Three modes, the encoder keeps the smallest: ``MASK_SAME`` (every bit equals its
  context: steady motion costs one byte), ``MASK_FLIPS`` (the positions where the bit differs
  from its context, as gaps through the residual Laplace family) and ``MASK_BITS`` (all N bits
  under two context tables built from four stored counts).
* The 6-bit *pattern* (one bit per attribute group) of each changed Gaussian, under a table
  built from its stored histogram.

Layout (inside the delta payload, see :mod:`codec.stream.residual`)::

    u8 mode     0 MASK_SAME: nothing follows
                1 MASK_FLIPS: varint F >= 1, u8 scale id, u32+ blob (F gaps >= 0)
                2 MASK_BITS: varint x4 counts c[ctx][bit] for (0,0),(0,1),(1,0),(1,1),
                  u32+ blob (N bits)
    u8 P, P x (u8 pattern, varint count)
    u32+ blob   ANS stream of the M patterns (empty when P <= 1)

Readers validate every count against N and the context before decoding.
"""

from __future__ import annotations

import numpy as np

from codec.errors import CorruptDataError
from entropy import FrequencyTables, counts_to_freqs, decode_symbols, encode_symbols

from ._bytes import ByteReader, ByteWriter
from .tables import residual_family

__all__ = ["write_mask", "read_mask", "write_patterns", "read_patterns", "MASK_SAME", "MASK_FLIPS", "MASK_BITS"]


MASK_SAME = 0  # every bit equals its context bit (nothing else stored)
MASK_FLIPS = 1  # varint F, u8 scale id, ANS stream of the F gaps between flipped positions
MASK_BITS = 2  # four varint counts, ANS stream of the N bits under two contexts
_DENSE_FROM = 32  # try the dense coding too when more than N / _DENSE_FROM bits flip


def write_mask(w: ByteWriter, changed: np.ndarray, ctx: np.ndarray) -> None:
    """Append the ``[N]`` bool ``changed`` bits under the ``[N]`` bool context ``ctx``."""
    flips = np.flatnonzero(changed != ctx)
    if flips.size == 0:
        w.u8(MASK_SAME)
        return
    sparse = ByteWriter()
    sparse.u8(MASK_FLIPS)
    sparse.varint(int(flips.size))
    gaps = np.diff(flips, prepend=-1) - 1
    fam = residual_family()
    sid = int(fam.best_scale_ids(gaps[None, :])[0])
    sparse.u8(sid)
    sparse.blob(fam.encode(gaps, np.full(gaps.size, sid)))
    best = sparse.getvalue()
    if flips.size * _DENSE_FROM > changed.size:
        dense = ByteWriter()
        dense.u8(MASK_BITS)
        counts = np.zeros((2, 2), np.int64)
        np.add.at(counts, (ctx.astype(np.int64), changed.astype(np.int64)), 1)
        for v in counts.reshape(-1).tolist():
            dense.varint(v)
        tables = FrequencyTables(counts_to_freqs(counts))
        dense.blob(encode_symbols(changed.astype(np.int32), tables, ctx.astype(np.int32)))
        if len(dense.getvalue()) < len(best):
            best = dense.getvalue()
    w.raw(best)


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
    mode = r.u8("mask mode")
    if mode == MASK_SAME:
        return ctx.copy()
    if mode == MASK_FLIPS:
        f = r.varint("flip count", n)
        if f == 0:
            raise CorruptDataError("corrupt delta frame: empty flip list")
        fam = residual_family()
        sid = r.u8("flip scale id")
        if sid >= fam.num_scales:
            raise CorruptDataError("corrupt delta frame: flip scale id out of range")
        gaps = fam.decode(r.blob("flip stream"), np.full(f, sid))
        if (gaps < 0).any() or int(gaps.sum()) + f > n:
            raise CorruptDataError("corrupt delta frame: flip positions out of range")
        changed = ctx.copy()
        changed[np.cumsum(gaps + 1) - 1] ^= True
        return changed
    if mode != MASK_BITS:
        raise CorruptDataError(f"corrupt delta frame: unknown mask mode {mode}")
    counts = np.array([r.varint("mask count", n) for _ in range(4)], np.int64).reshape(2, 2)
    if counts.sum() != n or counts[1].sum() != int(np.count_nonzero(ctx)):
        raise CorruptDataError("corrupt delta frame: mask counts do not match the frame")
    tables = FrequencyTables(counts_to_freqs(counts))
    changed = decode_symbols(r.blob("mask stream"), tables, n, ctx.astype(np.int32)).astype(bool)
    if int(changed.sum()) != int(counts[:, 1].sum()):
        raise CorruptDataError("corrupt delta frame: mask does not match its counts")
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
