"""Per-stage diagnostics of an image model: what each fine stage spends and what it buys.

    python benchmarks/bench_vq_stages.py                       # shipped default model, 6 Kodak images
    python benchmarks/bench_vq_stages.py --model gmq-v5 --images 24
    python benchmarks/bench_vq_stages.py --checkpoint checkpoints/v2/latest

For every quality: PSNR of the float decode, ideal bpp under the model's tables (the shipped
integer tables, or a checkpoint's training prior), dB gained per bit added over the quality
below, and for each sent stage the numbers of :func:`codec.image.diagnostics.stage_diagnostics`
(bits per latent dimension, index entropy and perplexity, dead codewords, residual RMS). The
unquantized ``g_s(g_a(x))`` PSNR is the ceiling no quality can pass.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from codec.image.config import ImageModelConfig
from codec.image.diagnostics import stage_diagnostics
from codec.image.model import ImageModel
from codec.weights import default_weights_dir, load_model_weights, manifest_entry
from train.checkpoint import load_checkpoint
from train.objectives import psnr

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def load(args: argparse.Namespace) -> tuple[str, ImageModel]:
    """The model to measure, with its index priors set from its tables (or training prior)."""
    if args.checkpoint is not None:
        meta = json.loads((args.checkpoint / "state.json").read_text())
        model = ImageModel(ImageModelConfig.from_dict(meta["config"]))
        load_checkpoint(args.checkpoint, model, None, None)
        return f"{args.checkpoint} (step {meta['step']})", model.eval()
    weights = default_weights_dir()
    model_id, entry = manifest_entry(args.model, weights)
    model = ImageModel(ImageModelConfig.from_dict(entry["config"]))
    load_model_weights(model, weights / entry["file"])
    return model_id, model.eval()


def crop32(path: Path) -> torch.Tensor:
    """``[1, 3, H, W]`` in [0, 1], cropped to multiples of 32."""
    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"))
    h, w = a.shape[0] // 32 * 32, a.shape[1] // 32 * 32
    return torch.from_numpy(a[:h, :w].copy()).permute(2, 0, 1).float().div(255)[None]


@torch.no_grad()
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model id from weights/manifest.json (default: the default)")
    p.add_argument("--checkpoint", type=Path, default=None, help="a training checkpoint folder instead")
    p.add_argument("--kodak", type=Path, default=KODAK)
    p.add_argument("--images", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    name, model = load(args)
    c = model.config
    images = [crop32(f) for f in sorted(args.kodak.glob("*.png"))[: args.images]]
    pixels = sum(x.shape[2] * x.shape[3] for x in images)
    ceiling = np.mean([F.mse_loss(model.synthesis(model.analysis(x)).clamp(0, 1), x).item() for x in images])
    print(f"{name}: {len(images)} images of {args.kodak}; ceiling g_s(g_a(x)) {psnr(ceiling):.2f} dB")
    print("q  stages  rate-w      bpp   PSNR  dB/bit | per stage: bpd entropy perplexity dead rms")
    previous = None
    for q in range(1, c.num_qualities + 1):
        mse, bits, stages = 0.0, 0.0, []
        for x in images:
            out = model(x, q)
            mse += F.mse_loss(out["x_hat"].clamp(0, 1), x).item() * x[0, 0].numel()
            bits += out["bits"].sum().item()
            stages.append(stage_diagnostics(model, x, q))
        bpp, db = bits / pixels, psnr(mse / pixels)
        slope = "" if previous is None else f"{(db - previous[1]) / max(bpp - previous[0], 1e-9):6.2f}"
        per_stage = " | ".join(
            " ".join(f"{np.mean([s[i][k] for s in stages]):.3g}" for k in ("bpd", "entropy", "perplexity", "dead", "rms"))
            for i in range(c.stages(q)))
        print(f"{q}  {c.stages(q):6d}  {c.rate_weight(q):6g}  {bpp:7.4f}  {db:5.2f}  {slope:>6} | {per_stage}")
        previous = (bpp, db)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
