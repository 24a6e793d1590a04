"""Adaptive categorical coding: the model learns symbol counts as it codes.

No learned tables are needed. Both sides start from count 1 for every symbol and update
the counts from the symbols already coded, in blocks: the model is rebuilt after block
sizes ``1, 1, 2, 4, ..., update_interval, update_interval, ...`` (doubling up to
``update_interval``), so it adapts fast at the start and then costs one model build per
``update_interval`` symbols. After each block every count of a coded symbol grows by
``increment``; when the total exceeds ``limit`` all counts are halved (rounding up, so
they stay ``>= 1``), which forgets old statistics.

ANS is a stack, but the decoder must see the models in forward order. The encoder
therefore walks the symbols forward once to compute every block's table (a deterministic
function of earlier symbols), then pushes the blocks in reverse (``encode_reverse``), so
the decoder pops them in forward order, updating its counts exactly as the encoder did.
Each table is :func:`entropy.tables.counts_to_freqs` of the counts, handed to constriction
exactly (see :mod:`entropy.tables`). ``update_interval=1`` gives classic per-symbol
adaptation, but then the decoder runs a Python step per symbol (slow; for small data).
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
from .tables import CATEGORICAL_PERFECT, CONSTRICTION_PRECISION, MAX_ALPHABET

__all__ = ["AdaptiveCategorical"]

_Categorical = constriction.stream.model.Categorical
_SEGMENT = 256  # blocks per encoder checkpoint


def _int_arg(value: object, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise EntropyError(f"{name} must be an int in [{lo}, {hi}], got {value!r}")
    return int(value)


class AdaptiveCategorical:
    """Adaptive model over ``K`` symbols (stateless between calls: each call starts fresh).

    Args:
        num_symbols: ``K``, 1..2**20.
        increment: count added per coded symbol, 1..2**16.
        limit: counts are halved when their total exceeds this; ``2*K <= limit <= 2**30``.
        update_interval: largest block coded under one model, 1..2**20.
    """

    def __init__(
        self,
        num_symbols: int,
        increment: int = 32,
        limit: int = 1 << 16,
        update_interval: int = 256,
    ) -> None:
        self.num_symbols = _int_arg(num_symbols, "num_symbols", 1, MAX_ALPHABET)
        self.increment = _int_arg(increment, "increment", 1, 1 << 16)
        self.limit = _int_arg(limit, "limit", max(2 * self.num_symbols, 2), 1 << 30)
        self.update_interval = _int_arg(update_interval, "update_interval", 1, 1 << 20)

    def _block_starts(self, n: int) -> tuple[list[int], int]:
        """Prefix of block starts (sizes 1, 1, 2, 4, ... below ``update_interval``) and the
        number of blocks ``B`` for ``n`` symbols; later blocks start every interval."""
        prefix = [0]
        while prefix[-1] < self.update_interval:
            prefix.append(max(1, 2 * prefix[-1]))
        first = prefix[-1]
        if n <= first:
            return prefix, sum(1 for x in prefix if x < n)
        return prefix, len(prefix) + -(-(n - first) // self.update_interval) - 1

    def _block(self, prefix: list[int], b: int, n: int) -> tuple[int, int]:
        """``[lo, hi)`` of block ``b``."""

        def start(i: int) -> int:
            if i < len(prefix):
                return prefix[i]
            return prefix[-1] + (i - len(prefix) + 1) * self.update_interval

        return start(b), min(start(b + 1), n)

    def _probs(self, counts: np.ndarray) -> np.ndarray:
        """float64 ``freqs - 1`` of :func:`counts_to_freqs` at 24 bits (exact hand-off)."""
        free = (1 << CONSTRICTION_PRECISION) - self.num_symbols
        csum = np.cumsum(counts)
        cdf = np.empty(counts.size + 1, dtype=np.int64)
        cdf[0], cdf[-1] = 0, free
        cdf[1:-1] = csum[:-1] * free // csum[-1]
        return np.diff(cdf).astype(np.float64)

    def _update(self, counts: np.ndarray, block: np.ndarray) -> np.ndarray:
        counts = counts + self.increment * np.bincount(block, minlength=self.num_symbols)
        while int(counts.sum()) > self.limit:
            counts = (counts + 1) >> 1
        return counts

    def encode(self, symbols: np.ndarray) -> bytes:
        """Code ``symbols`` (``[N]`` integers in ``[0, K)``); returns the ANS stream.

        ``N`` is not stored: pass it to :meth:`decode`.
        """
        s = as_index_array(symbols, "symbols", self.num_symbols)
        coder = new_encoder(s.size)
        if s.size == 0 or self.num_symbols == 1:
            return encoder_bytes(coder)
        prefix, num_blocks = self._block_starts(s.size)
        # Forward pass: the counts the decoder will have, checkpointed every segment, so
        # memory stays O(K * num_blocks / _SEGMENT) instead of one table per block.
        checkpoints = []
        counts = np.ones(self.num_symbols, dtype=np.int64)
        for b in range(num_blocks):
            if b % _SEGMENT == 0:
                checkpoints.append(counts)
            lo, hi = self._block(prefix, b, s.size)
            counts = self._update(counts, s[lo:hi])
        # Reverse pass (ANS is a stack): rebuild each segment's tables, push blocks last-first.
        for seg in range(len(checkpoints) - 1, -1, -1):
            counts, probs = checkpoints[seg], []
            blocks = range(seg * _SEGMENT, min(num_blocks, (seg + 1) * _SEGMENT))
            for b in blocks:
                lo, hi = self._block(prefix, b, s.size)
                probs.append(self._probs(counts))
                counts = self._update(counts, s[lo:hi])
            with guard("encoding failed"):
                for b, p in zip(reversed(blocks), reversed(probs), strict=True):
                    lo, hi = self._block(prefix, b, s.size)
                    coder.encode_reverse(s[lo:hi], _Categorical(p, perfect=CATEGORICAL_PERFECT))
        return encoder_bytes(coder)

    def decode(self, data: bytes, count: int) -> np.ndarray:
        """Decode ``count`` symbols written by :meth:`encode` with the same settings.

        Returns:
            ``[count]`` int32 in ``[0, K)``.
        Raises:
            EntropyError: bad arguments, corrupt or trailing data (never anything else).
        """
        count = check_count(count)
        coder = new_decoder(data)
        out = np.zeros(count, dtype=np.int32)
        if count and self.num_symbols > 1:
            prefix, num_blocks = self._block_starts(count)
            counts = np.ones(self.num_symbols, dtype=np.int64)
            with guard("corrupt data"):
                for b in range(num_blocks):
                    lo, hi = self._block(prefix, b, count)
                    model = _Categorical(self._probs(counts), perfect=CATEGORICAL_PERFECT)
                    out[lo:hi] = coder.decode(model, hi - lo)
                    counts = self._update(counts, out[lo:hi])
        finish_decoder(coder, count)
        return out

    def cross_entropy_bits(self, symbols: np.ndarray) -> float:
        """Ideal size in bits of ``symbols`` under the adaptive model's integer tables."""
        s = as_index_array(symbols, "symbols", self.num_symbols)
        if s.size == 0 or self.num_symbols == 1:
            return 0.0
        prefix, num_blocks = self._block_starts(s.size)
        counts = np.ones(self.num_symbols, dtype=np.int64)
        bits = 0.0
        for b in range(num_blocks):
            lo, hi = self._block(prefix, b, s.size)
            block = s[lo:hi]
            freqs = self._probs(counts) + 1
            bits += float((CONSTRICTION_PRECISION - np.log2(freqs[block])).sum())
            counts = self._update(counts, block)
        return bits
