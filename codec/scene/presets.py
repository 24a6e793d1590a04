"""Quality presets of the scene codec and the error bounds each one guarantees.

Bounds are per attribute, per Gaussian, against the (un-pruned) input, in the codec's
quantization domain: positions in scene units relative to the largest bounding-box side E
(and never coarser than an absolute cap where one is given), log-scales in log units, opacity
after sigmoid, DC colour in f_dc units (rgb error = 0.2821 x that), rotations in modified
Rodrigues parameters of the canonical frame, SH rest coefficients in SH units (the f_dc step,
per band).
Where the input already sits on a coarser uniform grid (an SPZ file: log-scales in 1/16, colours
in 1/38.25, SH in 1/16 and 1/8, fixed-point means), the codec quantizes on that grid or a
multiple of it: never coarser than the preset's step unless the grid itself is, and exact where
the preset's step is finer than the grid. Bounds on log-scales and rotations compare each
Gaussian in its canonical frame (``frame.py``), the frame the decoder returns. Colour on such a
grid g is exact for f = 1 and has the step g x f otherwise, with f capped (``codec.color_relax``: one factor of 2 less when g is up to
twice the step, f = 1 when coarser) so that g x f never exceeds the preset's largest colour step,
step x 2^relax_color: the f_dc bound with f = 2^relax_color holds. The bounds hold for raw training output too:
unnormalised quaternions are normalised (the render does the same), and opacity is coded after
the sigmoid, so a large logit only moves within the last level (1/510 of opacity).

Two bounds adapt to the Gaussian itself, so that the error stays small *relative to its own
shape*: the position error is at most ``g + max(g, pos_rel/2 * sigma_mid)`` where ``g`` is half
the fine grid step and ``sigma_mid`` the median standard deviation of the Gaussian; the
rotation, in the Gaussian's canonical frame (``frame.py``: axes by decreasing scale, the
smallest of its equivalent rotations), is stored as three modified Rodrigues parameters
(``tan(angle/4)`` times the axis) exact to ``(sqrt2 - 1)/(2^b - 1)`` each (a turn of about 4
times that) for elongated Gaussians, coarser as ``1/(1 - exp(-2a))`` for near-isotropic ones
(``a`` = largest minus smallest log-scale), where a rotation error matters proportionally less;
a Gaussian with ``a`` under about ``2^-(b-1)`` stores no rotation at all. (A stream's keyframes
keep the input's frame and smallest-three components, exact to ``1/(sqrt2 (2^b - 1))``.)

Importance factor ``f = 2^c`` (scene format 3, ``importance.py``): a Gaussian that weighs
little in any render (low opacity times footprint) gets a class ``c`` in 0..3, decided from its
decoded opacity and log-scales so encoder and decoder agree exactly; the heaviest ``keep`` share
of the Gaussians has ``c = 0``. Its colour step is ``f = 2^min(c, relax_color)`` times the
preset's and its rotation components lose ``min(c, relax_rot)`` bits, so the bounds below hold
with ``f = 1`` for those Gaussians and relax by at most ``2^relax`` for the others. (Relaxing
position refinement the same way was measured and cost more PSNR than it saved bytes, so no
preset does.)
"""

from __future__ import annotations

from dataclasses import dataclass

from codec.errors import InvalidInputError

__all__ = ["Preset", "PRESETS", "DEFAULT_QUALITY", "LEGACY_PRESETS", "get_preset", "bounds_text"]


@dataclass(frozen=True)
class Preset:
    quality: int
    pos_bits: int  # grid step = E / 2**pos_bits ...
    pos_step_cap: float | None  # ... but at most this many scene units (None: no cap)
    scale_step: float  # log-scale step
    rot_bits: int  # bits per smallest-three component
    opacity_bits: int
    color_step: float  # f_dc step (x f, see relax_color)
    pos_rel: float = 0.02  # position step at most this times the median standard deviation
    relax_color: int = 0  # colour step x f, f = 2**min(importance class, relax_color) (0: off)
    relax_rot: int = 0  # rotation bits - log2 f, f = 2**min(importance class, relax_rot)
    relax_pos: int = 0  # same for position refinement levels; all presets keep 0 (measured: costs PSNR)
    keep: float = 1.0  # share of Gaussians (the heaviest) whose importance class is 0
    sh_step: float = 0.035  # SH rest step (not relaxed by importance)

    def bounds(self) -> dict[str, str]:
        def quat(bits: int) -> str:  # half a step of a modified Rodrigues parameter (frame.py)
            return f"{(2 ** 0.5 - 1) / ((1 << bits) - 1):.3g}/(1 - exp(-2a))"

        fine = f"E/2^{self.pos_bits + 1}"
        if self.pos_step_cap is not None:
            fine = f"min(E/2^{self.pos_bits + 1}, {self.pos_step_cap / 2:.3g})"
        pos = f"g + max(g, {self.pos_rel / 2:.3g} sigma_mid) with g = {fine}"
        return {
            "position": pos,
            "log-scale": f"{self.scale_step / 2:.3g}",
            "opacity": f"{0.5 / ((1 << self.opacity_bits) - 1):.3g}",
            "f_dc": f"{self.color_step / 2:.3g}" + (f" x f (f <= {1 << self.relax_color})" if self.relax_color else ""),
            "rotation": quat(self.rot_bits) + (f" for f = 1, at most {quat(self.rot_bits - self.relax_rot)}"
                                                 if self.relax_rot else ""),
            "sh_rest": f"{self.sh_step / 2:.3g}",
        }


SPZ_POSITION_STEP = 2.0 ** -12  # SPZ's fixed point (12 fractional bits)

PRESETS: dict[int, Preset] = {p.quality: p for p in (
    # quality, pos_bits, cap, scale step, rot bits, opacity bits, f_dc step, pos_rel, relax_color,
    # relax_rot, relax_pos, keep, SH rest step (tuned on donut's renders, checked on biker, guitar,
    # plant and tap: docs/scenes.md, "Benchmark")
    Preset(1, 12, None, 1 / 6, 7, 6, 0.05, 0.1, 3, 3, 0, 0.2, 0.07),
    Preset(2, 13, None, 1 / 12, 7, 7, 0.025, 0.03, 3, 2, 0, 0.25, 0.05),
    Preset(3, 14, SPZ_POSITION_STEP, 1 / 24, 8, 8, 0.0125, 0.01, 3, 2, 0, 0.25, 0.035),
    Preset(4, 16, SPZ_POSITION_STEP, 1 / 28, 9, 8, 0.009, 0.005, 3, 2, 0, 0.3, 0.025),
    Preset(5, 17, SPZ_POSITION_STEP / 2, 1 / 32, 10, 8, 0.006, 0.0025, 3, 2, 0, 0.35, 0.015),
)}
DEFAULT_QUALITY = 3

# what scene format 1 and 2 files take from their quality (the presets as they were then; format 3
# stores these in its header): quality -> (opacity bits, rotation bits, colour relaxation by
# opacity class, log-scale step, f_dc step), the last two for format 1 only
LEGACY_PRESETS: dict[int, tuple[int, int, int, float, float]] = {
    1: (6, 6, 2, 1 / 8, 0.07), 2: (7, 6, 1, 1 / 12, 0.05), 3: (8, 7, 0, 1 / 24, 0.035),
    4: (8, 8, 0, 1 / 24, 0.025), 5: (8, 9, 0, 1 / 32, 0.015)}


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
                     f"rotation (MRP component) {b['rotation']}, SH rest {b['sh_rest']}")
    lines.append("  (f = 2^c, c = the Gaussian's importance class 0..3 (0 for the heaviest Gaussians, see"
                 " docs/scenes.md); a = largest minus smallest log-scale; sigma_mid = median standard deviation"
                 " of the Gaussian)")
    return "\n".join(lines)
