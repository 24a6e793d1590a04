"""Freezing the index priors into integer frequency tables (the export step).

Counts of (context class, index) are gathered by encoding real images with the final model,
smoothed, and quantized by :func:`entropy.counts_to_freqs`. The result is what ships: the coder
never sees a float from the network.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from entropy import FrequencyTables, counts_to_freqs

from ..weights import FP32_TENSORS, LoadedModel
from .model import ImageModel

__all__ = ["count_indices", "tables_from_counts", "freeze"]


@torch.no_grad()
def count_indices(model: ImageModel, images: Iterable[torch.Tensor]) -> list[np.ndarray]:
    """Joint counts per level: coarse ``[Mz, 1, K]``, fine stage s ``[M_s, G, K]`` (int64).

    ``images`` yields ``[B, 3, H, W]`` tensors in [0, 1] with H, W multiples of 32. Prefix
    models are counted with every stage by nearest codeword; entropy-constrained ones at every
    quality with its own choice (under the training prior), so a stage's table is the mix of
    what the qualities that send it choose (the coarse level counted once).
    """
    c = model.config
    shapes = [(c.coarse_groups, 1)] + [(m, c.prior_classes) for m in c.fine_groups]
    counts = [np.zeros((*s, c.codebook_size), dtype=np.int64) for s in shapes]
    qualities = [None] if c.prefix_qualities else list(range(1, c.num_qualities + 1))
    for x in images:
        y = model.analysis(x)
        for n, quality in enumerate(qualities):
            indices = model.indices_from_latent(y, quality)
            for level, (idx, ctx) in enumerate(zip(indices, model.contexts_for(indices, quality))):
                if level == 0 and n:
                    continue
                m, g, k = counts[level].shape
                flat = ((torch.arange(m).view(1, m, 1, 1) * g + ctx) * k + idx).flatten()
                counts[level] += np.bincount(flat.numpy(), minlength=m * g * k).reshape(m, g, k)
    return counts


def tables_from_counts(counts: list[np.ndarray], smoothing: int = 1) -> list[np.ndarray]:
    """Integer tables ``[M, G, K]`` from counts: add ``smoothing`` / 2 to every cell, then
    quantize each row to the entropy layer's fixed point (every entry at least 1)."""
    return [counts_to_freqs(2 * c + smoothing) for c in counts]


def freeze(model: ImageModel, model_id: str, images: Iterable[torch.Tensor], entry: dict | None = None) -> LoadedModel:
    """Round the model to its shipped precision, set its contexts and estimate its tables."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point() and not name.endswith(FP32_TENSORS):
                t.copy_(t.half().float())
    model.refresh_contexts()
    model.eval()
    tables = tables_from_counts(count_indices(model, images))
    c = model.config
    frequency = tuple(FrequencyTables(t.reshape(-1, c.codebook_size)) for t in tables)
    return LoadedModel(model_id, model, frequency, (c.coarse_groups, *c.fine_groups), dict(entry or {}))
