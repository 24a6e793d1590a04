"""``python -m cli.demo`` (``make demo``): the image codec end to end with the shipped weights.

Encodes the bundled sample (``samples/kodim23.png``) at every quality with the default model of
``weights/manifest.json``, writes the files under ``out/demo/``, decodes them back to PNG and
prints, per quality, the file size, bits per pixel (whole file), PSNR and time. It also shows
that a file cut to fewer stages (``codec decode --quality``) decodes to the lower quality.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "kodim23.png"
OUT = ROOT / "out" / "demo"

__all__ = ["main"]


def main() -> int:
    from codec.fileio import atomic_write
    from codec.image.codec import ImageCodec, reduce_quality
    from codec.image.evaluate import psnr_rgb
    from codec.image.pixels import open_image

    base = ImageCodec()
    entry = base.models[base.model_id].entry
    training = entry.get("training", {})
    print(f"model {base.model_id}: {training.get('steps', '?')} training steps, "
          f"{training.get('wall_hours', '?')} h of training on {training.get('data', '?')}")
    print("note: a still undertrained model (CPU training plus short GPU sprints); README 'Results' "
          "compares it with JPEG, WebP, JPEG 2000 and BPG")
    image = open_image(SAMPLE)
    original = np.asarray(image.convert("RGB"))
    pixels = image.width * image.height
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"sample {SAMPLE.name}: {image.width}x{image.height}, outputs in {OUT}")
    print("quality     bytes     bpp   PSNR dB   encode s  decode s")
    full = b""
    n = base.models[base.model_id].model.config.num_qualities
    for q in range(1, n + 1):
        codec = ImageCodec(quality=q, model_id=base.model_id, models=base.models)
        t0 = time.perf_counter()
        data = codec.encode(image)
        t1 = time.perf_counter()
        decoded = codec.decode(data)
        t2 = time.perf_counter()
        atomic_write(OUT / f"kodim23.q{q}.gmc", data, force=True)
        decoded.save(OUT / f"kodim23.q{q}.png")
        psnr = psnr_rgb(original, np.asarray(decoded))
        print(f"q{q:<6} {len(data):9,d}  {len(data) * 8 / pixels:6.3f}  {psnr:8.2f}  {t1 - t0:9.2f} {t2 - t1:9.2f}")
        full = data
    if base.models[base.model_id].model.config.prefix_qualities:
        cut = reduce_quality(full, 1)
        psnr = psnr_rgb(original, np.asarray(base.decode(cut)))
        print(f"q{n} file cut to its first stage: {len(cut):,} bytes, {psnr:.2f} dB (same as encoding at q1)")
    else:
        print(f"model {base.model_id} chooses each quality's indices for its own rate: its files do not cut")
    kodak = entry.get("kodak")
    if kodak:
        print("shipped model on Kodak (24 images, measured at export): " + json.dumps(
            {f"q{q}": [round(b, 3), round(p, 2)] for q, b, p in zip(kodak["qualities"], kodak["bpp"], kodak["psnr-rgb"])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
