"""Tests for codec.fileio: atomic writes, no clobbering, no leftovers, clear read errors."""

from __future__ import annotations

import errno
import os
import sys

import pytest

from codec import fileio
from codec.errors import (
    CodecError,
    InvalidInputError,
    LimitExceededError,
    OutputError,
    OutputExistsError,
)


def leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_writes_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.gmc"
    fileio.atomic_write(path, b"hello")
    assert path.read_bytes() == b"hello"
    assert leftovers(tmp_path) == []


def test_no_overwrite_without_force(tmp_path):
    path = tmp_path / "out.gmc"
    path.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="already exists .*--force"):
        fileio.atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    fileio.atomic_write(path, b"new", force=True)
    assert path.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_new_file_gets_the_usual_permissions(tmp_path):
    if sys.platform == "win32":
        pytest.skip("POSIX permissions only")
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "out.gmc"
    fileio.atomic_write(path, b"x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


class _FailingFile:
    """Stands in for the temporary file object: accepts nothing, raises ``exc`` on write."""

    def __init__(self, fd, exc):
        self.fd, self.exc = fd, exc

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        os.close(self.fd)

    def write(self, data):
        raise self.exc


@pytest.mark.parametrize("exc, message", [
    (OSError(errno.ENOSPC, "No space left on device"), "no space left"),
    (OSError(errno.EIO, "Input/output error"), "Input/output error"),
    (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
])
@pytest.mark.parametrize("existing", [False, True])
def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, exc, message, existing):
    path = tmp_path / "out.gmc"
    if existing:
        path.write_bytes(b"old")
    monkeypatch.setattr(fileio.os, "fdopen", lambda fd, mode: _FailingFile(fd, exc))
    with pytest.raises(OutputError, match=message):
        fileio.atomic_write(path, b"new data", force=True)
    assert leftovers(tmp_path) == []
    assert (path.read_bytes() == b"old") if existing else not path.exists()


def test_failed_rename_leaves_nothing_behind(tmp_path, monkeypatch):
    def boom(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    monkeypatch.setattr(fileio.os, "replace", boom)
    with pytest.raises(OutputError, match="cannot write"):
        fileio.atomic_write(tmp_path / "out.gmc", b"x")
    assert list(tmp_path.iterdir()) == []


def test_write_errors_for_bad_targets(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        fileio.atomic_write(tmp_path / "missing" / "out.gmc", b"x")
    with pytest.raises(OutputError, match="is a directory"):
        fileio.atomic_write(tmp_path, b"x", force=True)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputError, match="not a directory"):
        fileio.atomic_write(tmp_path / "file" / "out.gmc", b"x")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_permission_denied_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            fileio.atomic_write(locked / "out.gmc", b"x")
    finally:
        locked.chmod(0o700)


def test_read_bytes_and_its_errors(tmp_path):
    path = tmp_path / "in.bin"
    path.write_bytes(b"0123456789")
    assert fileio.read_bytes(path) == b"0123456789"
    assert fileio.read_prefix(path, 4) == b"0123"
    assert fileio.read_bytes(path, max_size=10) == b"0123456789"
    with pytest.raises(LimitExceededError, match="larger than the limit of 9 bytes"):
        fileio.read_bytes(path, max_size=9)
    with pytest.raises(InvalidInputError, match="no such file"):
        fileio.read_bytes(tmp_path / "nope")
    with pytest.raises(InvalidInputError, match="is a directory"):
        fileio.read_bytes(tmp_path)
    with pytest.raises(InvalidInputError, match="no such file"):
        fileio.read_bytes(path / "child")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_read_bytes_stops_at_the_limit_on_endless_files():
    with pytest.raises(LimitExceededError):
        fileio.read_bytes("/dev/zero", max_size=3 << 20)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_read_permission_denied(tmp_path):
    path = tmp_path / "secret"
    path.write_bytes(b"x")
    path.chmod(0)
    try:
        with pytest.raises(InvalidInputError, match="permission denied"):
            fileio.read_bytes(path)
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize("name", ["a.gmc", "kodim23.gmc", ".hidden", "ü.gmc"])
def test_output_path_in_accepts_plain_names(tmp_path, name):
    assert fileio.output_path_in(tmp_path, name) == tmp_path / name


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\\b",
                                  "..\\x", "x\x00y"])
def test_output_path_in_refuses_escapes(tmp_path, name):
    with pytest.raises(InvalidInputError, match="refusing"):
        fileio.output_path_in(tmp_path, name)


def test_output_path_in_refuses_symlink_escape(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    try:
        (out_dir / "link.gmc").symlink_to(outside / "target.gmc")
    except (OSError, NotImplementedError):
        pytest.skip("symlinks not available")
    with pytest.raises(InvalidInputError, match="resolves outside"):
        fileio.output_path_in(out_dir, "link.gmc")


def test_all_errors_are_codec_errors():
    for cls in (InvalidInputError, LimitExceededError, OutputError, OutputExistsError):
        assert issubclass(cls, CodecError)


def test_read_permission_denied_simulated(tmp_path, monkeypatch):
    path = tmp_path / "secret"
    path.write_bytes(b"x")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(fileio, "open", denied, raising=False)
    with pytest.raises(InvalidInputError, match="permission denied: cannot read"):
        fileio.read_bytes(path)
