"""Learning speed of transform variants: validation PSNR against steps and CPU seconds, same run.

    python benchmarks/bench_learning.py --steps 1000 --every 200 \
        --configs '{"hidden": 64}' '{"hidden": 64, "latent_blocks": 0}'

Each config's analysis and synthesis transforms (``codec.image.transforms``) are trained from
the same seed as a plain autoencoder (MSE only, no quantization, no rate) with the recipe of
``train.loop`` (Adam, linear warm-up, gradient clipping, random 128-pixel crops of the training
folders, batch 8) and validated on the loop's fixed validation split (256-pixel centre crops,
never Kodak). Configs run one after the other on the same thread count, so seconds compare
within a run only. It answers one question cheaply: which transforms learn faster per CPU
second, before spending hours on a full training run.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from codec.image.config import ImageModelConfig
from codec.image.transforms import AnalysisTransform, SynthesisTransform
from train.data import ImageBank, list_images, split_train_val
from train.loop import (DEFAULT_BATCH, DEFAULT_CLIP, DEFAULT_CROP, DEFAULT_DATA, DEFAULT_LR, DEFAULT_WARMUP,
                        learning_rate)
from train.objectives import psnr


def train_autoencoder(g_a: torch.nn.Module, g_s: torch.nn.Module, bank: ImageBank, val: torch.Tensor,
                      steps: int, every: int, lr: float, rng: np.random.Generator,
                      on_row: Callable[[dict], None] | None = None) -> list[dict]:
    """Train ``g_s(g_a(x))`` as a plain autoencoder (MSE) with the loop's default recipe for
    ``steps``; one row (step, CPU seconds, validation PSNR on ``val``) per ``every`` steps,
    also passed to ``on_row`` as it comes."""
    params = [*g_a.parameters(), *g_s.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    rows, busy = [], 0.0
    for step in range(1, steps + 1):
        t0 = time.process_time()
        for group in opt.param_groups:
            group["lr"] = learning_rate(step - 1, lr, DEFAULT_WARMUP, None, 1)
        x = bank.random_batch(DEFAULT_BATCH, DEFAULT_CROP, rng)
        loss = F.mse_loss(g_s(g_a(x)), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, DEFAULT_CLIP)
        opt.step()
        busy += time.process_time() - t0
        if step % every == 0:
            with torch.no_grad():
                mse = F.mse_loss(g_s(g_a(val)).clamp(0, 1), val).item()
            rows.append({"step": step, "cpu_s": round(busy, 1), "val_psnr": round(psnr(mse), 3)})
            if on_row is not None:
                on_row(rows[-1])
    return rows


def probe(config: ImageModelConfig, bank: ImageBank, val: torch.Tensor, steps: int, every: int,
          lr: float, seed: int) -> list[dict]:
    """Train ``config``'s transforms from ``seed`` for ``steps``; one row per ``every`` steps."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g_a = AnalysisTransform(config.hidden, config.latent, config.latent_blocks)
    g_s = SynthesisTransform(config.hidden, config.latent, config.latent_blocks)
    return train_autoencoder(g_a, g_s, bank, val, steps, every, lr, rng)


def main() -> int:
    warnings.filterwarnings("ignore", category=FutureWarning)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=['{"hidden": 64}', '{"hidden": 64, "latent_blocks": 0}'],
                   help="JSON overrides of ImageModelConfig, one per variant")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--every", type=int, default=200)
    p.add_argument("--lr", type=float, default=DEFAULT_LR)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=str(DEFAULT_DATA))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    train_files, val_files = split_train_val(list_images(args.data))
    bank = ImageBank(train_files, DEFAULT_CROP)
    val = ImageBank(val_files[:16], 256).center_crops(256)
    results = {}
    for text in args.configs:
        config = ImageModelConfig.from_dict(json.loads(text))
        results[text] = probe(config, bank, val, args.steps, args.every, args.lr, args.seed)
        print(f"{text}: " + ", ".join(f"{r['step']}: {r['val_psnr']:.2f} dB ({r['cpu_s']:.0f} s)" for r in results[text]),
              flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
