"""``benchmarks/plot_learning_curve.py``: PSNR read at fixed rates from train.loop log lines."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from codec.errors import InvalidInputError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import plot_learning_curve as plc  # noqa: E402


def test_psnr_at_interpolates_in_log_rate_and_refuses_to_extrapolate():
    bpp, psnr = [0.1, 0.2, 0.4, 0.8], [20.0, 22.0, 24.0, 26.0]  # 2 dB per doubling: linear in log bpp
    assert plc.psnr_at(bpp[::-1], psnr[::-1], 0.2) == pytest.approx(22.0)
    assert plc.psnr_at(bpp, psnr, 0.4 * math.sqrt(2)) == pytest.approx(25.0)
    assert math.isnan(plc.psnr_at(bpp, psnr, 0.05)) and math.isnan(plc.psnr_at(bpp, psnr, 1.0))


def _val(bpp, psnr):
    return {**{f"bpp_q{q}": b for q, b in enumerate(bpp, 1)}, **{f"psnr_q{q}": p for q, p in enumerate(psnr, 1)}}


def test_reads_validation_lines_and_writes_a_plot(tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    lines = [{"step": 0, "recipe": {"lr": 1e-4}},
             {"step": 100, "elapsed_s": 60.0, "train": {}, "val": _val([0.1, 0.3, 1.2], [21.0, 24.0, 26.0])},
             {"step": 200, "elapsed_s": 150.0, "train": {}, "val": _val([0.1, 0.3, 1.2], [21.5, 24.5, 26.5])}]
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    rows = plc.validation_points(log)
    assert [(m, s) for m, s, _, _ in rows] == [(1.0, 100), (2.5, 200)]
    assert rows[1][3] == [21.5, 24.5, 26.5]
    out = tmp_path / "lc.png"
    assert plc.main([str(log), "--label", "run", "--rates", "0.3", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = capsys.readouterr().out
    assert "24.00" in table and "24.50" in table


def test_a_log_without_validation_is_a_clear_error(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"step": 0, "recipe": {}}) + "\n")
    with pytest.raises(InvalidInputError, match="no validation lines"):
        plc.validation_points(log)
