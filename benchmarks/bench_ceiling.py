"""Where the image model's distortion comes from: quantization, or the transforms themselves.

    python benchmarks/bench_ceiling.py                 # shipped default model, 24 Kodak images
    python benchmarks/bench_ceiling.py --model gmq-v3 --images 4

For each quality q it decodes the first q stages (``latent_from_indices``, no entropy coding: the
indices are the same ones the bitstream carries) and reports the Kodak PSNR next to the PSNR of
the *unquantized* latent, ``g_s(g_a(x))``: the ceiling that no number of stages can pass. It also
gives the latent error left after each stage as a signal-to-noise ratio of ``y`` (dB). A quality
whose PSNR sits at the ceiling while its latent SNR keeps climbing spends bits the synthesis
transform cannot use; the way up is then better transforms, not more stages.
"""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from codec.weights import load_image_model
from train.objectives import psnr

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


@torch.no_grad()
def measure(model, x: torch.Tensor) -> dict:
    """``x`` ``[1, 3, H, W]`` in [0, 1], H and W multiples of 32. Mean squared errors of the
    image at every quality and unquantized (``ceiling``), and latent SNRs (dB) per quality."""
    y = model.analysis(x)
    indices = model.indices_from_latent(y)
    row = {"ceiling": F.mse_loss(model.synthesis(y).clamp(0, 1), x).item()}
    for q in range(1, len(indices)):
        y_hat = model.latent_from_indices(indices[: q + 1])
        row[q] = F.mse_loss(model.synthesis(y_hat).clamp(0, 1), x).item()
        row[f"latent_snr_{q}"] = 10 * math.log10(y.var().item() / max(F.mse_loss(y_hat, y).item(), 1e-12))
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model id from weights/manifest.json (default: the default)")
    p.add_argument("--kodak", type=Path, default=KODAK)
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    loaded = load_image_model(args.model)
    files = sorted(args.kodak.glob("*.png"))[: args.images]
    rows = []
    for path in files:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        h, w = rgb.shape[0] // 32 * 32, rgb.shape[1] // 32 * 32
        x = torch.from_numpy(rgb[:h, :w].copy()).permute(2, 0, 1)[None].float() / 255
        rows.append(measure(loaded.model, x))
    ceiling = float(np.mean([psnr(r["ceiling"]) for r in rows]))
    print(f"{loaded.model_id} on {len(files)} Kodak images (cropped to multiples of 32)")
    print(f"unquantized latent (ceiling): {ceiling:.2f} dB")
    print("q  PSNR dB  below ceiling  latent SNR dB")
    for q in range(1, loaded.model.config.num_qualities + 1):
        value = float(np.mean([psnr(r[q]) for r in rows]))
        snr = float(np.mean([r[f"latent_snr_{q}"] for r in rows]))
        print(f"{q}  {value:7.2f}  {ceiling - value:13.2f}  {snr:13.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
