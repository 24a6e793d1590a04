"""``codec scene ...`` end to end on a small synthetic scene: exit codes, outputs, no overwrite."""

import json

import numpy as np
import pytest

from cli.main import main
from codec.scene import read, write
from codec.scene.data import GaussianScene


@pytest.fixture()
def ply(tmp_path):
    rng = np.random.default_rng(5)
    n = 400
    s = GaussianScene(rng.normal(0, 0.5, (n, 3)), rng.uniform(-4, -2, (n, 3)), rng.normal(size=(n, 4)),
                      rng.normal(1, 1, n), rng.normal(0, 1, (n, 3)), rng.normal(0, 0.1, (n, 3, 3)))
    p = tmp_path / "s.ply"
    write(s, p)
    return p


def test_encode_decode_info_convert(ply, tmp_path, capsys):
    gsz = tmp_path / "s.gsz"
    assert main(["scene", "encode", str(ply), "-o", str(gsz), "--quality", "2"]) == 0
    assert gsz.stat().st_size < ply.stat().st_size / 3
    assert main(["scene", "encode", str(ply), "-o", str(gsz)]) == 1  # exists, no --force
    assert "exists" in capsys.readouterr().err
    assert main(["scene", "encode", str(ply), "-o", str(gsz), "--force", "--quality", "4"]) == 0
    out = tmp_path / "back.ply"
    assert main(["scene", "decode", str(gsz), "-o", str(out)]) == 0
    assert read(out).sh_degree == 1
    assert main(["scene", "convert", str(ply), str(tmp_path / "s.spz")]) == 0
    assert main(["scene", "convert", str(tmp_path / "s.spz"), str(tmp_path / "s.splat")]) == 0
    assert len(read(tmp_path / "s.splat")) == 400
    capsys.readouterr()
    assert main(["scene", "info", str(gsz), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sh_degree"] == 1 and "pos_x" in info["sections"]


def test_render_and_eval(ply, tmp_path, capsys):
    png = tmp_path / "v.png"
    assert main(["scene", "render", str(ply), "-o", str(png), "--camera", "orbit:1", "--size", "64"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    gsz = tmp_path / "s.gsz"
    assert main(["scene", "encode", str(ply), "-o", str(gsz), "-s"]) == 0
    capsys.readouterr()
    assert main(["scene", "eval", str(ply), str(gsz), "--views", "2", "--size", "64", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["psnr"] > 30 and res["attributes"]["means"]["max"] < 1e-2 and res["ratio"] < 0.6


def test_errors_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.spz"
    bad.write_bytes(b"\x1f\x8b garbage")
    assert main(["scene", "info", str(bad)]) == 1
    assert main(["scene", "decode", str(tmp_path / "missing.gsz"), "-o", str(tmp_path / "x.ply")]) == 1
    assert main(["scene", "convert", str(bad), str(tmp_path / "x.xyz")]) == 1
    assert main(["scene", "render", str(bad), "-o", str(tmp_path / "x.png"), "--camera", "orbit:1"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("codec: error:") == 4


@pytest.mark.parametrize("argv, fragment", [
    (["render", "{s}", "-o", "{d}/x.png", "--size", "0"], "--size: must be 16..2048, got 0"),
    (["render", "{s}", "-o", "{d}/x.png", "--size", "-5"], "--size: must be 16..2048, got -5"),
    (["render", "{s}", "-o", "{d}/x.png", "--size", "8"], "--size: must be 16..2048, got 8"),
    (["render", "{s}", "-o", "{d}/x.png", "--size", "20000"], "--size: must be 16..2048, got 20000"),
    (["eval", "{s}", "{s}", "--size", "0"], "--size: must be 16..2048"),
    (["eval", "{s}", "{s}", "--size", "8"], "--size: must be 16..2048"),
    (["eval", "{s}", "{s}", "--size", "20000"], "--size: must be 16..2048"),
    (["eval", "{s}", "{s}", "--views", "0"], "--views: must be 1 or more"),
    (["render", "{s}", "-o", "{d}/x.png", "--camera", "orbit:1/0"], "the number of orbit views, at least 1, got 0"),
    (["render", "{s}", "-o", "{d}/x.png", "--camera", "orbit:8"], "K must be 0..7 for 8 orbit views, got 8"),
    (["render", "{s}", "-o", "{d}/x.png", "--camera", "orbit:3/3"], "K must be 0..2 for 3 orbit views"),
    (["render", "{s}", "-o", "{d}/x.png", "--camera", "bogus"], "use orbit:K"),
])
def test_render_and_eval_options_are_usage_errors(ply, tmp_path, capsys, argv, fragment):
    before = sorted(tmp_path.iterdir())
    assert main(["scene", *(a.format(s=ply, d=tmp_path) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "internal error" not in err and "Traceback" not in err, err
    assert sorted(tmp_path.iterdir()) == before


def test_library_size_checks_are_codec_errors(ply):
    from codec.errors import InvalidInputError
    from codec.scene.evaluate import evaluate, orbit_cameras

    scene = read(ply)
    with pytest.raises(InvalidInputError, match="SSIM window"):
        evaluate(scene, scene, views=1, size=8)
    with pytest.raises(InvalidInputError, match="size must be >= 1"):
        orbit_cameras(scene, 1, 0)


def test_scene_files_are_recognised_by_content_not_name(ply, tmp_path, capsys):
    gsz = tmp_path / "s.gsz"
    assert main(["scene", "encode", "-s", str(ply), "-o", str(gsz), "-q", "2"]) == 0
    for name in ("s.bin", "s.gsc", "noext"):
        (tmp_path / name).write_bytes(gsz.read_bytes())
        out = tmp_path / f"{name}.ply"
        assert main(["scene", "decode", str(tmp_path / name), "-o", str(out)]) == 0
        assert len(read(out)) == 400
    capsys.readouterr()
    assert main(["scene", "info", "--json", str(tmp_path / "s.gsc")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["quality"] == 2 and "pos_x" in info["sections"]
    assert main(["scene", "eval", str(ply), str(tmp_path / "s.bin"), "--views", "1", "--size", "32", "--json"]) == 0
    assert "attributes" in json.loads(capsys.readouterr().out)  # aligned as a .gsz of ORIG
    (tmp_path / "p.splat").write_bytes(ply.read_bytes())  # a PLY under another format's name
    assert len(read(tmp_path / "p.splat")) == 400


def test_files_that_are_not_scenes_say_what_they_are(tmp_path, capsys):
    from codec.container import Container, pack

    (tmp_path / "img.gsz").write_bytes(pack(Container("image", {}, ())))
    (tmp_path / "junk.xyz").write_bytes(b"junk data")
    assert main(["scene", "decode", str(tmp_path / "img.gsz"), "-o", str(tmp_path / "x.ply")]) == 1
    assert "this is an image file, not a scene (use codec decode)" in capsys.readouterr().err
    assert main(["scene", "info", str(tmp_path / "junk.xyz")]) == 1
    assert "not a scene file (it starts with b'junk')" in capsys.readouterr().err
    assert not (tmp_path / "x.ply").exists()


def test_encode_prune_reports_what_it_dropped(tmp_path, capsys):
    rng = np.random.default_rng(6)
    n = 60
    opacity = np.where(np.arange(n) < 10, -8.0, 3.0)  # ten under 1/255: nothing can see them
    s = GaussianScene(rng.normal(0, 1, (n, 3)), np.full((n, 3), -5.0), rng.normal(size=(n, 4)), opacity,
                      rng.normal(0, 1, (n, 3)))
    ply, gsz = tmp_path / "p.ply", tmp_path / "p.gsz"
    write(s, ply)
    assert main(["scene", "encode", str(ply), "-o", str(gsz), "--prune"]) == 0
    assert "(10 pruned)" in capsys.readouterr().out and len(read(gsz)) == n - 10
