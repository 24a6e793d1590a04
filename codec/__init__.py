"""gmcodec: learned compression for images and 3D Gaussian scenes.

Public API: the container (:mod:`codec.container`), atomic file I/O (:mod:`codec.fileio`) and
the error family (:mod:`codec.errors`); codecs are re-exported here as they land.
"""

from codec.container import (
    FORMAT_VERSION,
    Container,
    ContainerHeader,
    detect_kind,
    pack,
    read_container,
    read_container_header,
    unpack,
    unpack_header,
    write_container,
)
from codec.errors import (
    ChecksumError,
    CodecError,
    CorruptDataError,
    InvalidInputError,
    LimitExceededError,
    NotACodecFileError,
    OutputError,
    OutputExistsError,
    TruncatedError,
    UnsupportedVersionError,
    WrongKindError,
)

__version__ = "0.1.0"  # keep in step with pyproject.toml; the CLI prefers installed metadata

__all__ = [
    "__version__",
    "ImageCodec",
    "StreamReader",
    "SceneCodec",
    "FORMAT_VERSION",
    "Container",
    "ContainerHeader",
    "detect_kind",
    "pack",
    "read_container",
    "read_container_header",
    "unpack",
    "unpack_header",
    "write_container",
    "ChecksumError",
    "CodecError",
    "CorruptDataError",
    "InvalidInputError",
    "LimitExceededError",
    "NotACodecFileError",
    "OutputError",
    "OutputExistsError",
    "TruncatedError",
    "UnsupportedVersionError",
    "WrongKindError",
]


_LAZY = {"ImageCodec": "codec.image.codec", "StreamReader": "codec.stream", "SceneCodec": "codec.scene"}


def __getattr__(name: str):
    """Codecs import torch; load them on first use so `import codec` (and the CLI) stay light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'codec' has no attribute {name!r}")
