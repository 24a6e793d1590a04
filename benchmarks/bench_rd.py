"""Rate-distortion of the shipped image model on Kodak against classical codecs and the peer.

    python benchmarks/bench_rd.py [--out out/rd] [--peer checkpoints/peer/best] [--skip-classic] [--refine 50]

In one run, on the same 24 Kodak images:
- JPEG, WebP and JPEG 2000 through Pillow (``../shared/tools/classic_rd.py``);
- our shipped default model (the same evaluation as ``codec eval``: whole-file bpp), and with
  ``--refine STEPS`` the same model again with encoder-side latent refinement (``codec eval --refine``);
- optionally the scale-hyperprior peer trained by ``train.loop --arch hyperprior``, coded for real
  with CompressAI's ``compress``/``decompress`` (bpp of its strings only, as CompressAI reports).
Writes one CompressAI-style JSON per codec, prints BD-rates (PSNR) of ours against each, and draws
``rd.png`` with the published anchors of ``../shared/anchors/compressai-results/kodak``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
KODAK = SHARED / "data" / "kodak"
ANCHORS = SHARED / "anchors" / "compressai-results" / "kodak"


def _peer_results(checkpoint: Path, images: list[Path]) -> dict:
    from compressai.models import ScaleHyperprior
    from PIL import Image

    from codec.image.evaluate import ms_ssim_rgb, psnr_rgb
    from train.checkpoint import load_checkpoint

    model = ScaleHyperprior(96, 128)
    meta = load_checkpoint(checkpoint, model, None, None)
    model.update(force=True)
    model.eval()
    rows = []
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255
        h, w = rgb.shape[:2]
        pad = (0, -w % 64, 0, -h % 64)
        xp = torch.nn.functional.pad(x, pad, mode="replicate")
        with torch.no_grad():
            t0 = time.perf_counter()
            out = model.compress(xp)
            t1 = time.perf_counter()
            rec = model.decompress(out["strings"], out["shape"])["x_hat"][..., :h, :w]
            t2 = time.perf_counter()
        dec = rec[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy()
        nbytes = sum(len(s[0]) for s in out["strings"])
        rows.append((nbytes * 8 / (h * w), psnr_rgb(rgb, dec), ms_ssim_rgb(rgb, dec), t1 - t0, t2 - t1))
    mean = np.mean(np.asarray(rows), axis=0)
    keys = ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time")
    return {"name": f"bmshj2018-hyperprior (our train/, {meta['step']} steps)",
            "description": "peer trained by train.loop --arch hyperprior; bpp of entropy-coded strings",
            "results": {k: [float(v)] for k, v in zip(keys, mean)}}


def main() -> int:
    warnings.filterwarnings("ignore", category=FutureWarning)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=KODAK)
    p.add_argument("--out", type=Path, default=ROOT / "out" / "rd")
    p.add_argument("--peer", type=Path, default=None, help="hyperprior checkpoint folder")
    p.add_argument("--skip-classic", action="store_true", help="reuse classical results already in --out")
    p.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="also evaluate ours with this many steps of encoder-side latent refinement")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from codec.image.codec import ImageCodec
    from codec.image.evaluate import evaluate_folder
    from codec.rd import bd_rate, load_results, plot_rd

    classic = ("jpeg", "webp", "jpeg2000")
    if not args.skip_classic:
        subprocess.run([sys.executable, str(SHARED / "tools" / "classic_rd.py"), str(args.data), str(args.out), *classic],
                       check=True, stdout=subprocess.DEVNULL)
    base = ImageCodec()
    qualities = list(range(1, base.models[base.model_id].model.config.num_qualities + 1))
    ours_curves = []
    for refine in ([0, args.refine] if args.refine else [0]):
        results, rows = evaluate_folder(args.data, qualities, lambda q: ImageCodec(
            quality=q, model_id=base.model_id, models=base.models, refine=refine))
        suffix = f", refine {refine}" if refine else ""
        ours_curves.append({"name": f"gmcodec {base.model_id}{suffix}", "description": f"whole-file bpp, CPU{suffix}",
                            "images": len({r["image"] for r in rows}), "results": results})
        (args.out / f"gmcodec{'-refine' if refine else ''}.json").write_text(json.dumps(ours_curves[-1], indent=1))
    classic_curves = [load_results(args.out / f"{c}.json") for c in classic]
    curves = ours_curves + classic_curves
    if args.peer is not None:
        peer = _peer_results(args.peer, sorted(args.data.glob("*.png")))
        (args.out / "peer.json").write_text(json.dumps(peer, indent=1))
        curves.append(peer)
        print(f"peer: {peer['results']['bpp'][0]:.4f} bpp {peer['results']['psnr-rgb'][0]:.2f} dB")
    for ours in ours_curves:
        r = ours["results"]
        for q, b, ps, ms in zip(qualities, r["bpp"], r["psnr-rgb"], r["ms-ssim-rgb"]):
            print(f"{ours['name']} q{q}: {b:.4f} bpp  {ps:.2f} dB  MS-SSIM {ms:.4f}")
        for c in classic_curves:
            print(f"BD-rate (PSNR) {ours['name']} vs {c['name']} (measured here): {bd_rate(ours, c):+.1f} %")
    anchors = [load_results(ANCHORS / f) for f in ("bpg_444_x265_ycbcr.json", "compressai-bmshj2018-hyperprior_mse_cuda.json")
               if (ANCHORS / f).exists()]
    for ours in ours_curves:
        for a in anchors:
            print(f"BD-rate (PSNR) {ours['name']} vs {a['name']} (published anchor): {bd_rate(ours, a):+.1f} %")
    if len(ours_curves) == 2:
        print(f"BD-rate (PSNR) {ours_curves[1]['name']} vs {ours_curves[0]['name']}: "
              f"{bd_rate(ours_curves[1], ours_curves[0]):+.1f} %")
    (args.out / "rd.png").write_bytes(plot_rd(curves + anchors, title="Kodak (24 images), PSNR-RGB"))
    print(f"wrote {args.out}/*.json and rd.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
