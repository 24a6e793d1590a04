"""Reading and writing files with errors a person understands.

* :func:`atomic_write` writes to a temporary file in the target directory and renames it into
  place with ``os.replace``, so a reader never sees half a file and a failed write leaves
  nothing behind. It refuses to overwrite unless ``force=True``.
* :func:`read_bytes` / :func:`read_prefix` read with a size limit.
* :func:`output_path_in` joins a directory and a file name without ever leaving the directory.

Every failure a user can cause is a :class:`codec.errors.CodecError` subclass.
"""

from __future__ import annotations

import errno
import os
import secrets
from os import PathLike
from pathlib import Path

from codec.errors import (
    InvalidInputError,
    LimitExceededError,
    OutputError,
    OutputExistsError,
)

__all__ = ["MAX_READ_BYTES", "atomic_write", "read_bytes", "read_prefix", "output_path_in"]

MAX_READ_BYTES = 1 << 32  # default read limit (4 GiB)
_CHUNK = 1 << 20


def _write_error(path: Path, exc: OSError) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"no space left on the device while writing {path}; "
                           "free some space and retry")
    if exc.errno == errno.EDQUOT:
        return OutputError(f"disk quota exceeded while writing {path}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return OutputError(f"permission denied: cannot write {path}")
    if exc.errno == errno.EROFS:
        return OutputError(f"cannot write {path}: the file system is read-only")
    if exc.errno == errno.ENOENT:
        return OutputError(f"output directory does not exist: {path.parent} (create it first)")
    if exc.errno == errno.ENOTDIR:
        return OutputError(f"cannot write {path}: a parent of it is not a directory")
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


def atomic_write(path: str | PathLike, data: bytes, force: bool = False) -> None:
    """Write ``data`` to ``path`` atomically.

    The bytes go to a temporary file next to ``path`` (same directory, hence same file
    system), are flushed with ``fsync`` and then renamed over ``path``. On any failure the
    temporary file is removed and an :class:`OutputError` explains why.

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is False. (The check happens before
            the rename; a file created in between by another process is overwritten.)
        OutputError: missing directory, ``path`` is a directory, permission denied, disk full.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output path is a directory: {path} (give a file name)")
    parent = path.parent
    if not parent.is_dir():
        if parent.exists():
            raise OutputError(f"cannot write {path}: {parent} is not a directory")
        raise OutputError(f"output directory does not exist: {parent} (create it first)")
    if not force and (path.exists() or path.is_symlink()):
        raise OutputExistsError(f"{path} already exists (use --force to overwrite it)")
    tmp = None
    try:
        fd, tmp = _create_temp(parent, path.name)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_directory(parent)
    except IsADirectoryError:
        raise OutputError(f"output path is a directory: {path} (give a file name)") from None
    except OSError as exc:
        raise _write_error(path, exc) from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _fsync_directory(directory: Path) -> None:
    """Best effort: make the rename durable (POSIX); silently skipped where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create_temp(directory: Path, name: str) -> tuple[int, Path]:
    """Create ``.<name>.<random>.tmp`` exclusively; mode 0o666 minus the umask, like open()."""
    for _ in range(100):
        tmp = directory / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                           0o666), tmp
        except FileExistsError:
            continue
    raise OutputError(f"cannot create a temporary file in {directory}")


def _open_for_reading(path: Path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path} is a directory, not a file") from None
    except PermissionError:
        if path.is_dir():  # Windows reports directories this way
            raise InvalidInputError(f"{path} is a directory, not a file") from None
        raise InvalidInputError(f"permission denied: cannot read {path}") from None
    except NotADirectoryError:
        raise InvalidInputError(f"no such file: {path} (a parent is not a directory)") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_bytes(path: str | PathLike, max_size: int = MAX_READ_BYTES) -> bytes:
    """Read a whole file, refusing files larger than ``max_size`` bytes.

    Raises:
        InvalidInputError: missing file, a directory, permission denied, read error.
        LimitExceededError: the file is larger than ``max_size``.
    """
    path = Path(path)
    with _open_for_reading(path) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            if size > max_size:
                raise LimitExceededError(f"{path} is {size} bytes, larger than the limit of "
                                         f"{max_size} bytes")
            # Read in chunks so a special file (pipe, /dev/zero) cannot exceed the limit either.
            chunks, total = [], 0
            while True:
                chunk = f.read(min(_CHUNK, max_size + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > max_size:
                    raise LimitExceededError(f"{path} is larger than the limit of {max_size} bytes")
        except IsADirectoryError:
            raise InvalidInputError(f"{path} is a directory, not a file") from None
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return b"".join(chunks)


def read_prefix(path: str | PathLike, size: int) -> bytes:
    """Read at most the first ``size`` bytes of a file (fewer if the file is shorter)."""
    path = Path(path)
    with _open_for_reading(path) as f:
        try:
            return f.read(size)
        except IsADirectoryError:
            raise InvalidInputError(f"{path} is a directory, not a file") from None
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None


def output_path_in(directory: str | PathLike, name: str) -> Path:
    """``directory / name``, refusing any ``name`` that would leave ``directory``.

    ``name`` must be a plain file name: no path separators, not ``.``/``..``, not absolute,
    no NUL. The result is also checked after resolving symlinks.

    Raises:
        InvalidInputError: the name is not a plain file name or escapes the directory.
    """
    directory = Path(directory)
    bad = (not name or name in (".", "..") or "\x00" in name or "/" in name or "\\" in name
           or os.sep in name or (os.altsep is not None and os.altsep in name)
           or Path(name).is_absolute() or Path(name).drive)
    if bad:
        raise InvalidInputError(f"refusing output name {name!r}: it must be a plain file name "
                                f"inside {directory}")
    out = directory / name
    root = directory.resolve()
    if not out.resolve().is_relative_to(root) or out.resolve() == root:
        raise InvalidInputError(f"refusing to write {out}: it resolves outside {directory}")
    return out
