"""antimatter15 ``.splat``: 32 bytes per Gaussian, no header, SH degree 0 only.

Record (little-endian): float32 position[3], float32 *linear* scale[3], uint8 RGBA
(RGB = 0.5 + C0 * f_dc, A = sigmoid(opacity), both * 255), uint8 quaternion[4] in (w, x, y, z)
stored as ``q * 128 + 128``. Higher SH bands are dropped on write (with a warning).
"""

from __future__ import annotations

import warnings

import numpy as np

from codec.errors import CorruptDataError, LimitExceededError

from ._files import MAX_GAUSSIANS
from .data import SH_C0, GaussianScene, logit

__all__ = ["read_splat", "write_splat", "SPLAT_DTYPE"]

SPLAT_DTYPE = np.dtype([("pos", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rot", "u1", 4)])


def read_splat(buf: bytes, what: str = ".splat") -> GaussianScene:
    """Decode a ``.splat`` byte string into a scene."""
    if len(buf) % SPLAT_DTYPE.itemsize:
        raise CorruptDataError(f"{what}: size {len(buf)} is not a multiple of 32 bytes (truncated or not a .splat)")
    n = len(buf) // SPLAT_DTYPE.itemsize
    if n > MAX_GAUSSIANS:
        raise LimitExceededError(f"{what}: {n} Gaussians is over the limit {MAX_GAUSSIANS}")
    rec = np.frombuffer(buf, SPLAT_DTYPE, count=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_scales = np.log(rec["scale"].astype(np.float64))
    rgba = rec["rgba"].astype(np.float64) / 255.0
    quats = (rec["rot"].astype(np.float64) - 128.0) / 128.0
    return GaussianScene.cleaned(rec["pos"], log_scales, quats, logit(rgba[:, 3], 0.25 / 255),
                                 (rgba[:, :3] - 0.5) / SH_C0, None, source=what)


def write_splat(scene: GaussianScene) -> bytes:
    """Encode ``scene`` as ``.splat`` (order kept; SH rest dropped with a warning)."""
    if scene.sh_degree > 0:
        warnings.warn(".splat has no SH bands: dropping SH degree %d" % scene.sh_degree, UserWarning, stacklevel=2)
    rec = np.zeros(len(scene), SPLAT_DTYPE)
    rec["pos"] = scene.means
    rec["scale"] = scene.scales
    rgb = np.clip(np.round(scene.base_rgb.astype(np.float64) * 255.0), 0, 255)
    a = np.clip(np.round(scene.opacities.astype(np.float64) * 255.0), 0, 255)
    rec["rgba"] = np.concatenate([rgb, a[:, None]], axis=1).astype(np.uint8)
    rec["rot"] = np.clip(np.round(scene.quats.astype(np.float64) * 128.0 + 128.0), 0, 255).astype(np.uint8)
    return rec.tobytes()
