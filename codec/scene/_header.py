"""Checked readers of scene header fields: a missing, mistyped or out-of-range field is a CorruptDataError."""

from __future__ import annotations

import numpy as np

from codec.errors import CorruptDataError

__all__ = ["MAX_ALPHABET", "int_field", "float_field", "lut_field"]

MAX_ALPHABET = 1 << 16


def int_field(header: dict, name: str, lo: int, hi: int) -> int:
    """The i64 field ``name``, checked to lie in [lo, hi]."""
    v = header.get(name)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise CorruptDataError(f"scene header field {name!r} is missing or out of range ({v!r})")
    return v


def float_field(header: dict, name: str, lo: float, hi: float) -> float:
    """The finite f64 field ``name``, checked to lie in [lo, hi]."""
    v = header.get(name)
    if not isinstance(v, float) or not np.isfinite(v) or not lo <= v <= hi:
        raise CorruptDataError(f"scene header field {name!r} is missing or out of range ({v!r})")
    return v


def lut_field(header: dict, name: str, top: int) -> np.ndarray:
    """[L] int64: the bytes field ``name`` (1 <= L <= 65536 entries, each at most ``top``)."""
    raw = header.get(name)
    if not isinstance(raw, bytes) or not 0 < len(raw) <= MAX_ALPHABET:
        raise CorruptDataError(f"scene header field {name!r} is missing or malformed")
    lut = np.frombuffer(raw, np.uint8).astype(np.int64)
    if lut.max() > top:
        raise CorruptDataError(f"scene header field {name!r} has out-of-range entries")
    return lut
