"""Which Gaussians can go? Significance thresholds against the opacity x volume criterion.

    OMP_NUM_THREADS=1 python benchmarks/scene_prune.py --scenes biker,guitar,plant

For each real scene: the significance of every Gaussian (``codec.scene.prune``: its largest
weight alpha * T in any pixel of 16 reference views), then the default preset's file size and
render PSNR (4 evaluation views at 20 degrees elevation, 512 px, against the unpruned original)
when the Gaussians under each threshold k/255 are dropped, and when the same number is dropped
by lowest opacity x volume instead (the criterion ``--prune`` used before). About 2 minutes of
rendering per scene on one core, plus 4 evaluation renders per row.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_scene import SCENES, Judge  # noqa: E402
from codec.scene import SceneCodec, read  # noqa: E402
from codec.scene.data import sigmoid  # noqa: E402
from codec.scene.prune import significance  # noqa: E402


def volume_order(scene) -> np.ndarray:
    """Indices from least to most opacity x volume."""
    return np.argsort(sigmoid(scene.opacity_logits) * np.exp(scene.log_scales.astype(np.float64).sum(1)),
                      kind="stable")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "scenes")
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--thresholds", default="1,2,4", help="k of the thresholds k/255")
    ap.add_argument("--quality", type=int, default=3)
    args = ap.parse_args(argv)
    codec = SceneCodec(quality=args.quality)
    print("| scene | dropped by | dropped | bytes | B/G | PSNR dB |\n|---|---|---:|---:|---:|---:|")
    for name in args.scenes.split(","):
        scene = read(args.data / SCENES[name])
        n = len(scene)
        t = time.perf_counter()
        w = significance(scene)
        seconds = time.perf_counter() - t
        judge = Judge(scene, 4, 512)

        def row(label: str, keep: np.ndarray) -> None:
            data = codec.encode(scene.subset(np.sort(keep)))
            print(f"| {name} | {label} | {1 - len(keep) / n:.1%} | {len(data):,} | {len(data) / n:.2f} | "
                  f"{judge(codec.decode(data))[0]:.2f} |", flush=True)

        row("nothing", np.arange(n))
        for k in (int(v) for v in args.thresholds.split(",")):
            keep = np.nonzero(w >= k / 255)[0]
            row(f"significance < {k}/255", keep)
            row("same count, opacity x volume", volume_order(scene)[n - len(keep):])
        print(f"({name}: significance of {n:,} Gaussians took {seconds:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
