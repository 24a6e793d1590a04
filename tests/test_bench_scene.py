"""Helpers of the scene benchmarks (``benchmarks/bench_scene.py``, ``bench_scene_decode.py``):
SH part sizes, the ``--sog`` argument, decode timing and the rANS share."""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import pytest

from codec.container import unpack
from codec.scene import SceneCodec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_scene  # noqa: E402
import bench_scene_decode  # noqa: E402

FIXTURE = Path(__file__).parent / "scene_fixtures" / "v2_sh3.gsz"


def test_gsz_sh_bytes_counts_the_sh_sections():
    data = FIXTURE.read_bytes()
    sections = dict(unpack(data, "scene").sections)
    assert bench_scene.gsz_sh_bytes(data) == sum(len(sections[f"sh_{b}"]) for b in (1, 2, 3)) > 0


def test_sog_sh_bytes_counts_the_shn_members(tmp_path):
    path = tmp_path / "a.sog"
    meta = {"version": 2, "count": 1, "shN": {"files": ["shN_centroids.webp", "shN_labels.webp"]}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("meta.json", json.dumps(meta))
        z.writestr("means_l.webp", b"x" * 100)
        z.writestr("shN_centroids.webp", b"c" * 30)
        z.writestr("shN_labels.webp", b"l" * 12)
    assert bench_scene.sog_sh_bytes(path) == 42  # stored members: compressed size = size
    meta.pop("shN")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("meta.json", json.dumps(meta))
    assert bench_scene.sog_sh_bytes(path) == 0


def test_sog_argument(tmp_path):
    f = tmp_path / "tap.sog"
    f.write_bytes(b"")
    assert bench_scene.scene_file(f"tap={f}") == ("tap", f)
    for bad in (str(f), f"nosuch={f}", f"tap={tmp_path / 'missing.sog'}"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench_scene.scene_file(bad)


def test_decode_timing_and_rans_share():
    data = FIXTURE.read_bytes()
    times = bench_scene_decode.best_times({"ours": lambda: SceneCodec.decode_bytes(data)}, 2)
    wall, cpu = times["ours"]
    assert wall > 0 and cpu > 0
    share = bench_scene_decode.rans_share(lambda: SceneCodec.decode_bytes(data), runs=1)
    assert 0 < share < 1
    assert bench_scene_decode.rans_share(lambda: sum(range(1000)), runs=1) == 0
