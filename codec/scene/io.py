"""``read(path)`` / ``write(scene, path)``: read any supported scene file, write by file name.

``read`` recognises a file by its first bytes (:func:`detect_format`), so ``scene.bin`` holding a
``.gsz`` reads as one; only the formats without a magic number (``.splat``, a SOG ``meta.json``)
go by name. ``write`` picks the format from the name it is given.

=================== ======== ======= ==================================================
format (name)        read     write   recognised by
=================== ======== ======= ==================================================
``.ply``             yes      yes     ``ply`` magic; INRIA float PLY (or compressed PLY)
``.compressed.ply``  yes      no      ``ply`` magic; PlayCanvas / SuperSplat compressed PLY
``.splat``           yes      yes     name (antimatter15 32-byte records have no header)
``.spz``             yes      yes     gzip or ``NGSP`` magic; Niantic SPZ v2/v3/v4 in, v3 out
``.sog``/meta.json   yes      no      zip magic (``.sog``), name (``meta.json``); SOG v2
``.gsz``             yes      yes     ``GMCS`` magic; this project's scene codec
=================== ======== ======= ==================================================
"""

from __future__ import annotations

from pathlib import Path

from codec.container import MAGIC_SCENE, detect_kind
from codec.errors import CodecError, InvalidInputError, NotACodecFileError, WrongKindError
from codec.fileio import read_prefix

from ._files import read_file, write_file
from .data import GaussianScene
from .io_compressed_ply import is_compressed_ply, read_compressed_ply
from .io_ply import parse_ply, read_inria_ply, write_inria_ply
from .io_sog import read_sog
from .io_splat import read_splat, write_splat
from .io_spz import SPZ_MAGIC, read_spz, write_spz

__all__ = ["read", "write", "format_of", "detect_format", "READ_FORMATS", "WRITE_FORMATS", "SCENE_CODEC_SUFFIX"]

SCENE_CODEC_SUFFIX = ".gsz"
READ_FORMATS = (".ply", ".compressed.ply", ".splat", ".spz", ".sog", "meta.json", SCENE_CODEC_SUFFIX)
WRITE_FORMATS = (".ply", ".splat", ".spz", SCENE_CODEC_SUFFIX)
_FORMAT_BY_MAGIC = ((b"ply\n", ".ply"), (b"ply\r\n", ".ply"), (MAGIC_SCENE, SCENE_CODEC_SUFFIX),
                    (b"\x1f\x8b", ".spz"), (SPZ_MAGIC.to_bytes(4, "little"), ".spz"), (b"PK\x03\x04", ".sog"))
_OTHER_COMMAND = {"image": "codec decode", "stream": "codec stream decode"}


def format_of(path) -> str:
    """The format key of ``path`` by name: one of READ_FORMATS; InvalidInputError otherwise."""
    name = Path(path).name.lower()
    if name.endswith(".compressed.ply"):
        return ".compressed.ply"
    if name == "meta.json":
        return "meta.json"
    suffix = Path(name).suffix
    if suffix in READ_FORMATS:
        return suffix
    raise InvalidInputError(f"{path}: unknown scene format {suffix or name!r}; "
                            f"expected one of {', '.join(READ_FORMATS)}")


def detect_format(path) -> str:
    """The format key (one of READ_FORMATS) of the scene file ``path``, from its first bytes;
    by name (:func:`format_of`) only when they match no magic number.

    Raises:
        InvalidInputError: missing or unreadable file.
        WrongKindError: an image or stream file of this codec (names the command to use).
        NotACodecFileError: neither the content nor the name is a scene format.
    """
    head = read_prefix(path, 4)
    for magic, fmt in _FORMAT_BY_MAGIC:
        if head.startswith(magic):
            return fmt
    try:
        kind = detect_kind(head)
    except CodecError:
        kind = None
    if kind in _OTHER_COMMAND:
        raise WrongKindError(f"{path}: this is {'an' if kind == 'image' else 'a'} {kind} file, not a scene "
                             f"(use {_OTHER_COMMAND[kind]})")
    try:
        return format_of(path)  # no magic: .splat and meta.json, or a damaged file its reader explains
    except InvalidInputError:
        raise NotACodecFileError(f"{path}: not a scene file (it starts with {head!r}); readable formats: "
                                 f"{', '.join(READ_FORMATS)}") from None


def read(path) -> GaussianScene:
    """Read a scene file of any supported format, recognised by content (see the module table)."""
    fmt = detect_format(path)
    what = str(path)
    if fmt in (".sog", "meta.json"):
        return read_sog(path)
    buf = read_file(path)
    if fmt in (".ply", ".compressed.ply"):
        elements, _ = parse_ply(buf, what)
        if is_compressed_ply(elements):
            return read_compressed_ply(buf, what)
        return read_inria_ply(buf, what)
    if fmt == ".splat":
        return read_splat(buf, what)
    if fmt == ".spz":
        return read_spz(buf, what)
    from .codec import SceneCodec

    return SceneCodec.decode_bytes(buf)


def write(scene: GaussianScene, path, force: bool = False, quality: int | None = None) -> int:
    """Write ``scene`` in the format named by ``path``; returns the number of bytes written."""
    fmt = format_of(path)
    if fmt == ".ply":
        data = write_inria_ply(scene)
    elif fmt == ".splat":
        data = write_splat(scene)
    elif fmt == ".spz":
        data = write_spz(scene)
    elif fmt == SCENE_CODEC_SUFFIX:
        from .codec import SceneCodec

        data = (SceneCodec() if quality is None else SceneCodec(quality=quality)).encode(scene)
    else:
        raise InvalidInputError(f"{path}: writing {fmt} is not supported; write one of {', '.join(WRITE_FORMATS)}")
    write_file(path, data, force=force)
    return len(data)
