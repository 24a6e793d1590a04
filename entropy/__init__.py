"""Entropy coding of integer symbols with integer frequency tables (numpy only, no torch).

Symbols plus fixed-point frequency tables go to bytes and back through
``constriction.stream.stack.AnsCoder``. Nothing here knows about images or scenes.

**ANS is a stack.** Encoding *pushes* symbols, decoding *pops* them, last in first out.
The public ``encode_*`` / ``decode_*`` functions hide this for whole arrays: they push in
reverse (constriction's ``encode_reverse``) so that decoding yields the original order.
Low-level helpers that put several arrays into one stream are named for the stack
(:func:`push_symbols_reverse`, :func:`pop_symbols`): pop in the reverse order of push.

Decoders take the symbol count from the caller (the container stores it), check it
against ``MAX_SYMBOLS`` before allocating, and require the stream to be consumed exactly
(``AnsCoder.is_empty()``): leftover bits raise :class:`EntropyError`. Any byte string
fed to a decoder gives either an array of the requested length or ``EntropyError``; ANS
decodes some symbols from any bits, so integrity checking (CRC) is the container's job.

Bit-exactness: every table is integers; constriction receives a deterministic float64
function of them that it turns back into exactly the same integers (``perfect=False``,
pinned as :data:`CATEGORICAL_PERFECT`). Streams are little-endian uint32 words, no header.

Letters: ``N`` symbols, ``K`` alphabet size, ``T`` tables, ``S`` scales, ``B`` blocks.

Public API::

    PRECISION = 24                      # fixed-point bits (constriction's AnsCoder models)
    quantize_pmf(probs [..., K] float, precision=PRECISION) -> [..., K] int64
    counts_to_freqs(counts [..., K] int, precision=PRECISION) -> [..., K] int64
    FrequencyTables(freqs [T, K] int, precision=PRECISION)
        .num_tables .num_symbols .precision .freqs .codelengths
        .cross_entropy_bits(symbols [N], table_ids [N] | None) -> float
        .to_bytes() -> bytes ; FrequencyTables.from_bytes(bytes)
    encode_symbols(symbols [N], tables, table_ids [N] | None) -> bytes
    decode_symbols(data, tables, count | None, table_ids [N] | TableIds | None) -> [N] int32
    TableIds(table_ids [N], num_tables)   # ids checked and grouped once, shared by several decodes
    decode_columns(data, tables, rows) -> [R, T] int32   # ids tile(arange(T), R), no id array
    ScaleFamily(kind "laplace"|"gaussian", scales [S], support, precision=PRECISION)
        .encode(values [N] int, scale_ids [N]) -> bytes
        .decode(data, scale_ids [N]) -> [N] int64
        .bits(values, scale_ids) -> float ; .best_scale_ids(blocks [B, L]) -> [B]
        .to_bytes() ; ScaleFamily.from_bytes(bytes)
    AdaptiveCategorical(num_symbols, increment=32, limit=65536, update_interval=256)
        .encode(symbols [N]) -> bytes ; .decode(data, count) -> [N] int32
        .cross_entropy_bits(symbols) -> float
    EntropyError(ValueError)

Names beyond the suggested API: ``count`` in ``decode_symbols`` may be omitted when
``table_ids`` is given; ``FrequencyTables`` also takes a ``precision`` argument;
``best_scale_ids`` takes ``[B, L]`` blocks. ``push_symbols_reverse`` / ``pop_symbols``
(and ``pop_columns``) expose the stack for multi-part streams.
"""

from __future__ import annotations

from ._coder import MAX_SYMBOLS
from .adaptive import AdaptiveCategorical
from .categorical import (
    TableIds,
    decode_columns,
    decode_symbols,
    encode_symbols,
    pop_columns,
    pop_symbols,
    push_symbols_reverse,
)
from .errors import EntropyError
from .families import ScaleFamily
from .tables import (
    CATEGORICAL_PERFECT,
    MAX_ALPHABET,
    MAX_TABLE_ENTRIES,
    PRECISION,
    FrequencyTables,
    counts_to_freqs,
    quantize_pmf,
)

__all__ = [
    "PRECISION",
    "CATEGORICAL_PERFECT",
    "MAX_SYMBOLS",
    "MAX_ALPHABET",
    "MAX_TABLE_ENTRIES",
    "EntropyError",
    "quantize_pmf",
    "counts_to_freqs",
    "FrequencyTables",
    "encode_symbols",
    "decode_symbols",
    "TableIds",
    "push_symbols_reverse",
    "pop_symbols",
    "pop_columns",
    "decode_columns",
    "ScaleFamily",
    "AdaptiveCategorical",
]
