"""How much would inter-Gaussian contexts save? Empirical entropies of the scene codec's integers.

    python benchmarks/scene_context_entropy.py --quality 3

For each real scene, in the codec's Morton order and with the preset's quantizers, it prints the
empirical entropy (bits per Gaussian) of colour, log-scale and opacity integers: alone, given the
previous Gaussian's value (16 or 64 quantile bins), given the sum of the previous two (32 bins),
and of the difference to the previous one (DPCM). Context tables would cost bytes too, so these
are upper bounds on the saving. No bitstream is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from codec.scene.codec import quantization_grid
from codec.scene.io import read
from codec.scene.morton import morton_order
from codec.scene.presets import get_preset
from codec.scene.quantize import opacity_to_int, positions_to_int, uniform_to_int

SCENES = Path(__file__).resolve().parents[2] / "shared" / "data" / "scenes"
FILES = ("playcanvas_biker/biker.compressed.ply", "playcanvas_guitar/guitar.compressed.ply",
         "padilla_plant/plant.splat")


def entropy(x: np.ndarray) -> float:
    """Empirical entropy in bits of the values of ``x``."""
    _, counts = np.unique(x, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def conditional_entropy(x: np.ndarray, ctx: np.ndarray) -> float:
    """Empirical H(x | ctx) in bits."""
    return sum(float((ctx == v).mean()) * entropy(x[ctx == v]) for v in np.unique(ctx))


def quantile_bins(v: np.ndarray, count: int) -> np.ndarray:
    edges = np.unique(np.quantile(v, np.linspace(0, 1, count + 1)[1:-1]))
    return np.searchsorted(edges, v)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quality", type=int, default=3)
    p.add_argument("--data", type=Path, default=SCENES)
    args = p.parse_args()
    preset = get_preset(args.quality)
    for rel in FILES:
        scene = read(args.data / rel)
        origin, step = quantization_grid(scene, preset)
        order = morton_order(positions_to_int(scene.means, origin, step))
        qs = uniform_to_int(scene.log_scales[order], preset.scale_step)
        qc = np.round(scene.sh_dc[order] / preset.color_step).astype(np.int64)
        streams = {"color_g": qc[:, 1], "color_r-g": qc[:, 0] - qc[:, 1], "color_b-g": qc[:, 2] - qc[:, 1],
                   "scale_0": qs[:, 0], "scale_1": qs[:, 1], "scale_2": qs[:, 2],
                   "opacity": opacity_to_int(scene.opacity_logits[order], preset.opacity_bits)}
        print(f"{rel} ({len(scene)} Gaussians), bits per Gaussian")
        print("  stream      alone  |prev16  |prev64  |sum2_32  x-prev")
        for name, x in streams.items():
            prev = np.concatenate([x[:1], x[:-1]])
            prev2 = np.concatenate([x[:2], x[:-2]])
            print(f"  {name:10s} {entropy(x):6.2f} {conditional_entropy(x, quantile_bins(prev, 16)):7.2f} "
                  f"{conditional_entropy(x, quantile_bins(prev, 64)):7.2f} "
                  f"{conditional_entropy(x, quantile_bins(prev + prev2, 32)):8.2f} {entropy(x - prev):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
