"""Quality presets of the scene codec and the error bounds each one guarantees.

Bounds are per attribute, per Gaussian, against the (un-pruned) input, in the codec's
quantization domain: positions in scene units relative to the largest bounding-box side E
(and never coarser than an absolute cap where one is given), log-scales in log units, opacity
after sigmoid, DC colour in f_dc units (rgb error = 0.2821 x that), quaternion components of
the smallest-three representation. SH rest goes through a k-means codebook (no hard bound;
the mean error is reported by ``codec scene eval``).
"""

from __future__ import annotations

from dataclasses import dataclass

from codec.errors import InvalidInputError

__all__ = ["Preset", "PRESETS", "DEFAULT_QUALITY", "get_preset", "bounds_text"]


@dataclass(frozen=True)
class Preset:
    quality: int
    pos_bits: int  # grid step = E / 2**pos_bits ...
    pos_step_cap: float | None  # ... but at most this many scene units (None: no cap)
    scale_step: float  # log-scale step
    rot_bits: int  # bits per smallest-three component
    opacity_bits: int
    color_step: float  # f_dc step
    sh_codebook: int  # k-means codewords for SH rest

    def bounds(self) -> dict[str, str]:
        pos = f"E/2^{self.pos_bits + 1}"
        if self.pos_step_cap is not None:
            pos += f" and <= {self.pos_step_cap / 2:.3g}"
        return {
            "position": pos,
            "log-scale": f"{self.scale_step / 2:.3g}",
            "opacity": f"{0.5 / ((1 << self.opacity_bits) - 1):.3g}",
            "f_dc": f"{self.color_step / 2:.3g}",
            "quaternion": f"{1 / (2 ** 0.5 * ((1 << self.rot_bits) - 1)):.3g}",
            "sh_rest": f"k-means, {self.sh_codebook} codewords",
        }


SPZ_POSITION_STEP = 2.0 ** -12  # SPZ's fixed point (12 fractional bits)

PRESETS: dict[int, Preset] = {p.quality: p for p in (
    Preset(1, 12, None, 1 / 8, 6, 5, 0.08, 1024),
    Preset(2, 14, None, 1 / 12, 7, 6, 0.05, 2048),
    Preset(3, 16, SPZ_POSITION_STEP, 1 / 16, 8, 7, 0.035, 4096),
    Preset(4, 17, SPZ_POSITION_STEP, 1 / 24, 9, 8, 0.025, 8192),
    Preset(5, 18, SPZ_POSITION_STEP / 2, 1 / 32, 10, 8, 0.015, 16384),
)}
DEFAULT_QUALITY = 3


def get_preset(quality: int) -> Preset:
    if quality not in PRESETS:
        raise InvalidInputError(f"quality must be one of {sorted(PRESETS)}, got {quality}")
    return PRESETS[quality]


def bounds_text() -> str:
    """One line per preset with its guaranteed max errors (for --help and the docs)."""
    lines = []
    for q, p in PRESETS.items():
        b = p.bounds()
        lines.append(f"  {q}{' (default)' if q == DEFAULT_QUALITY else ''}: position {b['position']}, "
                     f"log-scale {b['log-scale']}, opacity {b['opacity']}, f_dc {b['f_dc']}, "
                     f"quaternion {b['quaternion']}, SH rest {b['sh_rest']}")
    return "\n".join(lines)
