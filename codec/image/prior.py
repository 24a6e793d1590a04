"""Index priors: the mixture weights of each sub-codebook, conditioned on integer contexts.

Group m of a stage has a distribution over its K codewords for each of G context classes.
The context of a position is an integer computed from indices the decoder already has (the
previous, coarser stage at the same place), mapped to a class by a stored integer table
(``class_map``). In training the distributions are EMA counts (no gradient); at export they are
re-estimated from training images and frozen into integer frequency tables, so the entropy
coder never sees a network float.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .quantizer import _all_reduce_mean, _distributed, rows_by_context

__all__ = ["ContextPrior", "codeword_classes", "LOG2"]

LOG2 = float(np.log(2.0))  # nats per bit


class ContextPrior(nn.Module):
    """Buffers: ``counts`` ``[M, G, K]`` (EMA of index counts per context class)."""

    def __init__(self, groups: int, classes: int, codebook_size: int, decay: float = 0.995) -> None:
        super().__init__()
        self.groups, self.classes, self.codebook_size, self.decay = groups, classes, codebook_size, decay
        self.register_buffer("counts", torch.ones(groups, classes, codebook_size))

    def code_lengths(self) -> torch.Tensor:
        """Ideal code length in bits of every (group, class, codeword): ``[M, G, K]``."""
        return -(self.counts / self.counts.sum(-1, keepdim=True)).log2()

    def log_probs(self, ctx: torch.Tensor) -> torch.Tensor:
        """Natural-log probabilities ``[M, N, K]`` for contexts ``[B, M, h, w]`` (N = B*h*w)."""
        table = (self.counts / self.counts.sum(-1, keepdim=True)).log()  # [M, G, K]
        return rows_by_context(table, ctx.transpose(0, 1).reshape(self.groups, -1))

    def bits(self, idx: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        """Ideal code length in bits per image ``[B]`` of indices ``[B, M, h, w]``."""
        table = (self.counts / self.counts.sum(-1, keepdim=True)).log()
        nll = -table[torch.arange(self.groups).view(1, -1, 1, 1), ctx, idx]  # [B, M, h, w]
        return nll.flatten(1).sum(1) / LOG2

    @torch.no_grad()
    def update(self, idx: torch.Tensor, ctx: torch.Tensor, active: bool = True) -> None:
        """EMA of the joint counts of (context class, index) per group. An inactive update
        counts nothing; replicas of a distributed run still take part in the reduction (they
        may draw different qualities), and the EMA moves only where some replica counted."""
        fresh = torch.zeros(self.groups, self.classes * self.codebook_size, device=idx.device)
        if active:
            flat = (ctx * self.codebook_size + idx).transpose(0, 1).reshape(self.groups, -1)
            fresh.scatter_add_(1, flat, torch.ones_like(flat, dtype=fresh.dtype))
        elif not _distributed():
            return
        fresh = fresh.view_as(self.counts)
        _all_reduce_mean(fresh)
        if not active and not bool(fresh.any()):
            return
        # counts are kept at the scale of "uses per batch" plus a floor that keeps every symbol possible
        self.counts.mul_(self.decay).add_(fresh, alpha=1 - self.decay).clamp_(min=1e-4)


def codeword_classes(codebook: torch.Tensor, classes: int, iterations: int = 20) -> torch.Tensor:
    """Cluster each sub-codebook's codewords into context classes (deterministic k-means).

    ``codebook`` ``[M, K, d]`` -> ``[M, K]`` int64 in ``[0, classes)``. Initial centres are
    evenly spaced codewords, so the result depends only on the codebook values.
    """
    m, k, _ = codebook.shape
    if classes == 1:
        return torch.zeros(m, k, dtype=torch.int64)
    out = torch.empty(m, k, dtype=torch.int64)
    cb = codebook.detach().double().cpu()
    for g in range(m):
        centres = cb[g, torch.linspace(0, k - 1, classes).round().long()].clone()
        for _ in range(iterations):
            assign = torch.cdist(cb[g], centres).argmin(1)
            for c in range(classes):
                members = cb[g][assign == c]
                if len(members):
                    centres[c] = members.mean(0)
        out[g] = torch.cdist(cb[g], centres).argmin(1)
    return out
