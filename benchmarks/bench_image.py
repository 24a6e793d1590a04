"""Encode/decode speed of our image codec against CompressAI's bmshj2018-hyperprior, same run.

    python benchmarks/bench_image.py [--images 6] [--threads 2] [--qualities 1,4,6] [--model gmq2-f]

Both run on the CPU with the same torch thread count on the same Kodak images (768x512). Ours is
timed through the public API (PIL image -> file bytes -> PIL image, whole pipeline); the peer
through ``compress``/``decompress`` on a prepared tensor (its network plus rANS, not the PNG or
tensor conversions), with random weights (``pretrained=False``: timing does not depend on them).
Prints seconds per image and the ratio peer/ours (above 1 = we are faster).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "data" / "kodak"


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    warnings.filterwarnings("ignore", category=FutureWarning)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--qualities", default=None, help="comma-separated (default: all)")
    p.add_argument("--model", default=None, help="shipped model id (default: the manifest's default)")
    p.add_argument("--peer-quality", type=int, default=4, help="bmshj2018-hyperprior quality (1-5: N=128, M=192)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data", type=Path, default=KODAK)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from compressai.zoo import bmshj2018_hyperprior

    from codec.image.codec import ImageCodec

    files = sorted(args.data.glob("*.png"))[: args.images]
    images = [Image.open(f).convert("RGB") for f in files]
    base = ImageCodec(model_id=args.model)
    n = base.models[base.model_id].model.config.num_qualities
    qualities = [int(q) for q in args.qualities.split(",")] if args.qualities else list(range(1, n + 1))

    peer = bmshj2018_hyperprior(quality=args.peer_quality, pretrained=False).eval()
    peer.update(force=True)
    peer_enc, peer_dec = [], []
    for im in images:
        x = torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            out = peer.compress(x)
            peer_enc.append(_median_time(lambda: peer.compress(x), args.repeats))
            peer_dec.append(_median_time(lambda: peer.decompress(out["strings"], out["shape"]), args.repeats))
    pe, pd = statistics.mean(peer_enc), statistics.mean(peer_dec)
    print(f"{len(images)} Kodak images, {args.threads} threads, torch {torch.__version__}, ours: {base.model_id}")
    print(f"peer bmshj2018-hyperprior q{args.peer_quality}: encode {pe:.3f} s  decode {pd:.3f} s")
    print("quality  encode_s  decode_s  enc_ratio(peer/ours)  dec_ratio(peer/ours)")
    for q in qualities:
        codec = ImageCodec(quality=q, model_id=base.model_id, models=base.models)
        enc, dec = [], []
        for im in images:
            data = codec.encode(im)
            enc.append(_median_time(lambda: codec.encode(im), args.repeats))
            dec.append(_median_time(lambda: codec.decode(data), args.repeats))
        e, d = statistics.mean(enc), statistics.mean(dec)
        print(f"q{q:<7} {e:8.3f}  {d:8.3f}  {pe / e:20.2f}  {pd / d:20.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
