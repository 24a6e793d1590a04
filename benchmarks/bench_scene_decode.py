"""Scene decode speed: our decoder against our numpy SPZ reader, every scene, in the same run.

For each scene of ``bench_scene.SCENES``: encode at ``--quality`` (our codec) and write SPZ v3
(our writer), then decode both ``--repeat`` times, alternating so both see the same load; best
wall and best CPU (process) time of each, Gaussians/s = N / time, and ours/SPZ speed ratio. The
fastest of three profiled decodes of ours gives the share of time spent inside constriction's
rANS ``AnsCoder.decode`` (this decoder's floor: it holds the GIL, so threads cannot decode
streams concurrently). The goal of issue 20 is 1 M Gaussians/s on 2 cores; the load
average (which counts the other jobs on the machine) is printed before and after.

    OMP_NUM_THREADS=1 python benchmarks/bench_scene_decode.py --repeat 7 --json out/decode.json
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codec.scene import SceneCodec, read  # noqa: E402
from codec.scene.io_spz import read_spz, write_spz  # noqa: E402

from bench_scene import SCENES  # noqa: E402  (this folder is on sys.path when run as a script)


def best_times(fns: dict, repeat: int) -> dict[str, tuple[float, float]]:
    """{name: (best wall s, best CPU s)} of each function, run in turn ``repeat`` times."""
    best = {k: [float("inf"), float("inf")] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            w, c = time.perf_counter(), time.process_time()
            fn()
            best[k][0] = min(best[k][0], time.perf_counter() - w)
            best[k][1] = min(best[k][1], time.process_time() - c)
    return {k: (w, c) for k, (w, c) in best.items()}


def rans_share(fn, runs: int = 3) -> float:
    """Fraction spent inside ``AnsCoder.decode`` in the fastest of ``runs`` profiled runs of ``fn``."""
    best = (float("inf"), 0.0)
    for _ in range(runs):
        prof = cProfile.Profile()
        prof.enable()
        fn()
        prof.disable()
        stats = pstats.Stats(prof).stats
        rans = sum(v[2] for k, v in stats.items() if k[2] == "<method 'decode' of 'builtins.AnsCoder' objects>")
        total = sum(v[2] for v in stats.values())  # own time of every function: the whole run
        best = min(best, (total, rans))
    return best[1] / max(best[0], 1e-12)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "scenes")
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--quality", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=7, help="timing runs (best of)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"scene data not found at {args.data}; nothing to do")
        return 0
    load0 = os.getloadavg()
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, quality {args.quality}, "
          f"best of {args.repeat}; load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    codec = SceneCodec(quality=args.quality)
    rows = []
    for name in args.scenes.split(","):
        scene = read(args.data / SCENES[name])
        n = len(scene)
        gsz, spz = codec.encode(scene), write_spz(scene)
        t = best_times({"ours": lambda: codec.decode(gsz), "spz": lambda: read_spz(spz)}, args.repeat)
        share = rans_share(lambda: codec.decode(gsz))
        row = {"scene": name, "gaussians": n, "sh_degree": scene.sh_degree, "bytes": len(gsz), "spz_bytes": len(spz),
               "ours_wall_s": t["ours"][0], "ours_cpu_s": t["ours"][1], "spz_wall_s": t["spz"][0],
               "spz_cpu_s": t["spz"][1], "rans_share": share}
        rows.append(row)
        print(f"{name:7s} {n:7d} G  ours {n / t['ours'][0] / 1e6:5.2f} MG/s wall, {n / t['ours'][1] / 1e6:5.2f} CPU "
              f"(rANS {100 * share:3.0f} %)  SPZ reader {n / t['spz'][0] / 1e6:5.2f} wall, "
              f"{n / t['spz'][1] / 1e6:5.2f} CPU  ours/SPZ {t['spz'][1] / t['ours'][1]:.2f} (CPU)", flush=True)
    load1 = os.getloadavg()
    print(f"load average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    print("\n| scene | N | SH | ours MG/s wall | ours MG/s CPU | rANS share | SPZ reader MG/s wall | "
          "SPZ MG/s CPU | ours/SPZ (CPU) |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = r["gaussians"]
        print(f"| {r['scene']} | {n:,} | {r['sh_degree']} | {n / r['ours_wall_s'] / 1e6:.2f} | "
              f"{n / r['ours_cpu_s'] / 1e6:.2f} | {100 * r['rans_share']:.0f} % | {n / r['spz_wall_s'] / 1e6:.2f} | "
              f"{n / r['spz_cpu_s'] / 1e6:.2f} | {r['spz_cpu_s'] / r['ours_cpu_s']:.2f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"quality": args.quality, "repeat": args.repeat, "load_before": load0,
                                         "load_after": load1, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
