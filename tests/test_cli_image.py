"""`codec encode` / `decode` / `eval` / `plot` / `bdrate` and `make demo`'s script (tiny model)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cli.main import main


@pytest.fixture(autouse=True)
def _tiny(tiny_weights, monkeypatch):
    monkeypatch.setenv("GMCODEC_WEIGHTS", str(tiny_weights))


def _write_png(path, size=(48, 40), seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def test_encode_decode_default_names_and_report(tmp_path, capsys):
    src = _write_png(tmp_path / "a.png")
    assert main(["encode", "-s", "-q", "2", str(src)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "a.gmc").exists() and "bpp" in out and "a.gmc" in out
    (tmp_path / "a.png").rename(tmp_path / "orig.png")
    assert main(["decode", "-s", str(tmp_path / "a.gmc")]) == 0
    assert Image.open(tmp_path / "a.png").size == (48, 40)


def test_no_overwrite_without_force(tmp_path, capsys):
    src = _write_png(tmp_path / "a.png")
    (tmp_path / "a.gmc").write_bytes(b"keep me")
    assert main(["encode", "-s", str(src)]) == 1
    assert "exists" in capsys.readouterr().err
    assert (tmp_path / "a.gmc").read_bytes() == b"keep me"
    assert main(["encode", "-s", "--force", str(src)]) == 0
    assert (tmp_path / "a.gmc").read_bytes() != b"keep me"


def test_directory_glob_and_output_dir(tmp_path):
    for i in range(3):
        _write_png(tmp_path / f"img{i}.png", seed=i)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["encode", "-s", "--jobs", "2", str(tmp_path), "-d", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["img0.gmc", "img1.gmc", "img2.gmc"]
    dec = tmp_path / "dec"
    dec.mkdir()
    assert main(["decode", "-s", str(out / "*.gmc"), "-d", str(dec)]) == 0
    assert len(list(dec.glob("*.png"))) == 3


def test_decode_lower_quality_prefix(tmp_path):
    src = _write_png(tmp_path / "a.png", size=(64, 64))
    main(["encode", "-s", "-q", "3", str(src)])
    assert main(["decode", "-s", "-q", "1", str(tmp_path / "a.gmc"), "-o", str(tmp_path / "low.png")]) == 0
    assert Image.open(tmp_path / "low.png").size == (64, 64)


@pytest.mark.parametrize("content", [b"", b"GMCI\x01\x00garbage", b"not an image at all"])
def test_corrupt_inputs_exit_1_one_line_no_output(tmp_path, capsys, content):
    bad = tmp_path / "bad.gmc"
    bad.write_bytes(content)
    assert main(["decode", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("codec: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "bad.png").exists()
    (tmp_path / "enc").mkdir()
    img = tmp_path / "enc" / "bad.png"
    img.write_bytes(content)
    assert main(["encode", str(img)]) == 1
    assert "bad.png" in capsys.readouterr().err and not (tmp_path / "enc" / "bad.gmc").exists()


def test_missing_input_and_bad_quality(tmp_path, capsys):
    assert main(["encode", str(tmp_path / "nope.png")]) == 1
    assert "nope.png" in capsys.readouterr().err
    src = _write_png(tmp_path / "a.png")
    assert main(["encode", "-q", "99", str(src)]) == 2  # a usage error
    assert "quality" in capsys.readouterr().err and not (tmp_path / "a.gmc").exists()


def test_eval_plot_bdrate(tmp_path, capsys):
    data = tmp_path / "set"
    data.mkdir()
    for i in range(2):
        _write_png(data / f"{i}.png", size=(40, 32), seed=i)
    res = tmp_path / "r.json"
    assert main(["eval", "-s", str(data), "--out", str(res)]) == 0
    doc = json.loads(res.read_text())
    assert set(doc["results"]) == {"psnr-rgb", "ms-ssim-rgb", "bpp", "encoding_time", "decoding_time"}
    assert len(doc["results"]["bpp"]) == 3 and all(b > 0 for b in doc["results"]["bpp"])
    assert (tmp_path / "r.csv").read_text().count("\n") == 1 + 2 * 3
    assert main(["plot", str(res), str(res), "-o", str(tmp_path / "rd.png")]) == 0
    assert Image.open(tmp_path / "rd.png").format == "PNG"
    capsys.readouterr()
    assert main(["bdrate", str(res), str(res)]) == 0
    assert "+0.00 %" in capsys.readouterr().out


def test_demo_script_runs(capsys, monkeypatch, tmp_path):
    from cli import demo

    monkeypatch.setattr(demo, "OUT", tmp_path / "demo")
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert "q3" in out and "bpp" in out and (tmp_path / "demo" / "kodim23.q1.png").exists()


def test_encode_and_eval_with_refinement(tmp_path, capsys):
    src = _write_png(tmp_path / "a.png", size=(48, 32))
    assert main(["encode", "-s", "--refine", "3", str(src)]) == 0
    assert main(["decode", "-s", "-o", str(tmp_path / "out.png"), str(tmp_path / "a.gmc")]) == 0
    assert Image.open(tmp_path / "out.png").size == (48, 32)
    assert main(["encode", "--refine", "-2", "-o", str(tmp_path / "b.gmc"), str(src)]) == 1
    err = capsys.readouterr().err
    assert "refine" in err and err.count("\n") == 1 and not (tmp_path / "b.gmc").exists()
    res = tmp_path / "r.json"
    data = tmp_path / "set"
    data.mkdir()
    _write_png(data / "c.png", size=(40, 32))
    assert main(["eval", "-s", "-q", "1", "--refine", "2", str(data), "--out", str(res)]) == 0
    assert "refinement 2 steps" in json.loads(res.read_text())["description"]
    assert main(["eval", "-s", "--model", "no-such-model", str(data), "--out", str(tmp_path / "s.json")]) == 1
    assert "no-such-model" in capsys.readouterr().err and not (tmp_path / "s.json").exists()
