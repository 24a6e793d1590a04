"""The in-memory 3D Gaussian scene: pre-activation float32 attributes, validated once.

Letters: N Gaussians, K higher-order SH coefficients per colour channel (0, 3, 8 or 15 for SH
degree 0..3). Values are stored the way the INRIA ``.ply`` stores them (pre-activation):

=============== ================ ==========================================================
attribute        shape, dtype      meaning
=============== ================ ==========================================================
means            [N, 3] float32    centre, scene units (PLY/RDF convention)
log_scales       [N, 3] float32    log of the three standard deviations (``exp`` activates)
quats            [N, 4] float32    unit quaternion (w, x, y, z), normalised on construction
opacity_logits   [N] float32       logit of opacity (``sigmoid`` activates)
sh_dc            [N, 3] float32    SH degree-0 coefficient per channel; rgb = 0.5 + C0 * dc
sh_rest          [N, K, 3] float32 SH coefficients 1..K, coefficient-major, RGB innermost
=============== ================ ==========================================================

A :class:`GaussianScene` never shares memory with the arrays it was built from and never
changes them. Non-finite values are rejected (:class:`~codec.errors.InvalidInputError`);
readers call :func:`GaussianScene.cleaned` instead, which drops such Gaussians with a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from codec.errors import InvalidInputError

__all__ = ["GaussianScene", "bulk_means", "bulk_mask", "SH_C0", "OPACITY_LOGIT_LIMIT", "SH_COEFFS", "sh_degree_for", "sigmoid", "logit"]

SH_C0 = 0.28209479177387814
SH_COEFFS = {0: 0, 1: 3, 2: 8, 3: 15}  # K per degree
OPACITY_LOGIT_LIMIT = 20.0  # |logit| that +-inf opacities are clamped to
_DEGREE_FOR_K = {k: d for d, k in SH_COEFFS.items()}


def sh_degree_for(k: int) -> int:
    """SH degree for K rest coefficients per channel; raises InvalidInputError otherwise."""
    if k not in _DEGREE_FOR_K:
        raise InvalidInputError(f"{k} SH rest coefficients per channel is not a degree 0..3 layout")
    return _DEGREE_FOR_K[k]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Elementwise logistic, float64 internally, no overflow warnings."""
    x = np.asarray(x, np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def logit(p: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Inverse of :func:`sigmoid` with p clipped to [eps, 1 - eps]."""
    p = np.clip(np.asarray(p, np.float64), eps, 1.0 - eps)
    return np.log(p) - np.log1p(-p)


def bulk_mask(means: np.ndarray, percent: float = 80.0) -> np.ndarray:
    """[N] bool: the ``percent`` % of the means [N, 3] (N > 0) nearest their median, the bulk of
    a scene without a far background shell (a sky-dome) or floaters."""
    m = np.asarray(means, np.float64)
    dist = np.linalg.norm(m - np.median(m, axis=0), axis=1)
    return dist <= np.percentile(dist, percent)


def bulk_means(means: np.ndarray, percent: float = 80.0) -> np.ndarray:
    """[M, 3] float64: the means of :func:`bulk_mask`."""
    return np.asarray(means, np.float64)[bulk_mask(means, percent)]


def _as_f32(name: str, a, shape_tail: tuple[int, ...]) -> np.ndarray:
    arr = np.array(a, dtype=np.float32, copy=True)
    if arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != shape_tail:
        raise InvalidInputError(f"{name}: expected shape [N, {', '.join(map(str, shape_tail))}], got {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class GaussianScene:
    """A validated, immutable-by-convention Gaussian scene (see the module table)."""

    means: np.ndarray
    log_scales: np.ndarray
    quats: np.ndarray
    opacity_logits: np.ndarray
    sh_dc: np.ndarray
    sh_rest: np.ndarray

    def __init__(self, means, log_scales, quats, opacity_logits, sh_dc, sh_rest=None):
        means = _as_f32("means", means, (3,))
        n = means.shape[0]
        log_scales = _as_f32("log_scales", log_scales, (3,))
        quats = _as_f32("quats", quats, (4,))
        opacity = np.array(opacity_logits, dtype=np.float32, copy=True).reshape(-1)
        sh_dc = _as_f32("sh_dc", sh_dc, (3,))
        if sh_rest is None:
            sh_rest = np.zeros((n, 0, 3), np.float32)
        sh_rest = np.array(sh_rest, dtype=np.float32, copy=True)
        if sh_rest.ndim != 3 or sh_rest.shape[2] != 3:
            raise InvalidInputError(f"sh_rest: expected shape [N, K, 3], got {sh_rest.shape}")
        sh_degree_for(sh_rest.shape[1])
        for name, arr in (("log_scales", log_scales), ("quats", quats), ("opacity_logits", opacity),
                          ("sh_dc", sh_dc), ("sh_rest", sh_rest)):
            if arr.shape[0] != n:
                raise InvalidInputError(f"{name} has {arr.shape[0]} rows but means has {n}")
        for name, arr in (("means", means), ("log_scales", log_scales), ("quats", quats),
                          ("opacity_logits", opacity), ("sh_dc", sh_dc), ("sh_rest", sh_rest)):
            if not np.isfinite(arr).all():
                bad = int((~np.isfinite(arr.reshape(n, -1))).any(axis=1).sum()) if n else 0
                raise InvalidInputError(
                    f"{name} has non-finite values in {bad} Gaussians; use GaussianScene.cleaned() to drop them")
        norms = np.linalg.norm(quats.astype(np.float64), axis=1)
        if n and (norms < 1e-12).any():
            raise InvalidInputError(
                f"{int((norms < 1e-12).sum())} zero-length quaternions; use GaussianScene.cleaned() to drop them")
        off = np.abs(norms - 1.0) > 1e-6  # already unit (to float32 precision): keep bits as they are
        if off.any():
            quats[off] = (quats[off] / norms[off, None]).astype(np.float32)
        for name, arr in (("means", means), ("log_scales", log_scales), ("quats", quats),
                          ("opacity_logits", opacity), ("sh_dc", sh_dc), ("sh_rest", sh_rest)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def _trusted(cls, means, log_scales, quats, opacity_logits, sh_dc, sh_rest) -> "GaussianScene":
        """Wrap arrays a decoder produced itself (float32, right shapes, finite, unit
        quaternions) without copying or re-checking them. Not for user input."""
        obj = object.__new__(cls)
        for name, arr in (("means", means), ("log_scales", log_scales), ("quats", quats),
                          ("opacity_logits", opacity_logits), ("sh_dc", sh_dc), ("sh_rest", sh_rest)):
            assert arr.dtype == np.float32
            arr.setflags(write=False)
            object.__setattr__(obj, name, arr)
        return obj

    @classmethod
    def cleaned(cls, means, log_scales, quats, opacity_logits, sh_dc, sh_rest=None,
                source: str = "input") -> "GaussianScene":
        """Build a scene, dropping Gaussians with NaN/Inf or zero quaternions (with a warning)."""
        means = np.asarray(means, np.float32)
        n = means.shape[0] if means.ndim == 2 else 0
        opacity_logits = np.asarray(opacity_logits, np.float32).reshape(-1)
        inf = np.isinf(opacity_logits)
        if inf.any():  # +-inf opacity is a legal "fully (in)visible" in some exporters: clamp it
            warnings.warn(f"{source}: clamped {int(inf.sum())} infinite opacity logits to +-{OPACITY_LOGIT_LIMIT}",
                          RuntimeWarning, stacklevel=2)
            opacity_logits = np.where(inf, np.sign(opacity_logits) * OPACITY_LOGIT_LIMIT, opacity_logits)
        if n == 0:  # an empty scene: nothing to drop (reshape(0, -1) is ambiguous); the constructor checks shapes
            return cls(means, log_scales, quats, opacity_logits, sh_dc, sh_rest)
        parts = [np.asarray(a, np.float32).reshape(n, -1) for a in
                 (means, log_scales, quats, opacity_logits, sh_dc)]
        if sh_rest is not None:
            parts.append(np.asarray(sh_rest, np.float32).reshape(n, -1))
        ok = np.ones(n, bool)
        for p in parts:
            ok &= np.isfinite(p).all(axis=1)
        q = np.asarray(quats, np.float64).reshape(n, -1)
        ok &= np.linalg.norm(np.where(np.isfinite(q), q, 0.0), axis=1) > 1e-12
        if not ok.all():
            warnings.warn(f"{source}: dropped {int((~ok).sum())} of {n} Gaussians with non-finite "
                          "values or zero quaternions", RuntimeWarning, stacklevel=2)
            sel = lambda a: None if a is None else np.asarray(a)[ok]  # noqa: E731
            return cls(sel(means), sel(log_scales), sel(quats), sel(opacity_logits), sel(sh_dc), sel(sh_rest))
        return cls(means, log_scales, quats, opacity_logits, sh_dc, sh_rest)

    @classmethod
    def empty(cls, sh_degree: int = 0) -> "GaussianScene":
        k = SH_COEFFS[sh_degree]
        z = lambda *s: np.zeros(s, np.float32)  # noqa: E731
        return cls(z(0, 3), z(0, 3), z(0, 4), z(0), z(0, 3), z(0, k, 3))

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return int(self.means.shape[0])

    @property
    def n(self) -> int:
        return len(self)

    @property
    def sh_degree(self) -> int:
        return sh_degree_for(self.sh_rest.shape[1])

    @property
    def opacities(self) -> np.ndarray:
        """[N] float32 in (0, 1): sigmoid of the logits."""
        return sigmoid(self.opacity_logits).astype(np.float32)

    @property
    def scales(self) -> np.ndarray:
        """[N, 3] float32 standard deviations: exp of the log-scales."""
        return np.exp(self.log_scales.astype(np.float64)).astype(np.float32)

    @property
    def base_rgb(self) -> np.ndarray:
        """[N, 3] float32 view-independent colour 0.5 + C0 * dc (not clamped)."""
        return (0.5 + SH_C0 * self.sh_dc.astype(np.float64)).astype(np.float32)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """([3], [3]) float64 min and max of the means (zeros for an empty scene)."""
        if len(self) == 0:
            return np.zeros(3), np.zeros(3)
        m = self.means.astype(np.float64)
        return m.min(axis=0), m.max(axis=0)

    def subset(self, index) -> "GaussianScene":
        """A new scene with the Gaussians selected by ``index`` (bool mask or int array)."""
        return GaussianScene(self.means[index], self.log_scales[index], self.quats[index],
                             self.opacity_logits[index], self.sh_dc[index], self.sh_rest[index])

    def with_sh_degree(self, degree: int) -> "GaussianScene":
        """Truncate or zero-pad SH rest to ``degree``."""
        k = SH_COEFFS[degree]
        rest = np.zeros((len(self), k, 3), np.float32)
        m = min(k, self.sh_rest.shape[1])
        rest[:, :m] = self.sh_rest[:, :m]
        return GaussianScene(self.means, self.log_scales, self.quats, self.opacity_logits, self.sh_dc, rest)

    def arrays(self) -> dict[str, np.ndarray]:
        """Name -> array (read-only views) for every attribute."""
        return {"means": self.means, "log_scales": self.log_scales, "quats": self.quats,
                "opacity_logits": self.opacity_logits, "sh_dc": self.sh_dc, "sh_rest": self.sh_rest}

    def __repr__(self) -> str:
        return f"GaussianScene(n={len(self)}, sh_degree={self.sh_degree})"
