"""Write a reproducible moving-parts sequence (one scene file per frame) for ``codec stream encode``.

    OMP_NUM_THREADS=1 python benchmarks/make_moving_sequence.py --scene plant --frames 30 -d /tmp/plant_seq
    codec stream encode /tmp/plant_seq -o /tmp/plant.gss --gop 30

The frames come from :func:`codec.stream.generator.moving_sequence`: about ``--moving`` of the
Gaussians in 4 rigid clusters on smooth paths, the rest static; the same ``--seed`` gives the
same files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_stream import SCENE_FILES  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scene", choices=sorted(SCENE_FILES), default="plant")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--moving", type=float, default=0.1, help="fraction of moving Gaussians")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=("ply", "splat", "spz"), default="ply")
    ap.add_argument("-d", "--output-dir", type=Path, required=True)
    ap.add_argument("-f", "--force", action="store_true")
    args = ap.parse_args(argv)
    from codec.scene import read, write
    from codec.stream.generator import moving_sequence

    args.output_dir.mkdir(parents=True, exist_ok=True)
    frames = moving_sequence(read(SCENE_FILES[args.scene]), args.frames, moving_fraction=args.moving, seed=args.seed)
    for i, scene in enumerate(frames):
        write(scene, args.output_dir / f"frame_{i:04d}.{args.format}", force=args.force)
    print(f"{args.output_dir}: {len(frames)} frames of {len(frames[0]):,} Gaussians")
    return 0


if __name__ == "__main__":
    sys.exit(main())
