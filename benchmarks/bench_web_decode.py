"""Browser-decoder speed: the JavaScript decoder (Node) beside the Python decoder, same run.

Usage (2 shared CPU cores; one thread for Python)::

    OMP_NUM_THREADS=1 python benchmarks/bench_web_decode.py                 # biker, 10 frames
    OMP_NUM_THREADS=1 python benchmarks/bench_web_decode.py --stream /tmp/biker.gss --repeat 5

It builds (or reuses, ``--stream``) a moving-parts sequence of a real scene (the frames of
``benchmarks/make_moving_sequence.py``: :func:`codec.stream.generator.moving_sequence`,
``--moving`` of the Gaussians in 4 rigid clusters) coded as one group (keyframe + deltas), then
times, fastest of ``--repeat`` runs each after ``--warmup`` untimed runs (both languages; the
JS side also reports its very first keyframe decode, before V8 has compiled the decoder):

* Python: ``SceneCodec.decode_bytes`` of the keyframe, ``decode_delta`` of each delta frame;
* JavaScript (``bench_web_decode.mjs`` in Node, the player's modules): the keyframe, each delta
  frame, the texture packing of a whole frame (after a keyframe) and of the rows a delta frame
  changed (what the decode worker does per delta), and the sort worker's 16-bit counting sort.

Goals (issue 18): keyframe <= 300 ms, delta frame <= 10 ms, sort <= 8 ms for 150k Gaussians.
Timings on a shared machine are only comparable within one run (the ratio column).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_stream import SCENE_FILES  # noqa: E402


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000.0


def python_times(path: Path, repeat: int, warmup: int) -> dict:
    from codec.scene.codec import SceneCodec
    from codec.stream.reader import FileSource
    from codec.stream.residual import DeltaState, decode_delta

    src = FileSource(path)
    src.refresh(complete=True)
    payloads = [src.record(e)[32:] for e in src.entries]
    src.close()
    t0 = time.perf_counter()
    key = SceneCodec.decode_bytes(payloads[0])
    cold = (time.perf_counter() - t0) * 1000.0
    for _ in range(warmup - 1):
        SceneCodec.decode_bytes(payloads[0])
    refs, states = [key], [DeltaState.initial(len(key))]
    for p in payloads[1:]:
        f, s = decode_delta(p, refs[-1], states[-1])
        refs.append(f)
        states.append(s)
    delta = [_best(lambda i=i: decode_delta(payloads[i], refs[i - 1], states[i - 1]), repeat)
             for i in range(1, len(payloads))]
    return {"keyframe_ms": _best(lambda: SceneCodec.decode_bytes(payloads[0]), repeat), "keyframe_cold_ms": cold,
            "delta_ms": delta}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scene", choices=sorted(SCENE_FILES), default="biker")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--moving", type=float, default=0.1)
    ap.add_argument("--quality", type=int, default=3)
    ap.add_argument("--stream", type=Path, default=None, help="stream file to reuse or create")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed: the JavaScript side cannot run")
    path = args.stream or Path(f"/tmp/bench_web_{args.scene}_{args.frames}_q{args.quality}.gss")
    if not path.exists():
        from codec.scene import read
        from codec.stream import encode_frames
        from codec.stream.generator import moving_sequence

        frames = moving_sequence(read(SCENE_FILES[args.scene]), args.frames, moving_fraction=args.moving, seed=0)
        encode_frames(frames, path, fps=30, gop=args.frames, quality=args.quality)
    js_run = subprocess.run([node, str(ROOT / "benchmarks" / "bench_web_decode.mjs"), str(path), "--repeat",
                             str(args.repeat), "--warmup", str(args.warmup)], capture_output=True, text=True, check=True)
    js = json.loads(js_run.stdout.strip().splitlines()[-1])
    py = python_times(path, args.repeat, max(args.warmup, 1))
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    rows = [("keyframe decode", js["keyframe_ms"], py["keyframe_ms"], 300),
            ("keyframe decode, first in the process", js["keyframe_cold_ms"], py["keyframe_cold_ms"], None),
            ("delta decode (median)", med(js["delta_ms"]), med(py["delta_ms"]), 10),
            ("delta decode (first, no prediction)", js["delta_ms"][0], py["delta_ms"][0], 10),
            ("texture packing, whole frame (JS only)", js["pack_ms"], None, None),
            ("texture repacking, one delta (JS only)", js["repack_ms"], None, None),
            ("depth sort (JS only)", js["sort_ms"], None, 8)]
    print(f"{path.name}: {js['gaussians']:,} Gaussians, keyframe {js['keyframe_bytes']:,} B, "
          f"deltas {min(js['delta_bytes']):,}-{max(js['delta_bytes']):,} B; fastest of {args.repeat} "
          f"after {args.warmup} untimed runs")
    print(f"{'':40s} {'JS ms':>9s} {'Python ms':>10s} {'JS/Py':>6s} {'goal ms':>8s}")
    for name, j, p, goal in rows:
        print(f"{name:40s} {j:9.1f} {'' if p is None else f'{p:10.1f}':>10s} "
              f"{'' if p is None else f'{j / p:6.2f}':>6s} {'' if goal is None else goal:>8}")
    if args.json:
        args.json.write_text(json.dumps({"stream": str(path), "js": js, "python": py}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
