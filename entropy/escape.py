"""Raw coding of escaped magnitudes (Elias-gamma style, uniform models, same ANS stream).

A magnitude ``m`` (``0 <= m < 2**63``) is written as its bit length ``n`` (uniform over
``0..63``, exactly 6 bits) followed by the ``n - 1`` bits below its leading one, in chunks
of at most 16 bits, each under a uniform model of exactly ``2**width`` outcomes (so each
costs exactly ``width`` bits at 24-bit precision). Everything is vectorized.

Stack order: :func:`push_magnitudes_reverse` pushes the chunks first and the bit lengths
last, so :func:`pop_magnitudes` pops the bit lengths first and then knows how many chunk
bits to pop. Whoever pushes escapes must push them *before* the symbols that tell the
decoder how many escapes there are.
"""

from __future__ import annotations

import constriction
import numpy as np

from ._coder import guard

__all__ = [
    "MAX_MAGNITUDE_BITS",
    "CHUNK_BITS",
    "push_magnitudes_reverse",
    "pop_magnitudes",
    "magnitude_bits",
]

#: Magnitudes are below ``2**MAX_MAGNITUDE_BITS``.
MAX_MAGNITUDE_BITS = 63
#: Raw bits are coded in chunks of at most this many bits.
CHUNK_BITS = 16
_MAX_CHUNKS = -(-(MAX_MAGNITUDE_BITS - 1) // CHUNK_BITS)

_LENGTH_MODEL = constriction.stream.model.Uniform(MAX_MAGNITUDE_BITS + 1)
_CHUNK_FAMILY = constriction.stream.model.Uniform()


def _bit_length(m: np.ndarray) -> np.ndarray:
    """Exact bit length of each uint64 (0 for 0), vectorized."""
    n = np.zeros(m.shape, dtype=np.int64)
    rest = m.copy()
    for step in (32, 16, 8, 4, 2, 1):
        big = rest >= (np.uint64(1) << np.uint64(step))
        n += np.where(big, step, 0)
        rest = np.where(big, rest >> np.uint64(step), rest)
    return n + (rest > 0)


def _chunk_layout(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[E, C]`` chunk widths (0 = unused) and bit offsets for bit lengths ``n``."""
    body = np.maximum(n - 1, 0)
    offsets = np.arange(_MAX_CHUNKS, dtype=np.int64) * CHUNK_BITS
    widths = np.clip(body[:, None] - offsets[None, :], 0, CHUNK_BITS)
    return widths, np.broadcast_to(offsets, widths.shape)


def magnitude_bits(m: np.ndarray) -> float:
    """Exact number of bits the raw path spends on magnitudes ``m`` (``[E]`` uint64)."""
    n = _bit_length(np.asarray(m, dtype=np.uint64))
    return float(np.log2(MAX_MAGNITUDE_BITS + 1) * n.size + np.maximum(n - 1, 0).sum())


def push_magnitudes_reverse(coder: object, m: np.ndarray) -> None:
    """Push magnitudes ``m`` (``[E]`` uint64, each ``< 2**63``) onto the ANS stack."""
    if m.size == 0:
        return
    n = _bit_length(m)
    widths, offsets = _chunk_layout(n)
    used = widths > 0
    values = (m[:, None] >> offsets.astype(np.uint64)) & (
        (np.uint64(1) << widths.astype(np.uint64)) - np.uint64(1)
    )
    with guard("encoding escapes failed"):
        if used.any():
            coder.encode_reverse(
                values[used].astype(np.int32), _CHUNK_FAMILY, (1 << widths[used]).astype(np.int32)
            )
        coder.encode_reverse(n.astype(np.int32), _LENGTH_MODEL)


def pop_magnitudes(coder: object, count: int) -> np.ndarray:
    """Pop ``count`` magnitudes pushed by :func:`push_magnitudes_reverse`.

    Returns:
        ``[count]`` uint64, each ``< 2**63``.
    """
    if count == 0:
        return np.zeros(0, dtype=np.uint64)
    with guard("corrupt data"):
        n = np.asarray(coder.decode(_LENGTH_MODEL, count), dtype=np.int64)
    n = np.clip(n, 0, MAX_MAGNITUDE_BITS)
    widths, offsets = _chunk_layout(n)
    used = widths > 0
    values = np.zeros(widths.shape, dtype=np.uint64)
    if used.any():
        with guard("corrupt data"):
            raw = coder.decode(_CHUNK_FAMILY, (1 << widths[used]).astype(np.int32))
        values[used] = np.asarray(raw, dtype=np.int64).astype(np.uint64)
    body = np.bitwise_or.reduce(values << offsets.astype(np.uint64), axis=1)
    lead = np.where(n > 0, np.uint64(1) << np.maximum(n - 1, 0).astype(np.uint64), np.uint64(0))
    return lead | body
