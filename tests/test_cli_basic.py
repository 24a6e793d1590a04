"""Tests for the codec command's skeleton: help, version, info, exit codes and error lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli import main as cli_main
from codec import __version__
from codec.container import Container, pack, write_container

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m cli.main ARGS`` in a subprocess (works without ``pip install -e``)."""
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=timeout, check=False)


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "sample.gmc"
    write_container(path, Container("image", {"width": 64, "height": 48, "lambda": 0.01,
                                              "model": "demo", "table": b"\x01\x02"},
                                    (("level0", b"a" * 100), ("level1", b"b" * 7))))
    return path


def assert_one_line_error(proc_or_err: str, *fragments: str) -> None:
    lines = proc_or_err.strip().splitlines()
    assert len(lines) == 1, proc_or_err
    assert lines[0].startswith("codec: error: "), proc_or_err
    assert "Traceback" not in proc_or_err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_help_subprocess():
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert "learned compression" in proc.stdout and "info" in proc.stdout


def test_version_subprocess():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"codec {cli_main.version_string()}"


def test_version_falls_back_to_package_version(monkeypatch):
    import importlib.metadata as md

    def missing(name):
        raise md.PackageNotFoundError(name)
    monkeypatch.setattr(md, "version", missing)
    assert cli_main.version_string() == __version__


def test_info_text_and_json(sample, capsys):
    assert cli_main.main(["info", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "kind:     image" in out and "level0" in out and "width" in out
    assert cli_main.main(["info", "--json", str(sample)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "image" and info["version"] == 1
    assert info["size"] == sample.stat().st_size
    assert info["header"]["width"] == {"type": "i64", "value": 64}
    assert info["header"]["table"] == {"type": "bytes", "value": "0102"}
    assert info["sections"] == [{"name": "level0", "size": 100}, {"name": "level1", "size": 7}]


def test_info_json_has_no_nan_literals(tmp_path, capsys):
    path = tmp_path / "nan.gmc"
    write_container(path, Container("scene", {"x": float("nan"), "y": float("-inf")}))
    assert cli_main.main(["info", "--json", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["header"]["x"]["value"] == "nan" and info["header"]["y"]["value"] == "-inf"


def test_info_subprocess(sample):
    proc = run_cli("info", "--json", str(sample))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sections"][0]["name"] == "level0"


@pytest.mark.parametrize("make_bad, fragment", [
    (lambda p: p.parent / "missing.gmc", "no such file"),
    (lambda p: p.parent, "is a directory"),
    (lambda p: p.write_bytes(p.read_bytes()[:-1]) and p, "truncated: expected"),
    (lambda p: p.write_bytes(b"\x89PNG" + bytes(20)) and p, "not a codec file"),
    (lambda p: p.write_bytes(p.read_bytes()[:-1] + b"!") and p, "checksum mismatch in section"),
    (lambda p: p.write_bytes(pack(Container("image", {}, (), version=7))) and p,
     "unsupported format version 7"),
])
def test_info_errors_in_process(sample, capsys, make_bad, fragment):
    target = make_bad(sample)
    assert cli_main.main(["info", str(target)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, fragment)


def test_info_error_subprocess_has_no_traceback(sample):
    sample.write_bytes(sample.read_bytes()[:20])
    proc = run_cli("info", str(sample))
    assert proc.returncode == 1
    assert_one_line_error(proc.stderr, "truncated")


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert cli_main.main(["--debug", "info", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("codec: error: ")
    assert cli_main.main(["info", "--debug", str(tmp_path / "nope")]) == 1  # after the command
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["bogus"], ["info"], ["info", "a", "b"], ["--nope"],
                                  ["info", "--json=1", "x"]])
def test_usage_errors_exit_2(argv, capsys):
    assert cli_main.main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_usage_error_subprocess():
    proc = run_cli("bogus")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def _interrupt(args):
    raise KeyboardInterrupt


def _bug(args):
    raise ZeroDivisionError("division by zero")


def test_interrupt_exits_130_without_traceback(monkeypatch, sample, capsys):
    import cli.info
    monkeypatch.setattr(cli.info, "run", _interrupt)
    assert cli_main.main(["info", str(sample)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


def test_internal_error_is_one_line_and_says_bug(monkeypatch, sample, capsys):
    import cli.info
    monkeypatch.setattr(cli.info, "run", _bug)
    assert cli_main.main(["info", str(sample)]) == 1
    assert_one_line_error(capsys.readouterr().err, "internal error", "ZeroDivisionError", "bug")


def test_every_command_module_registers():
    parser = cli_main.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) >= {"info"}
    for name in cli_main.COMMAND_MODULES:
        assert callable(__import__(name, fromlist=["register"]).register)


def test_quiet_and_debug_parse_before_and_after_the_command(sample):
    parser = cli_main.build_parser()
    assert parser.parse_args(["info", str(sample)]).quiet is False
    assert parser.parse_args(["-s", "info", str(sample)]).quiet is True
    assert parser.parse_args(["info", "-s", str(sample)]).quiet is True
    assert parser.parse_args(["info", "--quiet", str(sample)]).quiet is True
    assert parser.parse_args(["--debug", "info", str(sample)]).debug is True


def test_output_naming(tmp_path):
    import argparse

    from cli import common

    parser = argparse.ArgumentParser()
    common.add_output_options(parser)
    src = tmp_path / "in" / "kodim23.png"
    assert common.output_path(parser.parse_args([]), src, ".gmc") == tmp_path / "in" / "kodim23.gmc"
    args = parser.parse_args(["-d", str(tmp_path / "out")])
    assert common.output_path(args, src, ".gmc") == tmp_path / "out" / "kodim23.gmc"
    args = parser.parse_args(["-o", str(tmp_path / "x.gmc"), "-f"])
    assert args.force and common.output_path(args, src, ".gmc") == tmp_path / "x.gmc"
    with pytest.raises(common.UsageError, match="single input"):
        common.plan_outputs(args, [src, tmp_path / "b.png"], ".gmc")
    with pytest.raises(SystemExit):
        parser.parse_args(["-o", "a", "-d", "b"])  # exclusive


def test_progress_bar_is_silent_when_quiet_or_not_a_tty(capsys):
    from cli import common

    assert list(common.progress_bar(range(3), desc="x", quiet=True)) == [0, 1, 2]
    assert list(common.progress_bar(range(3), desc="x")) == [0, 1, 2]  # stderr is captured
    with common.progress_bar(total=2, quiet=True) as bar:
        bar.update(2)
    assert capsys.readouterr().err == ""


def test_info_on_a_stream_file_delegates_to_the_stream_reader(tmp_path, capsys):
    from codec.scene import GaussianScene
    from codec.stream import encode_frames

    rng = np.random.default_rng(0)
    n = 64
    scene = GaussianScene(means=rng.normal(size=(n, 3)).astype(np.float32),
                          log_scales=np.full((n, 3), -3, np.float32),
                          quats=np.tile(np.float32([1, 0, 0, 0]), (n, 1)),
                          opacity_logits=np.zeros(n, np.float32), sh_dc=np.zeros((n, 3), np.float32),
                          sh_rest=np.zeros((n, 0, 3), np.float32))
    path = tmp_path / "s.gss"
    encode_frames([scene, scene], path)
    assert cli_main.main(["info", str(path)]) == 0
    assert "stream" in capsys.readouterr().out
