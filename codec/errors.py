"""The one exception family for everything a user or a file can get wrong.

Every decoder, reader and command raises a :class:`CodecError` subclass for bad input: a
truncated or corrupted file, a file of the wrong kind, an unreadable path, an output that
already exists. Messages are one line, name the thing that is wrong and, where possible, say
what to do. The command line prints them as ``codec: error: <message>`` and exits with 1.

Programming mistakes (passing a list where bytes are expected, an invalid section name) are
``TypeError``/``ValueError`` as usual; ``assert`` guards only internal invariants.
"""

from __future__ import annotations

__all__ = [
    "CodecError",
    "TruncatedError",
    "NotACodecFileError",
    "WrongKindError",
    "UnsupportedVersionError",
    "ChecksumError",
    "LimitExceededError",
    "CorruptDataError",
    "InvalidInputError",
    "OutputError",
    "OutputExistsError",
    "CodecWarning",
]


class CodecError(Exception):
    """Base class: something a user or a file got wrong. ``str(err)`` is one line."""


class TruncatedError(CodecError):
    """The data ends before the structure it describes, e.g.
    ``truncated: expected 1234 bytes, got 1000``."""


class NotACodecFileError(CodecError):
    """The data does not start with one of this codec's magic numbers."""


class WrongKindError(CodecError):
    """A codec file of another kind than the caller asked for (a scene given to the image
    decoder, say)."""


class UnsupportedVersionError(CodecError):
    """The format version in the file is not one this build can read, e.g.
    ``unsupported format version 7``."""


class ChecksumError(CodecError):
    """A CRC32 does not match: ``checksum mismatch in section 'level0'``."""


class LimitExceededError(CodecError):
    """A header (or an input) asks for more than a hard limit allows; nothing was allocated."""


class CorruptDataError(CodecError):
    """The bytes are present and framed correctly but do not decode (bad tag, bad payload)."""


class InvalidInputError(CodecError):
    """Bad user input: an unreadable or missing input file, an argument out of range."""


class OutputError(CodecError):
    """The output could not be written (missing directory, permission denied, disk full)."""


class OutputExistsError(OutputError):
    """Refusing to overwrite an existing file without ``--force`` (``force=True``)."""


class CodecWarning(UserWarning):
    """Something was changed on the way in (a colour mode converted, frames dropped, bits
    reduced); the command line prints each one as ``codec: warning: <message>``."""
