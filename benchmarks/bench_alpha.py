"""Alpha-plane sizes: the ``alpha2`` section against PNG and the old ``alpha`` coding, same planes.

    python benchmarks/bench_alpha.py

Planes: synthetic 768x512 (ramps, opaque, masks, gradients, noise, a tiled pattern) and real
ones (the alpha of matplotlib's sample RGBA pictures and of a scene thumbnail in
``../shared/data/scenes``, kodim23's grey and a threshold of it). PNG is Pillow's file of the
plane saved as an ``L`` image (default settings); "old" is the horizontal-difference coding
that files used before ``alpha2``. Prints a Markdown table: bytes, the method chosen and
encode/decode seconds of ``codec.image.alpha``.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
METHODS = ("constant", "filters+rANS", "filters+deflate", "PNG")


def planes() -> dict[str, np.ndarray]:
    import matplotlib

    h, w = 512, 768
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(yy - h / 2, xx - w / 2)
    rng = np.random.default_rng(0)
    out = {
        "horizontal ramp (rows equal)": np.tile((np.arange(w) * 255 // (w - 1)).astype(np.uint8), (h, 1)),
        "vertical ramp": np.tile((np.arange(h) * 255 // (h - 1)).astype(np.uint8)[:, None], (1, w)),
        "fully opaque": np.full((h, w), 255, np.uint8),
        "disk mask (0/255)": ((r < 200) * 255).astype(np.uint8),
        "soft-edged disk": np.clip((220 - r) * 4, 0, 255).astype(np.uint8),
        "radial gradient": np.clip(255 - r, 0, 255).astype(np.uint8),
        "uniform noise": rng.integers(0, 256, (h, w), dtype=np.uint8),
        "tiled 16x16 noise": np.tile(rng.integers(0, 256, (16, 16), dtype=np.uint8), (h // 16, w // 16)),
    }
    grey = np.asarray(Image.open(ROOT / "samples" / "kodim23.png").convert("L"))
    out["kodim23 grey as alpha"] = grey.copy()
    out["kodim23 threshold mask"] = ((grey > 128) * 255).astype(np.uint8)
    thumb = SHARED / "data" / "scenes" / "padilla_plant" / "thumb.png"
    if thumb.exists():
        out["plant thumbnail alpha"] = np.asarray(Image.open(thumb).convert("RGBA"))[..., 3].copy()
    sample = Path(matplotlib.get_data_path()) / "sample_data"
    for name in ("logo2.png", "Minduka_Present_Blue_Pack.png"):
        out[f"matplotlib {name} alpha"] = np.asarray(Image.open(sample / name).convert("RGBA"))[..., 3].copy()
    return out


def main() -> int:
    from codec.image.alpha import decode_section, encode_section
    from entropy import AdaptiveCategorical

    print("| plane | size | old `alpha` B | PNG B | `alpha2` B | method | encode s | decode s |")
    print("|---|---|---:|---:|---:|---|---:|---:|")
    for name, plane in planes().items():
        old = AdaptiveCategorical(256).encode((np.diff(plane.astype(np.int16), axis=1, prepend=0) % 256).ravel())
        buf = io.BytesIO()
        Image.fromarray(plane, "L").save(buf, format="PNG")
        t0 = time.perf_counter()
        section, data = encode_section(plane)
        t1 = time.perf_counter()
        back = decode_section({section: data}, *plane.shape)
        t2 = time.perf_counter()
        assert np.array_equal(back, plane), name
        print(f"| {name} | {plane.shape[1]}x{plane.shape[0]} | {len(old):,} | {len(buf.getvalue()):,} | "
              f"{len(data):,} | {METHODS[data[0]]} | {t1 - t0:.2f} | {t2 - t1:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
