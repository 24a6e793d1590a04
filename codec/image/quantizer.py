"""Multi-codebook vector quantization: one stage of the cascade.

A stage splits a ``[B, M*d, h, w]`` latent into M groups of d channels; group m is quantized by
its own codebook ``[K, d]``. Assignment is the nearest codeword, or with a ``penalty`` (code
lengths weighted by the rate trade-off) the codeword of least distance plus penalty: entropy-
constrained VQ. The rule is the same in training and at inference (training/inference mismatch
is what made naive Gumbel sampling fail on CPU budgets).
Codebooks learn by exponential-moving-average k-means, and codewords that fall out of use are
re-seeded from current latents. Under the mixture-of-Gaussians view, codewords are the mixture
means, ``temperature`` their shared variance and the index prior their weights; the soft
posterior (``logits``) feeds the differentiable rate term.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["MultiCodebookVQ", "Penalty", "Assignment", "rows_by_context"]

# (lengths [M, G, K], ctx [B, M, h, w]): the cost added to the squared distance of codeword k
# of group m at a position whose context class is c is lengths[m, c, k] (distance units)
Penalty = tuple[torch.Tensor, torch.Tensor]


class Assignment(NamedTuple):
    """What the soft rate term of a training pass needs (``codec.image.soft_rate``): the latent
    vectors ``flat`` ``[M, N, d]`` (with their gradient), the codebook ``[M, K, d]`` they were
    assigned with (before the EMA update) and ``scores`` ``[M, N, K]`` (detached): squared
    distances minus ``|x|^2``, ``|c|^2 - 2 x.c``, which rank codewords and give the posterior
    exactly as the distances do (a per-row constant), in one pass of a matrix product."""

    flat: torch.Tensor
    codebook: torch.Tensor
    scores: torch.Tensor


_CHUNK = 8192  # positions per distance block: bounds memory to _CHUNK * M * K floats


def rows_by_context(table: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
    """``table[m, ctx[m, n], :]`` for every group: ``table [M, G, K]``, ``ctx [M, n]`` (int64 in
    ``[0, G)``) -> ``[M, n, K]``. One ``index_select`` of whole rows: 2-5x faster on CPU than the
    equivalent advanced indexing (measured at [16, 16, 256] and [48, 96, 256] with n = 512), the
    same values. No gradient reaches ``table`` through it unless it requires one."""
    m, g, k = table.shape
    rows = ctx + torch.arange(m, device=ctx.device).unsqueeze(1) * g
    return table.reshape(m * g, k).index_select(0, rows.flatten()).view(m, -1, k)


class MultiCodebookVQ(nn.Module):
    """M sub-codebooks of K codewords of dimension d = channels / M.

    Buffers: ``codebook`` ``[M, K, d]``; ``ema_count`` ``[M, K]`` (expected uses per batch);
    ``ema_sum`` ``[M, K, d]``; ``temperature`` ``[M]`` (mean squared distance to the nearest
    codeword, the mixture variance).
    """

    def __init__(self, channels: int, groups: int, codebook_size: int, decay: float = 0.99) -> None:
        super().__init__()
        if channels % groups:
            raise ValueError("channels must be divisible by groups")
        self.groups = groups
        self.codebook_size = codebook_size
        self.dim = channels // groups
        self.decay = decay
        self.register_buffer("codebook", torch.zeros(groups, codebook_size, self.dim))
        self.register_buffer("ema_count", torch.zeros(groups, codebook_size))
        self.register_buffer("ema_sum", torch.zeros(groups, codebook_size, self.dim))
        self.register_buffer("temperature", torch.ones(groups))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    # -- layout helpers -------------------------------------------------------------------
    def split(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, M*d, h, w]`` -> ``[M, B*h*w, d]``."""
        b, _, h, w = x.shape
        return x.reshape(b, self.groups, self.dim, h * w).permute(1, 0, 3, 2).reshape(self.groups, -1, self.dim)

    def _merge(self, v: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """``[M, B*h*w, d]`` -> ``[B, M*d, h, w]``."""
        b, _, h, w = shape
        return v.reshape(self.groups, b, h * w, self.dim).permute(1, 0, 3, 2).reshape(b, -1, h, w)

    def distances(self, flat: torch.Tensor, codebook: torch.Tensor | None = None) -> torch.Tensor:
        """Squared distances ``[M, N, K]`` from ``flat`` ``[M, N, d]`` to every codeword of
        ``codebook`` ``[M, K, d]`` (default: the current one)."""
        cb = self.codebook if codebook is None else codebook
        return (flat.pow(2).sum(-1, keepdim=True) - 2 * flat @ cb.transpose(1, 2) + cb.pow(2).sum(-1).unsqueeze(1)).clamp_min(0)

    @staticmethod
    def scores(flat: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
        """``|c|^2 - 2 x.c`` ``[M, N, K]`` for ``flat`` ``[M, N, d]`` and ``codebook`` ``[M, K, d]``:
        :meth:`distances` without the per-row ``|x|^2`` and the clamp."""
        return torch.baddbmm(codebook.pow(2).sum(-1).unsqueeze(1), flat, codebook.transpose(1, 2), alpha=-2)

    def _flat_penalty(self, penalty: Penalty) -> tuple[torch.Tensor, torch.Tensor]:
        """``(lengths [M, G, K], ctx [M, N])`` from a :data:`Penalty`."""
        lengths, ctx = penalty
        return lengths, ctx.transpose(0, 1).reshape(self.groups, -1)

    # -- inference --------------------------------------------------------------------------
    def indices(self, x: torch.Tensor, codebook: torch.Tensor | None = None,
                penalty: Penalty | None = None) -> torch.Tensor:
        """Codeword of least distance (plus ``penalty``, if given) per group: ``[B, M*d, h, w]``
        -> ``[B, M, h, w]`` int64 (ties go to the lowest index); ``codebook`` ``[M, K, d]`` as in
        :meth:`distances`, ``penalty`` in the same units as the distances."""
        flat = self.split(x)
        cb = self.codebook if codebook is None else codebook
        lengths, ctx = self._flat_penalty(penalty) if penalty is not None else (None, None)
        parts = []
        for start in range(0, flat.shape[1], _CHUNK):
            # :meth:`scores`, as in training: the row's |x|^2 moves no argmin (on the exact
            # path every term is an integer below 2**53, so dropping it changes no index)
            d = self.scores(flat[:, start:start + _CHUNK], cb)
            if lengths is not None:
                d.add_(rows_by_context(lengths, ctx[:, start:start + _CHUNK]))
            parts.append(_first_min(d))
        b, _, h, w = x.shape
        return torch.cat(parts, dim=1).reshape(self.groups, b, h, w).transpose(0, 1)

    def lookup(self, idx: torch.Tensor, codebook: torch.Tensor | None = None) -> torch.Tensor:
        """Codewords for indices: ``[B, M, h, w]`` -> ``[B, M*d, h, w]``; ``codebook`` as in
        :meth:`distances`."""
        cb = self.codebook if codebook is None else codebook
        b, m, h, w = idx.shape
        flat = idx.transpose(0, 1).reshape(m, -1)
        vecs = torch.stack([cb[g][flat[g]] for g in range(m)])
        return self._merge(vecs, torch.Size((b, m * self.dim, h, w)))

    # -- training ---------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, penalty: Penalty | None = None) -> tuple[torch.Tensor, torch.Tensor, Assignment]:
        """Quantize for training (``penalty`` as in :meth:`indices`).

        Returns ``(q, idx, assignment)``: codewords ``[B, M*d, h, w]`` (no gradient to x), indices
        ``[B, M, h, w]`` and the :class:`Assignment` for the soft rate term. Updates the codebooks
        (EMA k-means under the same assignment, re-seeding) when training.
        """
        flat = self.split(x)
        if self.training and not bool(self.initialized):
            self.initialize(flat.detach())
        # a copy when training: the EMA update below changes the codebook in place
        codebook = self.codebook.clone() if self.training else self.codebook
        with torch.no_grad():
            scores = self.scores(flat, codebook)
            cost = scores if penalty is None else scores + rows_by_context(*self._flat_penalty(penalty))
            idx_flat = _first_min(cost)
            if self.training:
                nearest = scores.gather(-1, idx_flat.unsqueeze(-1)).squeeze(-1) + flat.pow(2).sum(-1)
                self._update(flat.detach(), idx_flat, nearest.clamp_min(0))
        b, _, h, w = x.shape
        idx = idx_flat.reshape(self.groups, b, h, w).transpose(0, 1)
        return self.lookup(idx), idx, Assignment(flat, codebook, scores)

    def logits(self, dist_: torch.Tensor) -> torch.Tensor:
        """Mixture log-likelihood up to a constant: ``[M, N, K]`` -> ``[M, N, K]``."""
        return -dist_ / self.temperature.view(-1, 1, 1)

    @torch.no_grad()
    def initialize(self, flat: torch.Tensor, iterations: int = 8) -> None:
        """Codebooks from random latent vectors ``flat`` ``[M, N, d]`` plus ``iterations`` Lloyd
        iterations (k-means); N should be several times K."""
        m, n, _ = flat.shape
        pick = torch.randint(0, n, (m, self.codebook_size), device=flat.device)
        cb = torch.stack([flat[g, pick[g]] for g in range(m)])
        cb = cb + 1e-3 * torch.randn_like(cb)
        for _ in range(iterations):
            self.codebook.copy_(cb)
            counts, sums = self._cell_stats(flat, _first_min(self.distances(flat)))
            cb = torch.where(counts.unsqueeze(-1) > 0, sums / counts.clamp_min(1).unsqueeze(-1), cb)
        _broadcast(cb)
        self.codebook.copy_(cb)
        self.ema_sum.copy_(cb)
        self.ema_count.fill_(1.0)
        self.initialized.fill_(True)

    def _cell_stats(self, flat: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Uses ``[M, K]`` and sums of the assigned vectors ``[M, K, d]`` of each codeword, for
        ``flat`` ``[M, N, d]`` assigned ``idx`` ``[M, N]`` (scatter-adds: a one-hot ``[M, N, K]``
        took 6 % of a gmq2 training step in fill alone)."""
        m, n, d = flat.shape
        cell = (idx + torch.arange(m, device=idx.device).unsqueeze(1) * self.codebook_size).reshape(-1)
        counts = torch.zeros(m * self.codebook_size, dtype=flat.dtype, device=flat.device)
        counts.index_add_(0, cell, torch.ones_like(cell, dtype=flat.dtype))
        sums = torch.zeros(m * self.codebook_size, d, dtype=flat.dtype, device=flat.device)
        sums.index_add_(0, cell, flat.reshape(-1, d))
        return counts.view(m, self.codebook_size), sums.view(m, self.codebook_size, d)

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, idx: torch.Tensor, nearest: torch.Tensor) -> None:
        """EMA step from ``flat`` ``[M, N, d]`` assigned ``idx`` ``[M, N]`` at squared distances
        ``nearest`` ``[M, N]``."""
        counts, sums = self._cell_stats(flat, idx)
        nearest = nearest.mean(1) / self.dim  # [M]
        _all_reduce_mean(counts, sums, nearest)
        keep = self.decay
        self.ema_count.mul_(keep).add_(counts, alpha=1 - keep)
        self.ema_sum.mul_(keep).add_(sums, alpha=1 - keep)
        self.temperature.mul_(keep).add_(nearest.clamp_min(1e-6) * self.dim, alpha=1 - keep)
        n = self.ema_count.sum(1, keepdim=True)
        smoothed = (self.ema_count + 1e-5) / (n + self.codebook_size * 1e-5) * n
        self.codebook.copy_(self.ema_sum / smoothed.unsqueeze(-1))
        self._reseed(flat)

    @torch.no_grad()
    def _reseed(self, flat: torch.Tensor) -> None:
        """Move codewords used less than once per 100 batches onto random current latents."""
        dead = self.ema_count < 0.01
        if not bool(dead.any()):
            return
        m, n, _ = flat.shape
        pick = torch.randint(0, n, (m, self.codebook_size), device=flat.device)
        fresh = torch.stack([flat[g, pick[g]] for g in range(m)])
        fresh = fresh + 1e-3 * fresh.std() * torch.randn_like(fresh)
        _broadcast(fresh)
        self.codebook[dead] = fresh[dead]
        self.ema_sum[dead] = fresh[dead]
        self.ema_count[dead] = 1.0

    def usage_perplexity(self) -> torch.Tensor:
        """``[M]`` perplexity of codeword usage (K when uniform, 1 when collapsed)."""
        p = self.ema_count / self.ema_count.sum(1, keepdim=True).clamp_min(1e-12)
        return torch.exp(-(p * p.clamp_min(1e-12).log()).sum(1))


def _first_min(cost: torch.Tensor) -> torch.Tensor:
    """Index of the least entry along the last axis, the first one on ties: ``[..., K]`` ->
    ``[...]`` int64. ``torch.min(dim).indices`` (same rule as ``argmin``) ran 2.3x faster than
    ``argmin`` on ``[16, 512, 256]`` fp32 on this CPU (2.7 against 6.3 ms, one thread)."""
    return cost.min(-1).indices


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _all_reduce_mean(*tensors: torch.Tensor) -> None:
    """Average statistics over replicas so that every replica's buffers stay identical."""
    if not _distributed():
        return
    for t in tensors:
        dist.all_reduce(t)
        t.div_(dist.get_world_size())


def _broadcast(t: torch.Tensor) -> None:
    if _distributed():
        dist.broadcast(t, src=0)
