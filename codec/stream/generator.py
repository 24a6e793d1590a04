"""Reproducible moving-parts sequences made from a static scene (for tests and benchmarks).

``moving_sequence(scene, frames, moving_fraction=0.1, seed=0)`` picks ``parts`` spatially
compact clusters of Gaussians (the ones nearest to random seed Gaussians) that together hold
about ``moving_fraction`` of the scene, and moves each cluster rigidly on a smooth path:
a sinusoidal translation (amplitude ``amplitude`` times the scene extent) plus a sinusoidal
rotation about its centroid (up to ``max_angle`` radians, random axis). Rotations turn the
quaternions too. Everything else stays exactly as in ``scene``. The same arguments give the
same frames on every run (``numpy.random.default_rng(seed)``).
"""

from __future__ import annotations

import numpy as np

from codec.scene.data import GaussianScene
from codec.scene.frame import quat_multiply, rotation_matrices

__all__ = ["moving_sequence", "moving_indices", "random_scene"]


def random_scene(n: int, seed: int = 0, sh_degree: int = 0) -> GaussianScene:
    """A synthetic scene of ``n`` Gaussians in the unit cube (tests and examples)."""
    from codec.scene.data import SH_COEFFS

    rng = np.random.default_rng(seed)
    k = SH_COEFFS[sh_degree]
    return GaussianScene(rng.uniform(-1, 1, (n, 3)), rng.normal(-4, 0.5, (n, 3)), rng.normal(size=(n, 4)),
                         rng.normal(0, 2, n), rng.normal(0, 1, (n, 3)), rng.normal(0, 0.2, (n, k, 3)))


def moving_indices(scene: GaussianScene, moving_fraction: float = 0.1, parts: int = 4,
                   seed: int = 0) -> list[np.ndarray]:
    """Indices ``[M_i]`` of each moving cluster (disjoint, sorted)."""
    from scipy.spatial import cKDTree

    n = len(scene)
    rng = np.random.default_rng(seed)
    per = max(1, int(round(n * moving_fraction / parts)))
    tree = cKDTree(scene.means.astype(np.float64))
    taken = np.zeros(n, bool)
    out = []
    for s in rng.choice(n, size=parts, replace=False).tolist():
        _, nn = tree.query(scene.means[s].astype(np.float64), k=min(n, 3 * per))
        nn = np.atleast_1d(nn)
        nn = nn[~taken[nn]][:per]
        taken[nn] = True
        out.append(np.sort(nn))
    return out


def _axis_angle_quat(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    return np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * axis])


def moving_sequence(scene: GaussianScene, frames: int, moving_fraction: float = 0.1,
                    parts: int = 4, seed: int = 0, amplitude: float = 0.03,
                    max_angle: float = 0.3, period: float = 48.0) -> list[GaussianScene]:
    """``frames`` scenes: ``scene`` with ``parts`` clusters moving smoothly (frame 0 included
    at its t=0 pose, which is ``scene`` itself)."""
    if frames < 1:
        raise ValueError("frames must be >= 1")
    rng = np.random.default_rng(seed + 1)
    lo, hi = scene.bounds()
    extent = float(np.max(hi - lo)) or 1.0
    groups = moving_indices(scene, moving_fraction, parts, seed)
    params = [(rng.normal(size=3), rng.uniform(0, 2 * np.pi, 3), rng.normal(size=3),
               rng.uniform(0.5, 1.5)) for _ in groups]
    base_m = scene.means.astype(np.float64)
    base_q = scene.quats.astype(np.float64)
    out = []
    for t in range(frames):
        means, quats = base_m.copy(), base_q.copy()
        for idx, (direction, phase, axis, speed) in zip(groups, params):
            w = 2 * np.pi * speed * t / period
            shift = amplitude * extent * (np.sin(w + phase) - np.sin(phase)) * direction / np.linalg.norm(direction)
            rot = _axis_angle_quat(axis, max_angle * np.sin(w))
            centre = base_m[idx].mean(axis=0)
            means[idx] = (base_m[idx] - centre) @ rotation_matrices(rot[None])[0].T + centre + shift
            quats[idx] = quat_multiply(rot, base_q[idx])
        out.append(GaussianScene(means, scene.log_scales, quats, scene.opacity_logits, scene.sh_dc,
                                 scene.sh_rest))
    return out
