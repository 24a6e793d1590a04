"""The canonical frame of scene format 5 against the input's frame, same presets, same run.

For each scene of ``bench_scene.SCENES`` and each ``--qualities`` preset: encode with
``reframe=False`` (the input's axes, smallest-three rotations: a stream's keyframes) and with
the default ``reframe=True`` (``codec/scene/frame.py``), decode, and score both renders against
the original's from the same orbit cameras (``bench_scene.Judge``). Prints bytes, PSNR and the
change in size and PSNR of the canonical frame.

    OMP_NUM_THREADS=1 python benchmarks/bench_scene_frame.py --views 2 --qualities 1,3,5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codec.scene import SceneCodec, read  # noqa: E402

from bench_scene import SCENES, Judge  # noqa: E402  (this folder is on sys.path when run as a script)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "scenes")
    ap.add_argument("--scenes", default=",".join(SCENES), help="comma-separated names of bench_scene.SCENES")
    ap.add_argument("--qualities", default="1,3,5")
    ap.add_argument("--views", type=int, default=2)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args(argv)
    rows = []
    print(f"{'scene':8s} {'q':>2s} {'input frame B':>14s} {'dB':>6s} {'canonical B':>12s} {'dB':>6s} "
          f"{'size':>8s} {'PSNR':>7s}")
    for name in args.scenes.split(","):
        scene = read(args.data / SCENES[name])
        judge = Judge(scene, args.views, args.size)
        for q in (int(x) for x in args.qualities.split(",")):
            row = {"scene": name, "quality": q}
            for label, reframe in (("input", False), ("canonical", True)):
                codec = SceneCodec(quality=q, reframe=reframe)
                data = codec.encode(scene)
                row[f"{label}_bytes"] = len(data)
                row[f"{label}_psnr"] = judge(codec.decode(data))[0]
            rows.append(row)
            print(f"{name:8s} {q:2d} {row['input_bytes']:14,d} {row['input_psnr']:6.2f} {row['canonical_bytes']:12,d} "
                  f"{row['canonical_psnr']:6.2f} {100 * (row['canonical_bytes'] / row['input_bytes'] - 1):+7.2f}% "
                  f"{row['canonical_psnr'] - row['input_psnr']:+6.2f}", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
