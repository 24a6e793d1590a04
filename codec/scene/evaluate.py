"""Scene evaluation: orbit cameras, PSNR/SSIM of renders, per-attribute errors.

Cameras orbit the *robust* centre of the scene (the median of the means) on a circle in the
plane orthogonal to the PLY up axis (-y), at a radius set from the 10-90 % percentile box of
the bulk: the 80 % of Gaussians nearest that centre. Far-away floaters or a background shell
(a sky-dome of up to a fifth of the Gaussians) do not push the cameras out. Both scenes of a comparison are rendered from
the same cameras with :func:`codec.scene.render.render`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from codec.errors import InvalidInputError

from .cameras import parse_orbit
from .data import GaussianScene, bulk_means, sigmoid
from .frame import align_frames, equivalent_quats
from .render import Camera, render

__all__ = ["orbit_cameras", "parse_camera", "psnr", "ssim", "attribute_errors", "match_gaussians", "evaluate",
           "to_uint8"]

UP = np.array([0.0, -1.0, 0.0])
SSIM_WINDOW = 11  # pixels: the side of the Gaussian window of :func:`ssim`
BULK_PERCENT = 80  # the share of Gaussians nearest the median that the cameras frame


def orbit_cameras(scene: GaussianScene, views: int = 8, size: int = 512, elevation_deg: float = 20.0,
                  distance: float = 1.0, fov_x_deg: float = 60.0) -> list[Camera]:
    """``views`` cameras evenly spaced on an orbit around the scene (see the module docstring)."""
    if views < 1:
        raise InvalidInputError(f"views must be >= 1, got {views}")
    if size < 1:
        raise InvalidInputError(f"size must be >= 1 pixel, got {size}")
    if len(scene) == 0:
        center, radius = np.zeros(3), 1.0
    else:
        center = np.median(scene.means.astype(np.float64), axis=0)
        bulk = bulk_means(scene.means, BULK_PERCENT)
        lo, hi = np.percentile(bulk, 10, axis=0), np.percentile(bulk, 90, axis=0)
        radius = max(float(np.linalg.norm(hi - lo)) * distance, 1e-3)
    el = math.radians(elevation_deg)
    cams = []
    for k in range(views):
        az = 2 * math.pi * k / views
        offset = radius * (math.cos(el) * np.array([math.sin(az), 0.0, math.cos(az)]) + math.sin(el) * UP)
        cams.append(Camera.look_at(center + offset, center, UP, size, size, fov_x_deg))
    return cams


def parse_camera(spec: str, scene: GaussianScene, size: int = 512, views: int = 8) -> Camera:
    """The camera of ``spec`` (:func:`parse_orbit`) for ``scene``, ``size`` pixels square."""
    k, m = parse_orbit(spec, views)
    return orbit_cameras(scene, m, size)[k]


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[H, W, 3] float render -> [H, W, 3] uint8 (clamped to [0, 1], rounded)."""
    return (img.clamp(0, 1) * 255.0).round().to(torch.uint8).numpy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (11x11 Gaussian window, sigma 1.5, per channel, valid region) of two uint8
    images. The window is separable: float64 numpy, 11 taps down then 11 across."""
    g = np.exp(-((np.arange(SSIM_WINDOW) - SSIM_WINDOW // 2.0) ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()

    def f(t):  # [H, W, C] -> [H - 10, W - 10, C]
        t = sliding_window_view(t, SSIM_WINDOW, axis=0) @ g
        return sliding_window_view(t, SSIM_WINDOW, axis=1) @ g

    x, y = a.astype(np.float64) / 255.0, b.astype(np.float64) / 255.0
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def attribute_errors(orig: GaussianScene, other: GaussianScene) -> dict[str, dict[str, float]]:
    """Max/mean absolute error per attribute of two scenes with the same Gaussians in the same
    order; ``other``'s Gaussians are first put in the local frames of ``orig``'s
    (``frame.align_frames``: a writer may permute a Gaussian's axes, as scene format 5 does), and
    quaternions compare up to sign; opacity after sigmoid."""
    if len(orig) != len(other):
        raise InvalidInputError(f"scenes differ in size ({len(orig)} vs {len(other)}): no per-Gaussian errors")
    scales, quats = align_frames(orig.quats, other.log_scales, other.quats)
    out = {}
    pairs = {"means": (orig.means, other.means), "log_scales": (orig.log_scales, scales),
             "opacity": (sigmoid(orig.opacity_logits), sigmoid(other.opacity_logits)),
             "sh_dc": (orig.sh_dc, other.sh_dc)}
    if orig.sh_rest.shape == other.sh_rest.shape and orig.sh_rest.size:
        pairs["sh_rest"] = (orig.sh_rest, other.sh_rest)
    for name, (a, b) in pairs.items():
        d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
        out[name] = {"max": float(d.max()) if d.size else 0.0, "mean": float(d.mean()) if d.size else 0.0}
    qa = orig.quats.astype(np.float64)
    d = np.minimum(np.abs(qa - quats).max(1), np.abs(qa + quats).max(1))
    out["quats"] = {"max": float(d.max()) if d.size else 0.0, "mean": float(d.mean()) if d.size else 0.0}
    return out


def match_gaussians(orig: GaussianScene, other: GaussianScene, candidates: int = 8) -> np.ndarray:
    """[M] int64 index into ``orig`` of the Gaussian each Gaussian of ``other`` is a copy of.

    For scenes whose Gaussians are the same up to order and small errors (a decoded file in
    Morton order, a re-encoded copy): among the ``candidates`` nearest means (kd-tree), the
    one whose log-scales, opacity, DC colour and rotation differ least (each in units of its
    spread over ``orig``), so coincident means are told apart; where the Gaussian at the same
    index is as good as any, it is kept (identity when the orders already agree).
    """
    from scipy.spatial import cKDTree

    if len(orig) == 0 or len(other) == 0:
        return np.zeros(len(other), np.int64)
    k = min(candidates, len(orig))
    _, idx = cKDTree(orig.means.astype(np.float64)).query(other.means.astype(np.float64), k=k)
    idx = idx.reshape(len(other), k)
    if len(orig) == len(other):
        idx = np.column_stack([np.arange(len(other)), idx])  # the same index first: wins ties
    # sorted log-scales and the best of the 24 equivalent rotations: whichever frame each writer chose
    def features(s: GaussianScene) -> np.ndarray:
        return np.column_stack([np.sort(s.log_scales, axis=1), sigmoid(s.opacity_logits), s.sh_dc]).astype(np.float64)

    fo, ft = features(orig), features(other)
    spread = fo.std(axis=0) + 1e-9
    cost = (np.abs(fo[idx] - ft[:, None, :]) / spread).sum(axis=2)  # [M, k]
    pos = np.linalg.norm(orig.means[idx].astype(np.float64) - other.means[:, None].astype(np.float64), axis=2)
    cost += pos / (orig.means.astype(np.float64).std(axis=0).mean() + 1e-12)
    cand = orig.quats[idx].astype(np.float64)  # [M, k, 4]
    best = np.zeros(idx.shape)
    for frame in np.moveaxis(equivalent_quats(other.quats), 1, 0):  # 24 x [M, 4]: [M, k] at a time
        best = np.maximum(best, np.abs(np.einsum("mkc,mc->mk", cand, frame)))
    cost += 1.0 - best
    return idx[np.arange(len(other)), cost.argmin(axis=1)].astype(np.int64)


def evaluate(orig: GaussianScene, other: GaussianScene, views: int = 8, size: int = 512,
             same_order: bool = False) -> dict:
    """Render both scenes from the orbit cameras of ``orig``; PSNR/SSIM per view and mean.

    With equal counts, also per-attribute errors of each Gaussian of ``other`` against the one
    of ``orig`` it copies: the same index when ``same_order`` (the caller knows, e.g. it put
    ``orig`` in a ``.gsz``'s order), else :func:`match_gaussians` (which can pair a Gaussian
    with a near-duplicate neighbour when they differ by less than the coding error);
    ``matching`` says how they were paired."""
    if size < SSIM_WINDOW:
        raise InvalidInputError(f"size must be at least {SSIM_WINDOW} pixels (the SSIM window), got {size}")
    cams = orbit_cameras(orig, views, size)
    per_view = []
    for cam in cams:
        a, b = to_uint8(render(orig, cam)), to_uint8(render(other, cam))
        per_view.append({"psnr": psnr(a, b), "ssim": ssim(a, b)})
    finite = [v["psnr"] for v in per_view if math.isfinite(v["psnr"])]
    result = {"views": views, "size": size,
              "psnr": float(np.mean(finite)) if len(finite) == len(per_view) else float("inf"),
              "ssim": float(np.mean([v["ssim"] for v in per_view])), "per_view": per_view}
    if len(orig) == len(other):
        match = np.arange(len(orig)) if same_order else match_gaussians(orig, other)
        same = bool((match == np.arange(len(orig))).all())
        result["matching"] = "same order" if same else f"nearest ({len(np.unique(match))} distinct of {len(match)})"
        result["attributes"] = attribute_errors(orig if same else orig.subset(match), other)
    return result
