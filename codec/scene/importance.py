"""Importance classes of scene format 3: how much coarser a Gaussian's colour, rotation and
position refinement may be because it weighs little in any render.

A Gaussian's share of the pixels it covers grows with its opacity ``alpha`` and its footprint,
the area of its largest cross-section ``A = exp(s_mid + s_max)`` (its two largest log-scales).
Its weight is ``log2 w = log2 alpha + log2 A`` and its class

    c = min(floor((ref - log2 w) / 2), 3)    (0 for w >= 2^ref)

so each class doubles the step (halves the precision) for a quarter of the weight; ``ref`` is
the weight at a percentile the preset chooses (``Preset.keep``: the share of Gaussians that keep
full precision). On donut the weight ``alpha * A`` measured better than ``alpha^2 * A`` (the
pixel energy of a colour error), which relaxed the faint Gaussians too much.

The decoder sees the same integers the encoder used: with ``qo`` the opacity level and
``s_mid + s_max`` the sum of the two largest quantized log-scales, the class is

    c = clip((WO[qo] + WA[s_mid + s_max - lo] - 128) >> 1, 0, 3)

where ``WO`` ([2^opacity_bits] uint8, ``floor(-log2 alpha)``) and ``WA`` ([k] uint8,
``128 + floor(ref - log2 A)`` clipped to [0, 255]: a footprint larger than the reference one
lowers the class) are header fields the encoder writes. Each
attribute then uses ``min(c, relax)`` with its own cap from the header (``relax``, 3 bytes:
colour, rotation, position refinement).
"""

from __future__ import annotations

import numpy as np

from codec.errors import CorruptDataError

from .quantize import opacity_from_int

__all__ = ["MAX_CLASS", "AREA_BIAS", "importance_tables", "importance_class", "area_index"]

MAX_CLASS = 3  # classes 0..3: steps x1, x2, x4, x8
AREA_BIAS = 128  # WA holds 128 + floor(ref - log2 A), so it can lower the class too


def area_index(s0: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """[N] int64: the sum of the two largest of three quantized log-scales ([N] int64 each)."""
    smin = np.minimum(np.minimum(s0, s1), s2)
    return s0 + s1 + s2 - smin


def importance_tables(qo: np.ndarray, qs: np.ndarray, opacity_bits: int, scale_step: float,
                      scale_offset: float, keep: float, among: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, int]:
    """(WO [2^opacity_bits] uint8, WA [k] uint8, lo) for opacity levels ``qo`` [N] int64 and
    quantized log-scales ``qs`` [N, 3] int64 (log-scale = q * scale_step + scale_offset).

    ``ref`` is the ``keep`` quantile (in [0, 1]) of the log2 weights of the Gaussians selected by
    ``among`` ([N] bool, default all), so that share of them keeps class 0 (up to the tables'
    integer rounding). The encoder passes the bulk of the scene (``data.bulk_mask``): a far
    sky-dome's Gaussians are large in scene units but small on screen, and ranking the object's
    Gaussians against them relaxed most of the object (tap: 3.5 dB at quality 3)."""
    levels = (1 << opacity_bits) - 1
    log2_alpha = np.log2(np.maximum(np.arange(levels + 1) / levels, 0.25 / levels))
    wo = np.clip(np.floor(-log2_alpha), 0, 255).astype(np.uint8)
    ai = area_index(qs[:, 0], qs[:, 1], qs[:, 2]) if len(qs) else np.zeros(1, np.int64)
    lo, hi = int(ai.min()), int(ai.max())
    log2_area = (np.arange(lo, hi + 1) * scale_step + 2 * scale_offset) / np.log(2)
    if len(qs):
        sel = slice(None) if among is None else among
        ref = float(np.quantile((log2_alpha[qo] + log2_area[ai - lo])[sel], 1.0 - keep))
    else:
        ref = 0.0
    wa = np.clip(AREA_BIAS + np.floor(ref - log2_area), 0, 255).astype(np.uint8)
    return wo, wa, lo


def importance_class(qo: np.ndarray, area: np.ndarray, wo: np.ndarray, wa: np.ndarray, lo: int) -> np.ndarray:
    """[N] int64 classes in [0, 3] from opacity levels ``qo`` [N] and area indices ``area`` [N]
    (:func:`area_index`) through the stored tables (see the module docstring)."""
    i = area - lo
    if len(i) and (i.min() < 0 or i.max() >= len(wa)):
        raise CorruptDataError("importance table does not cover the decoded scales")
    if len(qo) and qo.max() >= len(wo):
        raise CorruptDataError("importance table does not cover the opacity levels")
    c = (wo.astype(np.int64)[qo] + wa.astype(np.int64)[i] - AREA_BIAS) >> 1
    return np.clip(c, 0, MAX_CLASS)
