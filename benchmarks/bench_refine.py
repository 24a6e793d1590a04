"""Encoder-side latent refinement (``--refine``) on validation images of the training folders.

    python benchmarks/bench_refine.py [--images 4] [--steps 0,25,50] [--qualities 1,2,3,4,5,6]

For each quality and number of refinement steps: mean PSNR (8-bit RGB), whole-file bpp and
encoding seconds per image with the shipped default model. Then the prefix question: a file
refined at the top quality and cut to lower qualities with ``reduce_quality``, against plain files
encoded at those qualities. Uses the fixed validation split of ``../shared/data/train`` (never
Kodak), so it is the place to tune refinement; Kodak numbers come from ``codec eval --refine``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from PIL import Image

from codec.image.codec import ImageCodec, reduce_quality
from codec.image.evaluate import psnr_rgb
from train.data import list_images, split_train_val
from train.loop import DEFAULT_DATA


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=4, help="validation images used (default %(default)s)")
    p.add_argument("--steps", type=_ints, default=[0, 25, 50], help="refinement steps to compare")
    p.add_argument("--qualities", type=_ints, default=None, help="default: all")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    _, val = split_train_val(list_images(DEFAULT_DATA))
    images = [np.asarray(Image.open(f).convert("RGB")) for f in val[:args.images]]
    base = ImageCodec()
    top = base.models[base.model_id].model.config.num_qualities
    qualities = args.qualities or list(range(1, top + 1))

    def codec(quality: int, refine: int) -> ImageCodec:
        return ImageCodec(quality=quality, model_id=base.model_id, models=base.models, refine=refine)

    def measure(c: ImageCodec, rgb: np.ndarray) -> tuple[bytes, float, float]:
        t0 = time.perf_counter()
        data = c.encode(Image.fromarray(rgb))
        return data, time.perf_counter() - t0, psnr_rgb(rgb, c.decode_arrays(data)[0])

    for q in qualities:
        for steps in args.steps:
            rows = [measure(codec(q, steps), rgb) for rgb in images]
            print(json.dumps({"quality": q, "refine": steps,
                              "psnr": round(float(np.mean([r[2] for r in rows])), 3),
                              "bpp": round(float(np.mean([len(r[0]) * 8 / rgb.shape[0] / rgb.shape[1]
                                                          for r, rgb in zip(rows, images)])), 4),
                              "encode_s": round(float(np.mean([r[1] for r in rows])), 2)}), flush=True)

    steps = max(args.steps)
    refined_top = codec(top, steps)
    for rgb in images:
        data, _, _ = measure(refined_top, rgb)
        gains = {}
        for q in qualities:
            cut = reduce_quality(data, q)
            _, _, plain = measure(codec(q, 0), rgb)
            gains[q] = round(psnr_rgb(rgb, refined_top.decode_arrays(cut)[0]) - plain, 3)
        print(json.dumps({"prefix_of_refined_top": f"q{top} refined {steps} steps, cut to q",
                          "psnr_gain_over_plain_db": gains}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
