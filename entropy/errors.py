"""The one exception family of ``entropy``.

Every problem a caller or a byte string can cause (a bad table, a bad argument, corrupt,
truncated or trailing data) surfaces as :class:`EntropyError`. It subclasses
``ValueError`` so that callers that only know "bad input" can still catch it.
"""

from __future__ import annotations

__all__ = ["EntropyError"]


class EntropyError(ValueError):
    """Bad frequency table, bad argument, or corrupt / exhausted / trailing coded data."""
