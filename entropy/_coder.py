"""Internal glue between numpy, bytes and ``constriction.stream.stack.AnsCoder``.

Byte layout of every stream this package writes: the ``uint32`` words returned by
``AnsCoder.get_compressed()``, each stored little-endian, nothing else (no header: the
caller's container stores lengths and symbol counts). ANS data never ends in a zero word,
so an empty stream is ``b""``.

Everything constriction can raise on bad input (``ValueError``, ``KeyError``,
``AssertionError``, pyo3's ``PanicException`` which derives from ``BaseException``) is turned
into :class:`entropy.errors.EntropyError` by :func:`guard`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import constriction
import numpy as np

from .errors import EntropyError

__all__ = [
    "MAX_SYMBOLS",
    "STREAM_SENTINEL",
    "new_encoder",
    "encoder_bytes",
    "new_decoder",
    "finish_decoder",
    "guard",
    "as_index_array",
    "check_count",
]

#: Hard limit on the number of symbols one call may encode or decode. Decoders allocate
#: ``count`` int32 values, so ``count`` is checked against this before any allocation.
MAX_SYMBOLS = 1 << 28

_WIRE_WORD = np.dtype("<u4")  # little-endian uint32 words on the wire

#: Guard value pushed first (so popped last) onto every non-empty stream, under a uniform
#: model over ``2**16`` values (exactly 16 bits). An ANS decoder that runs out of data sits
#: in state 0 and pops 0 from then on, so a truncated or garbage stream fails this check
#: with probability ``1 - 2**-16`` instead of silently decoding zeros.
STREAM_SENTINEL = 0xB5E1
_SENTINEL_MODEL = constriction.stream.model.Uniform(1 << 16)


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Convert any exception raised inside the block into :class:`EntropyError`."""
    try:
        yield
    except EntropyError:
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # pyo3 PanicException is a BaseException
        raise EntropyError(f"{what}: {type(exc).__name__}: {exc}") from exc


def new_encoder(count: int) -> constriction.stream.stack.AnsCoder:
    """A new ANS stack for a stream of ``count`` symbols (sentinel pushed if ``count > 0``)."""
    coder = constriction.stream.stack.AnsCoder()
    if count > 0:
        with guard("encoding failed"):
            coder.encode_reverse(np.array([STREAM_SENTINEL], dtype=np.int32), _SENTINEL_MODEL)
    return coder


def encoder_bytes(coder: constriction.stream.stack.AnsCoder) -> bytes:
    """The coder's compressed words as little-endian bytes."""
    with guard("reading compressed data"):
        words = coder.get_compressed()
    return np.asarray(words, dtype=np.uint32).astype(_WIRE_WORD, copy=False).tobytes()


def new_decoder(data: bytes) -> constriction.stream.stack.AnsCoder:
    """An ANS stack loaded with ``data`` (little-endian uint32 words), validated."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise EntropyError(f"coded data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) % 4:
        raise EntropyError(
            f"corrupt data: length {len(data)} is not a multiple of 4 (streams are uint32 words)"
        )
    words = np.frombuffer(data, dtype=_WIRE_WORD).astype(np.uint32)
    if words.size and words[-1] == 0:
        raise EntropyError("corrupt data: an ANS stream never ends in a zero word")
    with guard("corrupt data"):
        return constriction.stream.stack.AnsCoder(words)


def finish_decoder(coder: constriction.stream.stack.AnsCoder, count: int) -> None:
    """Pop the sentinel of a ``count``-symbol stream and require the stream to be used up.

    Raises :class:`EntropyError` on a wrong sentinel (truncated, exhausted or garbage data)
    or on leftover bits.
    """
    with guard("corrupt data"):
        if count > 0 and int(coder.decode(_SENTINEL_MODEL)) != STREAM_SENTINEL:
            raise EntropyError(
                "corrupt data: stream check value mismatch (truncated, damaged, or decoded "
                "with the wrong tables / count)"
            )
        empty = coder.is_empty()
    if not empty:
        raise EntropyError(
            "corrupt data: bits left over after decoding the expected number of symbols "
            "(wrong symbol count, wrong tables, or damaged stream)"
        )


def check_count(count: object, name: str = "count") -> int:
    """Validate a symbol count supplied by the caller (0 <= count <= MAX_SYMBOLS)."""
    if isinstance(count, (bool, np.bool_)) or not isinstance(count, (int, np.integer)):
        raise EntropyError(f"{name} must be an int, got {type(count).__name__}")
    count = int(count)
    if not 0 <= count <= MAX_SYMBOLS:
        raise EntropyError(f"{name} must be in [0, {MAX_SYMBOLS}], got {count}")
    return count


def as_index_array(x: object, name: str, upper: int, dtype: type = np.int32) -> np.ndarray:
    """Validate a rank-1 integer array with entries in ``[0, upper)``; return a ``dtype`` copy.

    Args:
        x: array-like, shape ``[N]``, any integer dtype.
        name: argument name used in error messages.
        upper: exclusive upper bound of valid entries.
    Returns:
        ``[N]`` array of ``dtype`` (never a view of the caller's array).
    """
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise EntropyError(f"{name} must be a rank-1 array [N], got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=dtype)
    if arr.dtype.kind not in "iu":
        raise EntropyError(f"{name} must have an integer dtype, got {arr.dtype}")
    if arr.size > MAX_SYMBOLS:
        raise EntropyError(f"{name} has {arr.size} entries, more than MAX_SYMBOLS={MAX_SYMBOLS}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= upper:
        raise EntropyError(f"{name} must lie in [0, {upper}), got values in [{lo}, {hi}]")
    return arr.astype(dtype)
