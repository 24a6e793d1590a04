"""The browser player in headless Chromium (Debian ``chromium`` + ``playwright-core`` from the
repository's package-lock.json), served by the stream server on 127.0.0.1.

Python writes the fixtures (a small moving stream, a copy with one damaged frame, a small scene
file and our CPU renderer's image of it for one camera) and serves them; the node tests in
``tests/browser/`` drive the page. ``make test`` installs chromium and playwright-core when they
are missing. Set ``WEB_SCREENSHOT=path.png`` to keep a screenshot of the player.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codec.container import unpack
from codec.scene.codec import SceneCodec
from codec.scene.evaluate import orbit_cameras, to_uint8
from codec.scene.render import render
from codec.stream import encode_frames
from codec.stream.format import RECORD_HEADER_SIZE
from codec.stream.generator import moving_sequence, random_scene
from codec.stream.reader import scan_file
from conftest import running_stream_server
from web_fixtures import sparse_sh_scene

ROOT = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PLAYWRIGHT = ROOT / "node_modules" / "playwright-core"
CAMERA_SIZE = 128

pytestmark = pytest.mark.skipif(
    NODE is None or CHROMIUM is None or not PLAYWRIGHT.is_dir(),
    reason="needs node, Debian's chromium and node_modules/playwright-core (`make test` installs them: "
           "apt-get install chromium, npm ci)")


GUITAR = ROOT.parent / "shared" / "data" / "scenes" / "playcanvas_guitar" / "guitar.compressed.ply"


def _stream_scene():
    """The 4,000 Gaussians of the guitar scan nearest its median (a real scene, small enough for
    software WebGL), or a synthetic scene where the shared data is absent."""
    if not GUITAR.is_file():
        return random_scene(1500, seed=4, sh_degree=1)
    from codec.scene import read

    scene = read(GUITAR)
    dist = np.linalg.norm(scene.means - np.median(scene.means, axis=0), axis=1)
    return scene.subset(np.sort(np.argsort(dist)[:4000]))


def _write_fixtures(folder: Path) -> dict:
    streams = folder / "streams"
    streams.mkdir()
    seq = moving_sequence(_stream_scene(), 12, moving_fraction=0.3, seed=2)
    encode_frames(seq, streams / "moving.gss", fps=30, gop=6, quality=3)
    # the same stream with one byte of frame 3's payload flipped (its CRC no longer matches)
    data = bytearray((streams / "moving.gss").read_bytes())
    _, entries, _ = scan_file(streams / "moving.gss")
    data[entries[3].offset + RECORD_HEADER_SIZE + entries[3].size // 2] ^= 0x40
    (streams / "damaged.gss").write_bytes(bytes(data))
    # a static scene file (format 5: canonical frames, SH 3 with every band flagged) and the CPU
    # renderer's view of it (what `codec scene render` writes)
    scene = SceneCodec(quality=3).encode(sparse_sh_scene(3000, seed=9))
    header = unpack(scene, "scene").header
    assert header["scene_version"] == 5 and header["frame"] == 1
    assert all(header[f"sh_{b}_flagged"] for b in (1, 2, 3))
    (folder / "scene.gsz").write_bytes(scene)
    decoded = SceneCodec.decode_bytes(scene)
    cam = orbit_cameras(decoded, 8, CAMERA_SIZE)[1]
    (folder / "scene_cpu.rgb").write_bytes(to_uint8(render(decoded, cam)).tobytes())
    camera = {"rot": cam.rotation.reshape(-1).tolist(), "trans": cam.translation.tolist(), "fx": cam.fx,
              "fy": cam.fy, "cx": cam.cx, "cy": cam.cy, "width": cam.width, "height": cam.height}
    (folder / "camera.json").write_text(json.dumps(camera))
    return {"frames": len(seq), "keyframes": [e.number for e in entries if e.keyframe]}


def test_player_in_headless_chromium(tmp_path):
    info = _write_fixtures(tmp_path)
    with running_stream_server(tmp_path / "streams") as (base, _app, _loop, _port):
        env = {**os.environ, "BASE_URL": base, "WEB_FIXTURES": str(tmp_path), "CHROMIUM": CHROMIUM,
               "WEB_INFO": json.dumps(info)}
        run = subprocess.run([NODE, "--test", "tests/browser/"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    print("\n".join(line for line in run.stdout.splitlines() if "page vs CPU renderer" in line))
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
