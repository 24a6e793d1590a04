"""``codec stream ...``: exit codes, outputs and one-line errors (in-process, plus one served
stream played from a subprocess server on 127.0.0.1)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.main import main
from codec.scene import write
from codec.stream.generator import moving_sequence, random_scene

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    for i, scene in enumerate(moving_sequence(random_scene(800, seed=5), 6, amplitude=0.1)):
        write(scene, folder / f"f{i:03d}.ply")
    return folder


@pytest.fixture(scope="module")
def encoded(frames_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("enc") / "s.gss"
    assert main(["stream", "encode", str(frames_dir), "-o", str(out), "--gop", "3", "-q"]) == 0
    return out


def _one_error(err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codec: error: ") and fragment in lines[0], err


def test_encode_info_decode(encoded, tmp_path, capsys):
    capsys.readouterr()
    assert main(["stream", "info", str(encoded), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == 6 and info["keyframes"] == 2 and info["indexed"] and info["gop"] == 3
    assert main(["stream", "info", str(encoded)]) == 0
    assert "checksums: ok" in capsys.readouterr().out
    out_dir = tmp_path / "dec"
    assert main(["stream", "decode", str(encoded), "-d", str(out_dir), "--format", "splat", "-q"]) == 0
    assert len(list(out_dir.glob("frame_*.splat"))) == 6
    assert main(["stream", "decode", str(encoded), "-d", str(out_dir), "--format", "splat", "-q"]) == 1
    _one_error(capsys.readouterr().err, "already exists")


def test_error_exit_codes(frames_dir, encoded, tmp_path, capsys):
    assert main(["stream", "encode", str(frames_dir), "-o", str(encoded)]) == 1
    _one_error(capsys.readouterr().err, "--force")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["stream", "encode", str(empty), "-o", str(tmp_path / "e.gss")]) == 1
    _one_error(capsys.readouterr().err, "no frame files")
    assert main(["stream", "encode", str(frames_dir), "-o", str(tmp_path / "q.gss"), "-Q", "9"]) == 1
    _one_error(capsys.readouterr().err, "quality")
    bad = tmp_path / "bad.gss"
    data = bytearray(encoded.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    assert main(["stream", "info", str(bad)]) == 1
    _one_error(capsys.readouterr().err, "checksum")
    bad.write_bytes(bytes(data[: len(data) // 3]))
    assert main(["stream", "decode", str(bad), "-d", str(tmp_path / "d2")]) == 1
    _one_error(capsys.readouterr().err, "truncated")
    assert main(["stream", "info", str(tmp_path / "missing.gss")]) == 1
    _one_error(capsys.readouterr().err, "no such file")
    assert main(["stream", "decode", str(encoded)]) == 2  # -d is required
    assert main(["stream"]) == 2
    capsys.readouterr()
    assert main(["stream", "play", "ftp://example/streams/x"]) == 1
    _one_error(capsys.readouterr().err, "not a stream URL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_and_play(encoded, capsys):
    pytest.importorskip("aiohttp")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "stream", "serve", str(encoded), "--port", str(port)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/streams/{encoded.stem}"
        capsys.readouterr()
        assert main(["stream", "play", url, "--frames", "4"]) == 0
        out = capsys.readouterr().out.strip().splitlines()
        assert len(out) == 5 and out[0].startswith("frame     0 key") and "dropped 0" in out[-1]
        assert "stopped early" not in out[-1]  # it stopped where it was asked to
        assert main(["stream", "play", url, "--frames", "6"]) == 0  # all of the stream, no more
        out = capsys.readouterr().out.strip().splitlines()
        assert out[-1].startswith("6 frames") and "stopped early" not in out[-1]
        assert main(["stream", "play", url]) == 0
        assert "6 frames" in capsys.readouterr().out
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.stdout.read().decode().startswith(f"serving {encoded} on http://127.0.0.1:{port}/streams")


def test_serve_says_serving_only_once_it_serves(encoded, tmp_path, capsys):
    pytest.importorskip("aiohttp")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        capsys.readouterr()
        assert main(["stream", "serve", str(encoded), "--port", str(port)]) == 1
        captured = capsys.readouterr()
        assert "serving" not in captured.out
        _one_error(captured.err, f"cannot listen on 127.0.0.1:{port}: Address already in use")
    assert main(["stream", "serve", str(tmp_path / "missing"), "--port", str(port)]) == 1
    captured = capsys.readouterr()
    assert "serving" not in captured.out
    _one_error(captured.err, "no such file")
