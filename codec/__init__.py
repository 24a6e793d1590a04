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
    """Codecs import torch; load them on first use so `import codec` (and the CLI) stay light.

    Subpackages load the same way: after ``import codec``, ``codec.image.codec.reduce_quality``
    or ``codec.scene.read`` work without importing them first.
    """
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    return _submodule(__name__, name)


def _submodule(package: str, name: str):
    """Import ``package.name`` for a module ``__getattr__``; AttributeError when there is none."""
    import importlib

    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":  # the submodule exists but one of its imports is missing
                raise
    raise AttributeError(f"module {package!r} has no attribute {name!r}")
