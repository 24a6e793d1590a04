"""Rate-distortion evaluation of the image codec on a folder, in CompressAI's ``eval_model`` form.

Per quality: mean over images of PSNR (8-bit RGB output), MS-SSIM (linear, data range 255),
bpp of the **whole file** (header included) and encode/decode seconds per image.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .codec import ImageCodec
from .pixels import IMAGE_SUFFIXES, open_image

__all__ = ["psnr_rgb", "ms_ssim_rgb", "evaluate_folder"]

_MS_SSIM_MIN_SIDE = 161  # five scales of an 11-tap window


def psnr_rgb(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two ``[H, W, 3]`` uint8 images (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def ms_ssim_rgb(a: np.ndarray, b: np.ndarray) -> float:
    """Linear MS-SSIM of two ``[H, W, 3]`` uint8 images (NaN when a side is below 161 px)."""
    if min(a.shape[:2]) < _MS_SSIM_MIN_SIDE:
        return math.nan
    from pytorch_msssim import ms_ssim

    ta = torch.from_numpy(a.astype(np.float64)).permute(2, 0, 1)[None]  # a copy: PIL arrays are read-only
    tb = torch.from_numpy(b.astype(np.float64)).permute(2, 0, 1)[None]
    return float(ms_ssim(ta, tb, data_range=255.0))


def evaluate_folder(folder: str | Path, qualities: list[int], make_codec: Callable[[int], ImageCodec],
                    progress: Callable | None = None) -> tuple[dict, list[dict]]:
    """Encode and decode every image of ``folder`` at each quality.

    Returns ``(results, rows)``: the CompressAI-style ``results`` dict of lists (one entry per
    quality) and one row per (image, quality) for a CSV.
    """
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        from ..errors import InvalidInputError
        raise InvalidInputError(f"{folder}: no images found")
    images = [(p.name, np.asarray(open_image(p).convert("RGB"))) for p in files]
    rows = []
    results: dict[str, list[float]] = {k: [] for k in ("psnr-rgb", "ms-ssim-rgb", "bpp", "encoding_time", "decoding_time")}
    work = [(q, name, rgb) for q in qualities for name, rgb in images]
    iterator = progress(work) if progress else work
    for q, name, rgb in iterator:
        codec = make_codec(q)
        t0 = time.perf_counter()
        data = codec.encode(Image.fromarray(rgb))
        t1 = time.perf_counter()
        out, _, _ = codec.decode_arrays(data)
        t2 = time.perf_counter()
        rows.append({"image": name, "quality": q, "bytes": len(data), "bpp": len(data) * 8 / (rgb.shape[0] * rgb.shape[1]),
                     "psnr-rgb": psnr_rgb(rgb, out), "ms-ssim-rgb": ms_ssim_rgb(rgb, out),
                     "encoding_time": t1 - t0, "decoding_time": t2 - t1})
    for q in qualities:
        sel = [r for r in rows if r["quality"] == q]
        for key in results:
            results[key].append(float(np.mean([r[key] for r in sel])))
    return results, rows
