"""Scene codec benchmark: size, render PSNR/SSIM and speed per scene, side by side with SPZ/SOG.

For each real scene in ``../shared/data/scenes`` (converted to a float INRIA .ply, the
"original"): our codec at every preset, SPZ v3 written by our writer, and, when Node.js and
``@playcanvas/splat-transform`` are available, SPZ v4 and SOG written by splat-transform. Every
candidate is decoded with our readers and rendered with our CPU renderer from the same orbit
cameras as the original; PSNR/SSIM are means over the views. Encode/decode times are wall
clock on this machine in this run (best of ``--repeat``); Gaussians/s = N / decode time.

NOTE: these scenes were already quantized (PlayCanvas compressed PLY, .splat) and have SH
degree 0, so sizes and PSNR are optimistic compared with a freshly trained float scene.
``--sh3`` adds SH degree 3 coverage: synthetic SH (a smooth function of position plus
noise) on the real biker geometry.

    OMP_NUM_THREADS=1 python benchmarks/bench_scene.py --views 8 --size 512 --json out/bench_scene.json

``--prune`` adds each quality with significance pruning (``codec/scene/prune.py``): its 16
reference views are orbits at 5 and 40 degrees elevation, the evaluation's at 20 degrees.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codec.scene import GaussianScene, SceneCodec, read  # noqa: E402
from codec.scene.evaluate import orbit_cameras, psnr, ssim, to_uint8  # noqa: E402
from codec.scene.io_ply import write_inria_ply  # noqa: E402
from codec.scene.io_spz import read_spz, write_spz  # noqa: E402
from codec.scene.presets import PRESETS  # noqa: E402
from codec.scene.render import render  # noqa: E402

SCENES = {"biker": "playcanvas_biker/biker.compressed.ply", "guitar": "playcanvas_guitar/guitar.compressed.ply",
          "plant": "padilla_plant/plant.splat"}


def _best(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


class Judge:
    """Renders of the original from fixed cameras; scores other scenes against them."""

    def __init__(self, orig: GaussianScene, views: int, size: int):
        self.cams = orbit_cameras(orig, views, size)
        self.ref = [to_uint8(render(orig, c)) for c in self.cams]

    def __call__(self, scene: GaussianScene) -> tuple[float, float]:
        imgs = [to_uint8(render(scene, c)) for c in self.cams]
        return (float(np.mean([psnr(a, b) for a, b in zip(self.ref, imgs)])),
                float(np.mean([ssim(a, b) for a, b in zip(self.ref, imgs)])))


def find_splat_transform(prefix: Path | None, install: bool) -> list[str] | None:
    """Command for splat-transform, or None (with a message) when it cannot be run."""
    if shutil.which("node") is None:
        print("splat-transform: skipped (Node.js not found)")
        return None
    candidates = [p / "node_modules/.bin/splat-transform" for p in ([prefix] if prefix else [])]
    candidates.append(REPO / ".cache/splat-transform/node_modules/.bin/splat-transform")
    for c in candidates:
        if c.exists():
            return [str(c)]
    if install and shutil.which("npm"):
        target = prefix or REPO / ".cache/splat-transform"
        subprocess.run(["npm", "install", "--prefix", str(target), "@playcanvas/splat-transform"], check=False)
        c = target / "node_modules/.bin/splat-transform"
        if c.exists():
            return [str(c)]
    print("splat-transform: skipped (not installed; pass --splat-transform DIR or --install)")
    return None


def run_splat_transform(cmd: list[str], src: Path, dst: Path) -> float | None:
    t = time.perf_counter()
    r = subprocess.run(cmd + ["-q", "-w", str(src), str(dst)], capture_output=True, text=True, timeout=1200)
    if r.returncode != 0 or not dst.exists():
        print(f"splat-transform {dst.suffix}: failed ({(r.stderr or r.stdout).strip().splitlines()[-1:]})")
        return None
    return time.perf_counter() - t


def synthetic_sh3(scene: GaussianScene, seed: int = 0) -> GaussianScene:
    """Degree-3 SH: a smooth function of position per coefficient plus 20 % noise, band
    amplitudes 0.15 / 0.08 / 0.04 (typical of trained scenes)."""
    rng = np.random.default_rng(seed)
    m = scene.means.astype(np.float64)
    m = (m - m.mean(0)) / (m.std(0) + 1e-9)
    amp = np.array([0.15] * 3 + [0.08] * 5 + [0.04] * 7)
    freq = rng.normal(0, 1.5, (15, 3, 3))
    phase = rng.uniform(0, 2 * np.pi, (15, 3))
    rest = np.sin(np.einsum("nd,kcd->nkc", m, freq) + phase) * amp[None, :, None]
    rest += rng.normal(0, 0.2, rest.shape) * amp[None, :, None]
    return GaussianScene(scene.means, scene.log_scales, scene.quats, scene.opacity_logits, scene.sh_dc, rest)


def bench_scene(name: str, scene: GaussianScene, out: Path, args, st_cmd) -> list[dict]:
    n = len(scene)
    ply = out / f"{name}.ply"
    ply.write_bytes(write_inria_ply(scene))
    ply_size = ply.stat().st_size
    judge = Judge(scene, args.views, args.size)
    rows = []

    def add(method: str, size: int, decoded: GaussianScene, enc_s: float | None, dec_s: float | None):
        p, s = judge(decoded)
        rows.append({"scene": name, "method": method, "gaussians": n, "bytes": size, "bytes_per_gaussian": size / n,
                     "ratio_vs_ply": size / ply_size, "psnr": p, "ssim": s, "encode_s": enc_s, "decode_s": dec_s,
                     "decode_gaussians_per_s": (n / dec_s) if dec_s else None})
        print(f"  {method:18s} {size:10d} B {size / n:6.2f} B/G  PSNR {p:6.2f}  SSIM {s:.4f}"
              + (f"  enc {enc_s:.2f}s dec {dec_s:.3f}s ({n / dec_s / 1e6:.2f} MG/s)" if dec_s else ""), flush=True)

    rows.append({"scene": name, "method": "float ply", "gaussians": n, "bytes": ply_size,
                 "bytes_per_gaussian": ply_size / n, "ratio_vs_ply": 1.0})
    print(f"{name}: {n} Gaussians, SH degree {scene.sh_degree}, float .ply {ply_size} B", flush=True)
    for q in args.qualities:
        for prune in (False, True) if args.prune else (False,):
            codec = SceneCodec(quality=q, prune=prune)
            # a pruning encode renders 16 views (about a minute): timed once
            data, te = _best(lambda: codec.encode(scene), 1 if prune else args.repeat)
            dec, td = _best(lambda: codec.decode(data), args.repeat)
            label = f"q{q}" + (" --prune" if prune else "")
            (out / f"{name}.{label.replace(' --', '.')}.gsz").write_bytes(data)
            add(f"ours {label}", len(data), dec, te, td)
    data, te = _best(lambda: write_spz(scene), args.repeat)
    dec, td = _best(lambda: read_spz(data), args.repeat)
    (out / f"{name}.spz").write_bytes(data)
    add("SPZ v3 (our writer)", len(data), dec, te, td)
    if st_cmd is not None:
        for ext, label in ((".spz", "SPZ v4 (splat-transform)"), (".sog", "SOG (splat-transform)")):
            dst = out / f"{name}.st{ext}"
            te = run_splat_transform(st_cmd, ply, dst)
            if te is not None:
                add(label, dst.stat().st_size, read(dst), te, None)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "scenes")
    ap.add_argument("--out", type=Path, default=None, help="folder for converted files (default: a temp dir)")
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--qualities", default=",".join(map(str, sorted(PRESETS))))
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3, help="timing runs (best of)")
    ap.add_argument("--splat-transform", type=Path, default=None, help="npm prefix holding @playcanvas/splat-transform")
    ap.add_argument("--install", action="store_true", help="npm install splat-transform into .cache/ if missing")
    ap.add_argument("--sh3", action="store_true", help="also run synthetic SH degree 3 on biker")
    ap.add_argument("--prune", action="store_true", help="also each quality with significance pruning")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    args.qualities = [int(q) for q in args.qualities.split(",")]
    if not args.data.is_dir():
        print(f"scene data not found at {args.data}; nothing to do")
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_scene_"))
    out.mkdir(parents=True, exist_ok=True)
    st_cmd = find_splat_transform(args.splat_transform, args.install)
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, views {args.views}, "
          f"{args.size}x{args.size} px; scenes already quantized, SH degree 0 (see docstring)")
    rows = []
    for name in args.scenes.split(","):
        rows += bench_scene(name, read(args.data / SCENES[name]), out, args, st_cmd)
    if args.sh3:
        biker = read(args.data / SCENES["biker"])
        rows += bench_scene("biker-sh3-synthetic", synthetic_sh3(biker), out, args, st_cmd)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"views": args.views, "size": args.size, "rows": rows}, indent=1))
    print("\n| scene | method | bytes | B/G | x ply | PSNR dB | SSIM | decode MG/s |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "psnr" not in r:
            continue
        g = r.get("decode_gaussians_per_s")
        print(f"| {r['scene']} | {r['method']} | {r['bytes']:,} | {r['bytes_per_gaussian']:.2f} | "
              f"{r['ratio_vs_ply']:.3f} | {r['psnr']:.2f} | {r['ssim']:.4f} | {g / 1e6:.2f} |" if g else
              f"| {r['scene']} | {r['method']} | {r['bytes']:,} | {r['bytes_per_gaussian']:.2f} | "
              f"{r['ratio_vs_ply']:.3f} | {r['psnr']:.2f} | {r['ssim']:.4f} | - |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
