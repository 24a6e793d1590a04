"""Significance pruning: drop the Gaussians that no reference view needs.

A Gaussian's significance is the largest compositing weight ``alpha * T`` it reaches in any
pixel of 16 reference views: 512 x 512 orbit cameras around the scene (the evaluation's
orbit, see ``evaluate.py``) at 5 and 40 degrees elevation, 8 azimuths each. Those weighing
under 1/255 everywhere go: alone, none can move an 8-bit pixel of those views by more than
about one level (Gaussians under opacity 1/255 never weigh anything). Measured on biker at
quality 3, this drops 7 % of the Gaussians for -0.06 dB render PSNR on the (different)
evaluation views; dropping as many by lowest opacity x volume (the criterion this replaced)
cost 13.7 dB (``benchmarks/scene_prune.py``, ``docs/scenes.md``).

The reference views see the scene from outside; a viewer inside it, or much closer, may
miss Gaussians these views never saw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .data import GaussianScene
from .evaluate import orbit_cameras
from .render import Camera, contributions

__all__ = ["PRUNE_WEIGHT", "reference_cameras", "significance", "prune_mask"]

PRUNE_WEIGHT = 1.0 / 255.0
REFERENCE_ELEVATIONS = (5.0, 40.0)  # degrees; the evaluation orbit sits at 20
REFERENCE_AZIMUTHS = 8
REFERENCE_SIZE = 512  # pixels, as the evaluation renders


def reference_cameras(scene: GaussianScene) -> list[Camera]:
    """The 16 views that decide significance (see the module docstring)."""
    return [cam for el in REFERENCE_ELEVATIONS
            for cam in orbit_cameras(scene, REFERENCE_AZIMUTHS, REFERENCE_SIZE, elevation_deg=el)]


def significance(scene: GaussianScene,
                 progress: Callable[[Iterable[Camera]], Iterable[Camera]] | None = None) -> np.ndarray:
    """[N] float32 in [0, 0.99]: each Gaussian's largest weight in any reference pixel.

    ``progress`` wraps the camera list (e.g. a progress bar); one view of a 150k-Gaussian
    scene takes a few seconds on one core.
    """
    cams = reference_cameras(scene)
    return contributions(scene, progress(cams) if progress else cams)


def prune_mask(scene: GaussianScene,
               progress: Callable[[Iterable[Camera]], Iterable[Camera]] | None = None) -> np.ndarray:
    """[N] bool: True for the Gaussians to keep (significance at least :data:`PRUNE_WEIGHT`)."""
    return significance(scene, progress) >= PRUNE_WEIGHT
