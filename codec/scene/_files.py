"""Scene-file limits and the file helpers the scene readers and writers share."""

from __future__ import annotations

from codec.fileio import atomic_write, read_bytes

__all__ = ["MAX_SCENE_FILE_BYTES", "MAX_GAUSSIANS", "read_file", "write_file"]

MAX_SCENE_FILE_BYTES = 4 << 30  # 4 GiB: refuse larger inputs before reading them
MAX_GAUSSIANS = 1 << 27  # 134M Gaussians: hard cap on any count read from a header


def read_file(path, max_size: int = MAX_SCENE_FILE_BYTES) -> bytes:
    """All bytes of ``path``; InvalidInputError if unreadable, LimitExceededError if too big."""
    return read_bytes(path, max_size=max_size)


write_file = atomic_write  # temp file + rename; OutputExistsError unless force
