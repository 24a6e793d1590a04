"""Warm start probe: pretrain the image model's transforms as a plain autoencoder, then hand
the whole model to ``train.loop`` as a step-0 checkpoint.

    python benchmarks/warm_start.py --steps 1200 --out /tmp/ws
    python -m train.loop --out /tmp/ws --steps 2000 --threads 1 --checkpoint-minutes 3
    python -m train.loop --out /tmp/scratch --steps 3000 --threads 1 --checkpoint-minutes 3   # beside it

The autoencoder (``g_s(g_a(x))``, MSE only, no quantization or rate) uses the default recipe of
``train.loop`` and prints its validation PSNR every 200 steps. The checkpoint holds a fresh
optimizer and the pretraining's wall time as ``elapsed``, so the two runs' ``elapsed_s``
compare at equal time. Codebooks and priors start as in a fresh run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_learning import train_autoencoder  # noqa: E402
from codec.image.config import ImageModelConfig  # noqa: E402
from train.checkpoint import save_checkpoint  # noqa: E402
from train.data import ImageBank, list_images, split_train_val  # noqa: E402
from train.loop import DEFAULT_CROP, DEFAULT_DATA, DEFAULT_LR  # noqa: E402
from train.objectives import build_objective  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1200, help="autoencoder steps")
    ap.add_argument("--out", type=Path, required=True, help="train.loop folder to create (OUT/latest)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args(argv)
    if (args.out / "latest").exists():
        raise SystemExit(f"{args.out / 'latest'} exists: train.loop would resume it; pick a new --out")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    config = ImageModelConfig()
    model = build_objective("vq", config, None, None, None).model
    train_files, val_files = split_train_val(list_images(args.data))
    bank = ImageBank(train_files, DEFAULT_CROP)
    val = ImageBank(val_files[:16], 256).center_crops(256)
    start = time.time()
    train_autoencoder(model.analysis, model.synthesis, bank, val, args.steps, 200, DEFAULT_LR, rng,
                      lambda row: print(f"step {row['step']}: {time.time() - start:.0f} s, "
                                        f"autoencoder PSNR {row['val_psnr']:.2f} dB", flush=True))
    state = {"step": 0, "elapsed": time.time() - start, "best": -1e9, "arch": "vq",
             "config": json.loads(config.to_json())}
    save_checkpoint(args.out, model, torch.optim.Adam(model.parameters(), lr=DEFAULT_LR), state,
                    np.random.default_rng(0))
    print(f"wrote {args.out / 'latest'} ({state['elapsed']:.0f} s of pretraining)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
