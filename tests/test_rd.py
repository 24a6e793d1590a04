"""`codec plot` / `codec bdrate` on results files that lack a metric or cover other images (issue 19)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli.main import main
from codec.rd import bd_rate, image_count, load_results, rd_curve

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors" / "compressai-results" / "kodak"
MS_SSIM = [0.90, 0.94, 0.97, 0.985]


def _write(path: Path, results: dict, **extra) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": path.stem, "results": results, **extra}))
    return path


@pytest.fixture
def files(tmp_path):
    bpp = [0.2, 0.4, 0.8, 1.6]
    ours = _write(tmp_path / "ours.json", {"bpp": bpp, "psnr-rgb": [26.0, 28.0, 30.0, 32.0],
                                           "ms-ssim-rgb": MS_SSIM}, images=2)
    db = [-10 * math.log10(1 - m) for m in MS_SSIM]
    # published-anchor style: MS-SSIM in dB only, in a folder named for its dataset
    ssim_only = _write(tmp_path / "kodak" / "paper-x_ms-ssim.json", {"bpp": [b * 1.1 for b in bpp], "ms-ssim-db-rgb": db},
                       meta={"dataset": "kodak"})
    psnr_only = _write(tmp_path / "kodak" / "paper-y_mse.json", {"bpp": bpp, "psnr-rgb": [25.0, 27.0, 29.0, 31.0]})
    return ours, ssim_only, psnr_only


def test_ms_ssim_db_read_from_either_field(files):
    ours, ssim_only, _ = files
    q_lin, _ = rd_curve(load_results(ours), "ms-ssim-db")
    q_db, _ = rd_curve(load_results(ssim_only), "ms-ssim-db-rgb")
    np.testing.assert_allclose(q_lin, q_db)
    # the anchor needs 10% more bits at every MS-SSIM
    assert bd_rate(load_results(ssim_only), load_results(ours), "ms-ssim-db") == pytest.approx(10.0, abs=1e-6)


def test_plot_leaves_out_a_curve_without_the_metric(files, tmp_path, capsys):
    ours, ssim_only, psnr_only = files
    for metric in ("psnr-rgb", "ms-ssim-db"):
        out = tmp_path / f"{metric}.png"
        assert main(["plot", str(ours), str(ssim_only), str(psnr_only), "-o", str(out), "--metric", metric]) == 0
        assert Image.open(out).format == "PNG"
        err = capsys.readouterr().err.strip().splitlines()
        skipped = psnr_only if metric == "ms-ssim-db" else ssim_only
        assert err == [f"codec: warning: {skipped}: no {metric} values, curve left out of the plot"]


def test_plot_with_no_curve_having_the_metric_is_an_error(files, tmp_path, capsys):
    _, _, psnr_only = files
    assert main(["plot", str(psnr_only), "-o", str(tmp_path / "x.png"), "--metric", "ms-ssim-db"]) == 1
    assert "no results file has ms-ssim-db values" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_bdrate_ms_ssim_db_skips_anchor_without_it_and_warns_on_image_counts(files, capsys):
    ours, ssim_only, psnr_only = files
    assert image_count(load_results(ours)) == 2 and image_count(load_results(ssim_only)) == 24
    assert main(["bdrate", "--metric", "ms-ssim-db", str(ours), str(ssim_only), str(psnr_only)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{bd_rate(load_results(ours), load_results(ssim_only), 'ms-ssim-db'):+8.2f} %  vs " \
                          f"paper-x_ms-ssim ({ssim_only})".strip()
    assert f"codec: warning: {psnr_only}: no ms-ssim-db values, skipped" in err
    assert f"codec: warning: {ours} covers 2 images and {ssim_only} 24" in err


def test_bdrate_same_image_count_gives_no_warning(files, tmp_path, capsys):
    ours, _, _ = files
    other = _write(tmp_path / "other.json", load_results(ours)["results"], images=2)
    assert main(["bdrate", str(ours), str(other)]) == 0
    assert capsys.readouterr().err == ""


def test_bdrate_of_a_test_file_without_the_metric_is_an_error(files, capsys):
    _, ssim_only, psnr_only = files
    assert main(["bdrate", str(ssim_only), str(psnr_only)]) == 1
    assert capsys.readouterr().err.startswith("codec: error: ")


@pytest.mark.skipif(not (ANCHORS / "paper-elic2022_ms-ssim.json").exists(), reason="shared anchors not present")
def test_readme_plot_command_on_the_published_anchors(files, tmp_path, capsys):
    ours, _, _ = files
    anchors = sorted(str(p) for p in ANCHORS.glob("*.json"))
    for metric in ("psnr-rgb", "ms-ssim-db"):
        assert main(["plot", str(ours), *anchors, "-o", str(tmp_path / f"{metric}.png"), "--metric", metric]) == 0
        assert "curve left out" in capsys.readouterr().err
        assert main(["bdrate", "--metric", metric, str(ours), *anchors]) == 0
        out = capsys.readouterr().out
        assert "JPEG2000" in out
