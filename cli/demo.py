"""``python -m cli.demo`` (``make demo``): what works today, shown end to end on a fresh clone.

The demo makes a small synthetic RGB image in code (no data file needed), codes it
**losslessly** with the project's own pieces (a left-neighbour predictor, integer frequency
tables and the rANS coder in ``entropy/``), stores it in the codec container, reads the file
back, decodes it and checks that every pixel is exact. It prints the sizes next to zlib's on
the same pixels and on the same residuals.

It does not use the learned image model: that model (multi-codebook VQ under a Gaussian-
mixture prior) is not part of this demo yet, and the numbers here say nothing about it.
"""

from __future__ import annotations

import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

from codec.container import Container, read_container, write_container

__all__ = ["synthetic_image", "encode_lossless", "decode_lossless", "main"]

HEIGHT, WIDTH = 192, 256
PREDICTOR = "left-neighbour, first column from above, residuals mod 256"
TABLE_PRECISION = 16  # fixed-point bits of the stored frequency tables


def synthetic_image(height: int = HEIGHT, width: int = WIDTH, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with rings and mild noise: ``[H, W, 3]`` uint8."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = np.hypot(y - height / 2, x - width / 3)
    noise = np.random.default_rng(seed).normal(0.0, 2.0, size=(height, width, 3))
    img = np.stack([255 * x / width, 255 * y / height, 128 + 60 * np.sin(r / 6)], axis=-1)
    return np.clip(np.rint(img + noise), 0, 255).astype(np.uint8)


def _residuals(img: np.ndarray) -> np.ndarray:
    """``[H, W, C]`` uint8 -> ``[H, W, C]`` int64 residuals in ``[0, 256)``."""
    x = img.astype(np.int64)
    pred = np.zeros_like(x)
    pred[:, 1:] = x[:, :-1]
    pred[1:, 0] = x[:-1, 0]
    return (x - pred) % 256


def _unresiduals(res: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_residuals`."""
    res = res.astype(np.int64).copy()
    res[:, 0] = np.cumsum(res[:, 0], axis=0) % 256
    return (np.cumsum(res, axis=1) % 256).astype(np.uint8)


def encode_lossless(img: np.ndarray) -> Container:
    """Code ``[H, W, 3]`` uint8 losslessly into an image container (one table per channel)."""
    from entropy import FrequencyTables, counts_to_freqs, encode_symbols

    h, w, c = img.shape
    res = _residuals(img).reshape(-1, c)
    counts = np.stack([np.bincount(res[:, ch], minlength=256) for ch in range(c)])
    tables = FrequencyTables(counts_to_freqs(counts, TABLE_PRECISION), TABLE_PRECISION)
    table_ids = np.tile(np.arange(c, dtype=np.int32), h * w)  # channel of each symbol
    payload = encode_symbols(res.reshape(-1).astype(np.int32), tables, table_ids)
    header = {"width": w, "height": h, "channels": c, "demo": "lossless", "predictor": PREDICTOR}
    return Container("image", header, (("tables", tables.to_bytes()), ("residuals", payload)))


def decode_lossless(container: Container) -> np.ndarray:
    """Inverse of :func:`encode_lossless`: ``[H, W, 3]`` uint8."""
    from entropy import FrequencyTables, decode_symbols

    h, w, c = (container.header[k] for k in ("height", "width", "channels"))
    tables = FrequencyTables.from_bytes(container.section("tables"))
    table_ids = np.tile(np.arange(c, dtype=np.int32), h * w)
    res = decode_symbols(container.section("residuals"), tables, table_ids=table_ids)
    return _unresiduals(np.asarray(res).reshape(h, w, c))


def main() -> int:
    img = synthetic_image()
    raw = img.tobytes()
    container = encode_lossless(img)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.gmc"
        size = write_container(path, container)
        decoded = decode_lossless(read_container(path, "image"))
        from cli.main import main as codec_main

        print(f"$ codec info {path.name}")
        codec_main(["info", str(path)])
    exact = decoded.shape == img.shape and bool(np.array_equal(decoded, img))
    zsize = len(zlib.compress(raw, 9))
    zres = len(zlib.compress(_residuals(img).astype(np.uint8).tobytes(), 9))
    pixels = img.shape[0] * img.shape[1]
    print()
    print(f"synthetic image:  {img.shape[1]}x{img.shape[0]} RGB, {len(raw):,} bytes raw")
    sizes = {name: len(payload) for name, payload in container.sections}
    print(f"codec file:       {size:,} bytes = {8 * size / pixels:.2f} bpp, whole file "
          f"(header {size - sum(sizes.values())} B, tables {sizes['tables']:,} B, "
          f"rANS payload {sizes['residuals']:,} B)")
    print(f"zlib -9 for reference, raw pixels: {zsize:,} bytes = {8 * zsize / pixels:.2f} bpp; "
          f"same residuals: {zres:,} bytes = {8 * zres / pixels:.2f} bpp")
    print(f"round trip exact: {'yes' if exact else 'NO'}")
    print()
    print("This demo codes pixels losslessly with the entropy layer and the container only.\n"
          "The learned image model (multi-codebook VQ under a Gaussian-mixture prior) is not\n"
          "part of this demo yet; its numbers will come from the image codec and benchmarks/.")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
