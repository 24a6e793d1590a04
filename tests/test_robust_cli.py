"""The command line on bad files and hostile file systems: exit 1 with one line on stderr, no
partial or temporary outputs, no overwrite without --force, outputs never leave -d, and clear
errors for missing files, directories, permission errors and a full disk (simulated: the tests
run as root, so permissions and ENOSPC are injected where the file is opened or synced)."""

from __future__ import annotations

import builtins
import errno
import random
from pathlib import Path

import fuzz_targets as ft
import numpy as np
import pytest
from PIL import Image

from cli.main import main


@pytest.fixture(autouse=True)
def _tiny(tiny_weights, monkeypatch):
    monkeypatch.setenv("GMCODEC_WEIGHTS", str(tiny_weights))
    ft.use_weights(tiny_weights)


@pytest.fixture
def gmc(tmp_path) -> Path:
    """A valid small .gmc made by `codec encode`."""
    src = tmp_path / "src" / "a.png"
    src.parent.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 30, 3), dtype=np.uint8)).save(src)
    assert main(["encode", "-s", "-q", "2", str(src), "-o", str(tmp_path / "a.gmc")]) == 0
    return tmp_path / "a.gmc"


def _one_error_line(capsys, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("codec: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["decode", "{p}"], ["info", "{p}"], ["scene", "info", "{p}"],
                                  ["scene", "decode", "{p}", "-o", "{d}/x.ply"], ["stream", "info", "{p}"],
                                  ["stream", "decode", "{p}", "-d", "{d}/frames"]])
def test_missing_input_is_one_line(tmp_path, capsys, argv):
    missing = tmp_path / "missing.gmc"
    assert main([a.format(p=missing, d=tmp_path) for a in argv]) == 1
    _one_error_line(capsys, "missing.gmc")
    assert _files(tmp_path) == []  # stream decode -d made no folder


@pytest.mark.parametrize("argv", [["info", "{p}"], ["scene", "info", "{p}"], ["stream", "info", "{p}"],
                                  ["scene", "decode", "{p}", "-o", "{d}/x.ply"]])
def test_directory_given_as_a_file(tmp_path, capsys, argv):
    folder = tmp_path / "adir.gsz"
    folder.mkdir()
    assert main([a.format(p=folder, d=tmp_path) for a in argv]) == 1
    _one_error_line(capsys, "directory")


def test_directory_given_as_the_output_file(gmc, tmp_path, capsys):
    (tmp_path / "out.png").mkdir()
    assert main(["decode", "-s", str(gmc), "-o", str(tmp_path / "out.png")]) == 1
    _one_error_line(capsys)
    assert _files(tmp_path / "out.png") == []


def test_unreadable_input_permission_denied(gmc, capsys, monkeypatch):
    real_open = builtins.open

    def deny(path, *args, **kwargs):
        if str(path) == str(gmc):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    assert main(["decode", "-s", str(gmc)]) == 1
    _one_error_line(capsys, "permission denied")
    assert not gmc.with_suffix(".png").exists()


# -- outputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("errno_, message", [(errno.ENOSPC, "no space left"), (errno.EACCES, "permission denied"),
                                             (errno.EROFS, "read-only"), (errno.EDQUOT, "quota")])
def test_write_failures_leave_nothing_behind(gmc, tmp_path, capsys, monkeypatch, errno_, message):
    import codec.fileio

    def fail(fd):
        raise OSError(errno_, "injected")

    monkeypatch.setattr(codec.fileio.os, "fsync", fail)  # after the bytes went to the temp file
    before = _files(tmp_path)
    assert main(["decode", "-s", str(gmc)]) == 1
    _one_error_line(capsys, message)
    assert _files(tmp_path) == before  # no output, no .tmp


def test_full_disk_during_encode_keeps_the_old_output(gmc, tmp_path, capsys, monkeypatch):
    import codec.fileio

    old = gmc.read_bytes()
    monkeypatch.setattr(codec.fileio.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    assert main(["encode", "-s", "--force", str(tmp_path / "src" / "a.png"), "-o", str(gmc)]) == 1
    _one_error_line(capsys, "no space left")
    assert gmc.read_bytes() == old and _files(tmp_path) == ["a.gmc", "src"]


def test_no_overwrite_without_force_for_every_writer(gmc, tmp_path, capsys):
    out = tmp_path / "a.png"
    out.write_bytes(b"keep")
    assert main(["decode", "-s", str(gmc)]) == 1
    _one_error_line(capsys, "exists")
    assert out.read_bytes() == b"keep"
    pytest.importorskip("codec.scene.codec")
    from codec.scene.codec import SceneCodec

    gsz = tmp_path / "s.gsz"
    gsz.write_bytes(SceneCodec().encode(ft.small_scene(20, 0, 1)))
    (tmp_path / "s.ply").write_bytes(b"keep")
    assert main(["scene", "decode", str(gsz), "-o", str(tmp_path / "s.ply")]) == 1
    _one_error_line(capsys, "exists")
    assert (tmp_path / "s.ply").read_bytes() == b"keep"


def test_output_symlink_inside_d_pointing_outside_is_refused(gmc, tmp_path, capsys):
    """A link planted in -d that points outside is refused, with or without --force; the file
    it points to is never written."""
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"precious")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "a.png").symlink_to(outside)
    for force in ([], ["--force"]):
        assert main(["decode", "-s", *force, str(gmc), "-d", str(out_dir)]) == 1
        _one_error_line(capsys, "outside")
        assert outside.read_bytes() == b"precious" and (out_dir / "a.png").is_symlink()


def test_batch_with_a_bad_file_writes_the_good_ones_only(gmc, tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.gmc").write_bytes(gmc.read_bytes())
    (inputs / "bad.gmc").write_bytes(gmc.read_bytes()[:-3])
    out = tmp_path / "out"
    out.mkdir()
    assert main(["decode", "-s", str(inputs), "-d", str(out)]) == 1
    _one_error_line(capsys, "bad.gmc", "truncated")
    assert _files(out) == ["good.png"]


# -- damaged files through every decoding command (a small deterministic fuzz) ---------------


def _damaged(seeds: list[bytes], count: int, seed: int, prepare=lambda d: d) -> list[bytes]:
    rng = random.Random(seed)
    return [prepare(ft.mutate(rng.choice(seeds), rng, seeds)) for _ in range(count)]


def _commands():
    yield "image", ".gmc", lambda p, d: ["decode", "-s", str(p), "-o", str(d / "out.png")], \
        lambda: ft.get_target("image").seeds(), ft.fix_container_crcs
    yield "info", ".gmc", lambda p, d: ["info", str(p)], lambda: ft.get_target("image").seeds(), lambda x: x
    if not ft.get_target("scene-codec").available():
        yield "scene", ".gsz", lambda p, d: ["scene", "decode", str(p), "-o", str(d / "out.ply")], \
            lambda: ft.get_target("scene-codec").seeds(), ft.fix_container_crcs
    if not ft.get_target("scene-spz").available():
        yield "scene-spz", ".spz", lambda p, d: ["scene", "convert", str(p), str(d / "out.ply")], \
            lambda: ft.get_target("scene-spz").seeds()[:2], lambda x: x
    if not ft.get_target("stream").available():
        yield "stream", ".gss", lambda p, d: ["stream", "decode", "-s", str(p), "-d", str(d / "frames")], \
            lambda: ft.get_target("stream").seeds(), ft.fix_stream_crcs


@pytest.mark.parametrize("name, suffix, argv, seeds, prepare", [pytest.param(*c, id=c[0]) for c in _commands()])
def test_damaged_files_exit_1_with_one_line_and_no_output(tmp_path, capsys, name, suffix, argv, seeds, prepare):
    for i, data in enumerate(_damaged(seeds(), 25, seed=sum(map(ord, name)))):
        data = prepare(data)
        work = tmp_path / f"case{i}"
        work.mkdir()
        path = work / f"in{suffix}"
        path.write_bytes(data)
        code = main(argv(path, work))
        err = capsys.readouterr().err
        assert code in (0, 1), (i, code, err)
        if code == 1:
            assert err.startswith("codec: error:") and err.count("\n") == 1, (i, err)
            assert "internal error" not in err and "Traceback" not in err, (i, err)
            leftovers = [p.name for p in work.rglob("*") if p.is_file() and p.name != path.name
                         and p.parent.name != "frames"]
            assert leftovers == [], (i, leftovers)
        assert not [p for p in work.rglob("*.tmp")], i
