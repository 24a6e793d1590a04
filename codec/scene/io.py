"""``read(path)`` / ``write(scene, path)``: pick the scene format by file name.

=================== ======== ======= ==================================================
extension            read     write   format
=================== ======== ======= ==================================================
``.ply``             yes      yes     INRIA float PLY (read also detects compressed PLY)
``.compressed.ply``  yes      no      PlayCanvas / SuperSplat compressed PLY
``.splat``           yes      yes     antimatter15 32-byte records
``.spz``             yes      yes     Niantic SPZ v2/v3/v4 in, v3 out
``.sog``/meta.json   yes      no      PlayCanvas SOG v2
``.gsz``             yes      yes     this project's scene codec (default quality)
=================== ======== ======= ==================================================
"""

from __future__ import annotations

from pathlib import Path

from codec.errors import InvalidInputError

from ._files import read_file, write_file
from .data import GaussianScene
from .io_compressed_ply import is_compressed_ply, read_compressed_ply
from .io_ply import parse_ply, read_inria_ply, write_inria_ply
from .io_sog import read_sog
from .io_splat import read_splat, write_splat
from .io_spz import read_spz, write_spz

__all__ = ["read", "write", "format_of", "READ_FORMATS", "WRITE_FORMATS", "SCENE_CODEC_SUFFIX"]

SCENE_CODEC_SUFFIX = ".gsz"
READ_FORMATS = (".ply", ".compressed.ply", ".splat", ".spz", ".sog", "meta.json", SCENE_CODEC_SUFFIX)
WRITE_FORMATS = (".ply", ".splat", ".spz", SCENE_CODEC_SUFFIX)


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


def read(path) -> GaussianScene:
    """Read a scene file of any supported format (see the module table)."""
    fmt = format_of(path)
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
