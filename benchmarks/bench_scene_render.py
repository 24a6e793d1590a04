"""Renderer speed: the current CPU renderer against the renderer of commit 52039ef (the peer,
loaded from git history), in the same run, and the wall time of an 8-view ``codec scene eval``.

Per view: time of ``render`` for both renderers on the same camera (alternating, best of
``--repeat``), and the largest absolute difference of their float images. Then one
``codec scene eval ORIG ORIG.gsz --views 8 --size 512`` as a subprocess (quality 3 file
written first), wall clock and CPU seconds. ``--busy`` keeps one more process spinning on a
core for the whole run (the "other core busy" case of the 2-core goal).

    OMP_NUM_THREADS=1 python benchmarks/bench_scene_render.py --views 2 --busy
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codec.scene import SceneCodec, read  # noqa: E402
from codec.scene.evaluate import orbit_cameras  # noqa: E402
from codec.scene.render import render  # noqa: E402

from bench_scene import _best  # noqa: E402  (this folder is on sys.path when run as a script)

PEER_COMMIT = "52039ef"  # the last commit with the per-tile renderer


def load_peer(commit: str):
    """The ``render`` module of ``commit`` (from ``git show``) as a module, or None."""
    r = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:codec/scene/render.py"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"peer renderer: skipped (git show {commit} failed)")
        return None
    path = Path(tempfile.mkdtemp(prefix="peer_render_")) / "render_peer.py"
    path.write_text(r.stdout.replace("from .data import", "from codec.scene.data import"))
    spec = importlib.util.spec_from_file_location("render_peer", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scene", type=Path,
                    default=REPO.parent / "shared/data/scenes/playcanvas_biker/biker.compressed.ply")
    ap.add_argument("--views", type=int, default=2, help="views timed against the peer (of 8 orbit views)")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--busy", action="store_true", help="keep one spinning process running meanwhile")
    ap.add_argument("--no-eval", action="store_true", help="skip the 8-view codec scene eval")
    args = ap.parse_args(argv)
    if not args.scene.exists():
        print(f"scene not found: {args.scene}; nothing to do")
        return 0
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        scene = read(args.scene)
        peer = load_peer(PEER_COMMIT)
        print(f"{args.scene.name}: {len(scene)} Gaussians, {args.size} px, busy core: {bool(busy)}")
        for k, cam in enumerate(orbit_cameras(scene, 8, args.size)[:args.views]):
            new, t_new = _best(lambda: render(scene, cam), args.repeat)
            line = f"  view {k}: this renderer {t_new:.2f} s"
            if peer is not None:
                old, t_old = _best(lambda: peer.render(scene, cam), args.repeat)
                line += f", {PEER_COMMIT} {t_old:.2f} s ({t_old / t_new:.1f}x), max |diff| {(new - old).abs().max():.2g}"
            print(line, flush=True)
        if not args.no_eval:
            with tempfile.TemporaryDirectory() as tmp:
                gsz = Path(tmp) / "scene.gsz"
                gsz.write_bytes(SceneCodec(quality=3).encode(scene))
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "cli.main", "scene", "eval", str(args.scene), str(gsz),
                                "--views", "8", "--size", str(args.size)], cwd=REPO, check=True)
                wall = time.perf_counter() - t
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                print(f"  codec scene eval, 8 views at {args.size} px: {wall:.1f} s wall, {cpu:.1f} s CPU")
    finally:
        if busy is not None:
            busy.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
