"""Scene codec benchmark: size, render PSNR/SSIM and speed per scene, side by side with SPZ/SOG.

For each real scene in ``../shared/data/scenes`` (converted to a float INRIA .ply, the
"original"): our codec at every preset, SPZ v3 written by our writer, and, when Node.js and
``@playcanvas/splat-transform`` are installed (``make bench-deps``: the version pinned in
``benchmarks/node/package.json``), SPZ v4 and SOG written by splat-transform. Every candidate
is decoded with our readers and rendered with our CPU renderer from the same orbit cameras as
the original; PSNR/SSIM are means over the views. Encode/decode times are wall clock on this
machine in this run (best of ``--repeat``); Gaussians/s = N / decode time. ``--plot`` draws
size against PSNR per scene.

biker, guitar and plant were already quantized (PlayCanvas compressed PLY, .splat) and have
SH degree 0; donut is raw float training output (SH 0); tap has real SH degree 3 but sits on
SPZ's grid (so SPZ is lossless on it). SOG's SH palette is a k-means on the CPU here:
``--sog-iterations`` bounds it (splat-transform's ``-i``; 3.7 has no palette-size option).
``--sh3`` adds synthetic SH degree 3 (a smooth function of position plus noise) on biker.
``--sog SCENE=FILE`` scores a SOG written beforehand (e.g. a long ``-i`` run on tap, whose CPU
k-means takes longer than a benchmark run) instead of running splat-transform's SOG for that
scene. Rows of SH scenes also give the bytes of the SH part: our ``sh_*`` sections, SOG's
``shN`` palette (centroid and label images).

    OMP_NUM_THREADS=1 python benchmarks/bench_scene.py --views 4 --size 512 --repeat 1 \
        --json out/bench_scene.json --plot docs/scene_rd.png

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
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codec.container import unpack  # noqa: E402
from codec.scene import GaussianScene, SceneCodec, read  # noqa: E402
from codec.scene.evaluate import orbit_cameras, psnr, ssim, to_uint8  # noqa: E402
from codec.scene.io_ply import write_inria_ply  # noqa: E402
from codec.scene.io_spz import read_spz, write_spz  # noqa: E402
from codec.scene.presets import PRESETS  # noqa: E402
from codec.scene.render import render  # noqa: E402

SCENES = {"biker": "playcanvas_biker/biker.compressed.ply", "guitar": "playcanvas_guitar/guitar.compressed.ply",
          "plant": "padilla_plant/plant.splat", "donut": "douglas_donut/donut.ply", "tap": "wljs_tap/tap.spz"}
NODE_PREFIX = REPO / "benchmarks" / "node"  # `make bench-deps` installs splat-transform here
SOG_ITERATIONS = 3  # splat-transform -i (default 10): bounds its CPU SH k-means on SH degree 3 scenes


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


def find_splat_transform(prefix: Path) -> list[str] | None:
    """Command for splat-transform, or None (with a message) when it cannot be run."""
    if shutil.which("node") is None:
        print("splat-transform: skipped (Node.js not found)")
        return None
    c = prefix / "node_modules/.bin/splat-transform"
    if c.exists():
        return [str(c)]
    print(f"splat-transform: skipped (not installed in {prefix}; run `make bench-deps`)")
    return None


def run_splat_transform(cmd: list[str], src: Path, dst: Path, options: list[str], timeout: float) -> float | None:
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd + ["-q", "-w", *options, str(src), str(dst)], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"splat-transform {dst.suffix}: did not finish in {timeout:.0f} s")
        return None
    if r.returncode != 0 or not dst.exists():
        print(f"splat-transform {dst.suffix}: failed ({(r.stderr or r.stdout).strip().splitlines()[-1:]})")
        return None
    return time.perf_counter() - t


def read_peer(path: Path, orig: GaussianScene) -> GaussianScene:
    """A splat-transform output read back. Its SPZ v4 writer (3.7) stores the PLY's axes as
    they are where the SPZ spec (and our reader) expects RUB, so an SPZ whose means line up
    with ``orig`` only without the y/z flip is read without it (and the row says so)."""
    scene = read(path)
    if path.suffix != ".spz":
        return scene
    raw = read_spz(path.read_bytes(), to_ply_axes=False)
    miss = lambda s: float(np.abs(np.median(s.means, 0) - np.median(orig.means, 0)).sum())  # noqa: E731
    if miss(raw) < miss(scene):
        print("  (splat-transform's SPZ holds PLY axes: read without the RUB flip)")
        return raw
    return scene


def gsz_sh_bytes(data: bytes) -> int:
    """Bytes of the SH sections (``sh_1`` .. ``sh_3``, or format 1's codebook and index) of a .gsz."""
    return sum(len(b) for name, b in unpack(data, "scene").sections if name.startswith("sh_"))


def sog_sh_bytes(path: Path) -> int:
    """Bytes in a .sog bundle of its SH palette: the members ``meta.json`` names under ``shN``."""
    with zipfile.ZipFile(path) as z:
        files = json.loads(z.read("meta.json")).get("shN", {}).get("files", [])
        return sum(z.getinfo(f).compress_size for f in files)


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

    def add(method: str, size: int, decoded: GaussianScene, enc_s: float | None, dec_s: float | None,
            sh_bytes: int | None = None):
        p, s = judge(decoded)
        rows.append({"scene": name, "method": method, "gaussians": n, "bytes": size, "bytes_per_gaussian": size / n,
                     "ratio_vs_ply": size / ply_size, "psnr": p, "ssim": s, "encode_s": enc_s, "decode_s": dec_s,
                     "decode_gaussians_per_s": (n / dec_s) if dec_s else None, "sh_bytes": sh_bytes})
        print(f"  {method:18s} {size:10d} B {size / n:6.2f} B/G  PSNR {p:6.2f}  SSIM {s:.4f}"
              + (f"  enc {enc_s:.2f}s dec {dec_s:.3f}s ({n / dec_s / 1e6:.2f} MG/s)" if dec_s else "")
              + (f"  SH part {sh_bytes} B ({sh_bytes / n:.2f} B/G)" if sh_bytes else ""), flush=True)

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
            add(f"ours {label}", len(data), dec, te, td, gsz_sh_bytes(data) if scene.sh_degree else None)
    data, te = _best(lambda: write_spz(scene), args.repeat)
    dec, td = _best(lambda: read_spz(data), args.repeat)
    (out / f"{name}.spz").write_bytes(data)
    add("SPZ v3 (our writer)", len(data), dec, te, td)
    given = args.sog.get(name)
    if st_cmd is not None:
        sog = ["-g", "cpu", "-i", str(args.sog_iterations)]
        for ext, label, opts in ((".spz", "SPZ v4 (splat-transform)", []),
                                 (".sog", f"SOG (splat-transform, -i {args.sog_iterations})", sog)):
            if ext == ".sog" and given is not None:
                continue
            dst = out / f"{name}.st{ext}"
            te = run_splat_transform(st_cmd, ply, dst, opts, args.peer_timeout)
            if te is not None:
                add(label, dst.stat().st_size, read_peer(dst, scene), te, None,
                    sog_sh_bytes(dst) if ext == ".sog" and scene.sh_degree else None)
    if given is not None:
        add(f"SOG (splat-transform, {given.name})", given.stat().st_size, read_peer(given, scene), None, None,
            sog_sh_bytes(given) if scene.sh_degree else None)
    return rows


def scene_file(spec: str) -> tuple[str, Path]:
    """``SCENE=FILE`` of ``--sog`` as (scene, path)."""
    name, sep, path = spec.partition("=")
    if not sep or name not in SCENES or not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"expected SCENE=FILE with SCENE one of {', '.join(SCENES)}, got {spec!r}")
    return name, Path(path)


def plot_rd(rows: list[dict], path: Path) -> None:
    """One panel per scene: file size (B per Gaussian) against render PSNR, our presets as a
    curve, every other method as a point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenes = list(dict.fromkeys(r["scene"] for r in rows if "psnr" in r))
    fig, axes = plt.subplots(1, len(scenes), figsize=(4.2 * len(scenes), 3.8), squeeze=False)
    for ax, name in zip(axes[0], scenes):
        mine = [r for r in rows if r["scene"] == name and "psnr" in r]
        ours = sorted((r for r in mine if r["method"].startswith("ours") and "prune" not in r["method"]),
                      key=lambda r: r["bytes"])
        ax.plot([r["bytes_per_gaussian"] for r in ours], [r["psnr"] for r in ours], "o-", label="ours q1..q5")
        for r in ours:
            ax.annotate(r["method"][5:], (r["bytes_per_gaussian"], r["psnr"]), fontsize=7)
        for r in mine:
            if not r["method"].startswith("ours"):
                ax.plot(r["bytes_per_gaussian"], r["psnr"], "s" if "SPZ" in r["method"] else "^", label=r["method"])
        ax.set_title(f"{name} ({mine[0]['gaussians']:,} Gaussians)")
        ax.set_xlabel("bytes per Gaussian")
        ax.set_ylabel("render PSNR vs original (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "scenes")
    ap.add_argument("--out", type=Path, default=None, help="folder for converted files (default: a temp dir)")
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--qualities", default=",".join(map(str, sorted(PRESETS))))
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3, help="timing runs (best of)")
    ap.add_argument("--splat-transform", type=Path, default=NODE_PREFIX,
                    help="npm prefix holding @playcanvas/splat-transform (default benchmarks/node)")
    ap.add_argument("--sog-iterations", type=int, default=SOG_ITERATIONS,
                    help=f"SOG SH palette k-means iterations (splat-transform -i; default {SOG_ITERATIONS})")
    ap.add_argument("--peer-timeout", type=float, default=1800, help="seconds allowed per splat-transform run")
    ap.add_argument("--sog", type=scene_file, action="append", default=[], metavar="SCENE=FILE",
                    help="score this SOG for SCENE instead of running splat-transform's SOG (repeatable)")
    ap.add_argument("--plot", type=Path, default=None, help="PNG of size against PSNR per scene")
    ap.add_argument("--plot-json", type=Path, nargs="+", default=None,
                    help="only plot (to --plot) the rows of these --json outputs; a later file's rows replace "
                         "an earlier file's for the same scene")
    ap.add_argument("--sh3", action="store_true", help="also run synthetic SH degree 3 on biker")
    ap.add_argument("--prune", action="store_true", help="also each quality with significance pruning")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    args.qualities = [int(q) for q in args.qualities.split(",")]
    args.sog = dict(args.sog)
    if args.plot_json:
        runs = [json.loads(f.read_text())["rows"] for f in args.plot_json]
        latest = {r["scene"]: i for i, rows in enumerate(runs) for r in rows}
        plot_rd([r for i, rows in enumerate(runs) for r in rows if latest[r["scene"]] == i], args.plot or Path("scene_rd.png"))
        return 0
    if not args.data.is_dir():
        print(f"scene data not found at {args.data}; nothing to do")
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_scene_"))
    out.mkdir(parents=True, exist_ok=True)
    st_cmd = find_splat_transform(args.splat_transform)
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, views {args.views}, "
          f"{args.size}x{args.size} px (see the docstring for what each scene is)")
    rows = []
    for name in args.scenes.split(","):
        rows += bench_scene(name, read(args.data / SCENES[name]), out, args, st_cmd)
    if args.sh3:
        biker = read(args.data / SCENES["biker"])
        rows += bench_scene("biker-sh3-synthetic", synthetic_sh3(biker), out, args, st_cmd)
    if args.plot:
        plot_rd(rows, args.plot)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"views": args.views, "size": args.size, "rows": rows}, indent=1))
    print("\n| scene | method | bytes | B/G | x ply | PSNR dB | SSIM | decode MG/s | SH part B |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "psnr" not in r:
            continue
        g, sh = r.get("decode_gaussians_per_s"), r.get("sh_bytes")
        print(f"| {r['scene']} | {r['method']} | {r['bytes']:,} | {r['bytes_per_gaussian']:.2f} | "
              f"{r['ratio_vs_ply']:.3f} | {r['psnr']:.2f} | {r['ssim']:.4f} | {f'{g / 1e6:.2f}' if g else '-'} | "
              f"{f'{sh:,}' if sh else '-'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
