"""File helpers shared by the scene readers and writers (size limits, atomic writes)."""

from __future__ import annotations

import os
from pathlib import Path

from codec.errors import InvalidInputError, LimitExceededError, OutputError, OutputExistsError

__all__ = ["MAX_SCENE_FILE_BYTES", "MAX_GAUSSIANS", "read_file", "write_file"]

MAX_SCENE_FILE_BYTES = 4 << 30  # 4 GiB: refuse larger inputs before reading them
MAX_GAUSSIANS = 1 << 27  # 134M Gaussians: hard cap on any count read from a header


def read_file(path, max_size: int = MAX_SCENE_FILE_BYTES) -> bytes:
    """All bytes of ``path``; InvalidInputError if unreadable, LimitExceededError if too big."""
    try:
        from codec.fileio import read_bytes  # the project helper, when present
    except ImportError:  # pragma: no cover - only while codec.fileio is being written
        read_bytes = None
    if read_bytes is not None:
        return read_bytes(path, max_size=max_size)
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_size:
            raise LimitExceededError(f"{p}: {size} bytes is over the {max_size}-byte limit")
        return p.read_bytes()
    except OSError as e:
        raise InvalidInputError(f"cannot read {p}: {e.strerror or e}") from None


def write_file(path, data: bytes, force: bool = False) -> None:
    """Write atomically (temp file + rename); OutputExistsError unless ``force``."""
    try:
        from codec.fileio import atomic_write
    except ImportError:  # pragma: no cover
        atomic_write = None
    if atomic_write is not None:
        atomic_write(path, data, force=force)
        return
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists; pass --force (force=True) to overwrite")
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise OutputError(f"cannot write {p}: {e.strerror or e}") from None
