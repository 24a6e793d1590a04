"""Peak memory and time to encode and decode a large photo (default 6000x4000) with tiling.

    python benchmarks/bench_large_image.py [--width 6000 --height 4000] [--threads 2]

The image is Kodak images tiled into a mosaic (photographic content, no seams of its own).
Peak resident memory is read from the OS (``ru_maxrss``) after encode and after decode; the
target is under 4 GiB for 6000x4000.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "data" / "kodak"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    warnings.filterwarnings("ignore", category=FutureWarning)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--width", type=int, default=6000)
    p.add_argument("--height", type=int, default=4000)
    p.add_argument("--quality", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from codec.image.codec import ImageCodec

    tiles = [np.asarray(Image.open(f).convert("RGB").resize((768, 512))) for f in sorted(KODAK.glob("*.png"))]
    rows = []
    for r in range(-(-args.height // 512)):
        rows.append(np.concatenate([tiles[(r * 8 + c) % len(tiles)] for c in range(-(-args.width // 768))], axis=1))
    mosaic = Image.fromarray(np.ascontiguousarray(np.concatenate(rows, axis=0)[: args.height, : args.width]))
    codec = ImageCodec(quality=args.quality)
    print(f"{args.width}x{args.height}, quality {args.quality}, {args.threads} threads; peak before: {_peak_mib():.0f} MiB")
    t0 = time.perf_counter()
    data = codec.encode(mosaic)
    t1 = time.perf_counter()
    print(f"encode {t1 - t0:.1f} s, {len(data):,} B ({len(data) * 8 / (args.width * args.height):.3f} bpp), peak {_peak_mib():.0f} MiB")
    out = codec.decode(data)
    t2 = time.perf_counter()
    print(f"decode {t2 - t1:.1f} s, {out.size[0]}x{out.size[1]}, peak {_peak_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
