"""The image model: transforms plus a coarse-to-fine cascade of multi-codebook VQ levels.

Encode (all stages, any quality is a prefix)::

    y  = g_a(x)                       [B, C, h, w]      h = H/16
    z  = h_a(y)                       [B, Cz, h/2, w/2]
    iz = VQ_coarse(z)                 [B, Mz, h/2, w/2]  (unconditional prior)
    mu = h_s(codewords(iz))           [B, C, h, w]       coarse prediction of y
    r_0 = y - mu; for s in stages:    i_s = VQ_s(r_s); r_{s+1} = r_s - codewords(i_s)

Decode quality q: ``x_hat = g_s(mu + sum_{s<S(q)} codewords(i_s))`` with S(q) the stages it
sends (q itself unless the config gives a quality table, see :class:`ImageModelConfig`).
The index prior of stage s is conditioned on an integer context class the decoder already has:
the class of the index decoded at the same place in the previous level (``context="previous"``),
or the bin of the residual RMS (log2) that a small head predicts from the coarse codewords for
each group (``context="scale"``, :meth:`ImageModel.scale_contexts`). Either way decoding is
exact on any machine. With a quality table, indices are chosen by entropy-constrained VQ: least
squared distance plus the quality's rate weight times the index's code length under the prior.

Relation to McQuic: same multi-codebook quantizer, mixture view and level strides, but the cascade
runs coarse-first so that a bitstream prefix decodes to a lower quality (McQuic's fine-first
residual order makes every level necessary), and the prior is learned and conditional where
McQuic codes indices with a fixed, almost uniform table.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ImageModelConfig
from .prior import LOG2, ContextPrior, codeword_classes
from .quantizer import Assignment, MultiCodebookVQ, Penalty, _all_reduce_mean
from .soft_rate import soft_code_length
from .transforms import AnalysisTransform, CoarseAnalysis, CoarseSynthesis, ScaleSynthesis, SynthesisTransform

__all__ = ["ImageModel", "MULTIPLE"]

MULTIPLE = 32  # input height and width must be multiples of the coarse stride
RATE_UNIT_DECAY = 0.99  # EMA of the rate unit, per training step


class ImageModel(nn.Module):
    """Variable-rate VQ image model; see the module docstring for the data flow."""

    def __init__(self, config: ImageModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.analysis = AnalysisTransform(c.hidden, c.latent, c.latent_blocks)
        self.synthesis = SynthesisTransform(c.hidden, c.latent, c.latent_blocks)
        self.coarse_analysis = CoarseAnalysis(c.latent, c.coarse_latent)
        self.coarse_synthesis = CoarseSynthesis(c.latent, c.coarse_latent)
        self.coarse_vq = MultiCodebookVQ(c.coarse_latent, c.coarse_groups, c.codebook_size)
        self.coarse_prior = ContextPrior(c.coarse_groups, 1, c.codebook_size)
        self.fine_vq = nn.ModuleList(MultiCodebookVQ(c.latent, m, c.codebook_size) for m in c.fine_groups)
        self.fine_prior = nn.ModuleList(ContextPrior(m, c.prior_classes, c.codebook_size) for m in c.fine_groups)
        if c.uses_rate_unit:  # the running mean squared coarse residual, latent units^2
            self.register_buffer("rate_unit", torch.ones(()))
        if c.context == "scale":
            self.scale_synthesis = ScaleSynthesis(c.coarse_latent, sum(c.fine_groups))
        else:
            previous = (c.coarse_groups,) + tuple(c.fine_groups[:-1])
            for s, m_prev in enumerate(previous):
                self.register_buffer(f"class_map_{s}", torch.zeros(m_prev, c.codebook_size, dtype=torch.int64))

    # -- contexts ---------------------------------------------------------------------------
    def class_map(self, stage: int) -> torch.Tensor:
        """``[M_prev, K]`` int64: context class of each codeword of the level before ``stage``."""
        return getattr(self, f"class_map_{stage}")

    def context(self, stage: int, prev_idx: torch.Tensor) -> torch.Tensor:
        """Context classes ``[B, M_s, h, w]`` of stage ``stage`` from the previous level's
        indices ``prev_idx`` ``[B, M_prev, h', w']`` (h' = h/2 for stage 0, else h)."""
        cmap = self.class_map(stage)
        m_prev = cmap.shape[0]
        cls = torch.stack([cmap[g][prev_idx[:, g]] for g in range(m_prev)], dim=1)
        if stage == 0:
            cls = cls.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        m = self.config.fine_groups[stage]
        source = torch.div(torch.arange(m) * m_prev, m, rounding_mode="floor")
        return cls[:, source]

    def log_scales(self, z_hat: torch.Tensor) -> list[torch.Tensor]:
        """Predicted log2 RMS of each fine stage's residual per group relative to the root of
        ``rate_unit``, ``[B, M_s, h, w]`` per stage, from the coarse codewords ``z_hat``
        ``[B, Cz, h/2, w/2]`` (``context="scale"`` only)."""
        return list(self.scale_synthesis(z_hat).split(list(self.config.fine_groups), dim=1))

    def scale_classes(self, log_scale: torch.Tensor) -> torch.Tensor:
        """Bin of each predicted log2 RMS: float ``[...]`` -> int64 ``[...]`` in ``[0, G)``."""
        c = self.config
        return torch.floor((log_scale - c.scale_min) / c.scale_step).clamp(0, c.context_classes - 1).long()

    def scale_contexts(self, iz: torch.Tensor, quality: int | None = None) -> list[torch.Tensor]:
        """Context classes ``[B, M_s, h, w]`` of every fine stage from the coarse indices (in
        the prior classes of ``quality``)."""
        offset = self.config.class_offset(quality)
        return [self.scale_classes(t) + offset for t in self.log_scales(self.coarse_vq.lookup(iz))]

    @torch.no_grad()
    def refresh_contexts(self) -> None:
        """Recompute every class map from the current codebooks (deterministic k-means); scale
        contexts have none."""
        if self.config.context == "scale":
            return
        books = [self.coarse_vq.codebook] + [vq.codebook for vq in self.fine_vq[:-1]]
        for s, book in enumerate(books):
            self.class_map(s).copy_(codeword_classes(book, self.config.context_classes))

    @staticmethod
    def coarse_context(iz: torch.Tensor) -> torch.Tensor:
        """The coarse level has a single (unconditional) context class."""
        return torch.zeros_like(iz)

    # -- training -----------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, quality: int) -> dict:
        """Training pass at ``quality`` (1..Q stages sent).

        ``x`` ``[B, 3, H, W]`` in [0, 1], H and W multiples of 32. Returns ``x_hat``
        ``[B, 3, H, W]``, ``bits`` ``[B]`` (ideal code length of the sent indices under the
        current prior), ``rate`` (differentiable soft estimate of the same, bits per image
        ``[B]``), and four latent losses: ``commit`` (``y`` to its all-stage approximation; the only
        one that reaches ``g_a``), ``commit_coarse`` (``z`` to its codewords), ``predict`` (the
        coarse prediction ``mu`` to ``y``) and ``scale`` (squared error of the predicted log2 RMS
        of the residuals, 0 without scale contexts), and ``latent_rms`` (RMS of ``y``, latent units,
        differentiable). Stages beyond the quality's are quantized to
        the nearest codeword for ``commit`` but neither coded nor (with a quality table) counted
        by the priors.
        """
        c = self.config
        sent, weight = c.stages(quality), c.rate_weight(quality)
        y = self.analysis(x)
        # the coarse level learns to predict y; it must not pull y towards what is predictable
        # (measured: detaching here gave +0.36 dB validation PSNR over 700 steps of fine-tuning)
        z = self.coarse_analysis(y.detach())
        zq, iz, zsoft = self.coarse_vq(z)
        z_hat = z + (zq - z).detach()
        mu = self.coarse_synthesis(z_hat)
        zctx = self.coarse_context(iz)
        bits = self.coarse_prior.bits(iz, zctx)
        rate = self._soft_bits(self.coarse_vq, self.coarse_prior, zsoft, zctx, x.shape[0])
        if self.training:
            self.coarse_prior.update(iz, zctx)

        residual = y - mu.detach()
        if self.training and c.uses_rate_unit:
            energy = residual.detach().float().pow(2).mean()
            _all_reduce_mean(energy)
            self.rate_unit.mul_(RATE_UNIT_DECAY).add_(energy, alpha=1 - RATE_UNIT_DECAY)
        approx = mu.detach()
        prev = iz
        recon = None
        scale_loss = torch.zeros((), device=x.device)
        if c.context == "scale":
            log_scales = self.log_scales(z_hat.detach())  # a head that reads z, never shapes it
            scale_ctx = [self.scale_classes(t.detach()) for t in log_scales]
        offset = c.class_offset(quality)
        for s in range(c.num_stages):
            if c.context == "scale":
                ctx = scale_ctx[s] + offset
                target = _group_log_rms(residual.detach(), c.fine_groups[s]) - 0.5 * self.rate_unit.log2()
                scale_loss = scale_loss + F.mse_loss(log_scales[s], target)
            else:
                ctx = self.context(s, prev) + offset
            coded = s < sent
            penalty = self._penalty(s, ctx, weight) if coded and weight > 0 else None
            q, idx, soft = self.fine_vq[s](residual, penalty)
            if coded:
                bits = bits + self.fine_prior[s].bits(idx, ctx)
                rate = rate + self._soft_bits(self.fine_vq[s], self.fine_prior[s], soft, ctx, x.shape[0])
            if self.training:  # prefix models let every stage's prior learn, as gmq-v1 to v5 did
                self.fine_prior[s].update(idx, ctx, active=coded or c.prefix_qualities)
            approx = approx + q
            residual = residual - q
            prev = idx
            if s + 1 == sent:
                recon = approx
        y_hat = y + (recon - y).detach()
        x_hat = self.synthesis(y_hat)
        return {
            "x_hat": x_hat,
            "bits": bits,
            "rate": rate,
            "commit": F.mse_loss(y, approx.detach()),
            "commit_coarse": F.mse_loss(z, zq.detach()),
            "predict": F.mse_loss(mu, y.detach()),
            "scale": scale_loss,
            "latent_rms": y.float().pow(2).mean().sqrt(),
        }

    def _penalty(self, stage: int, ctx: torch.Tensor, weight: float, lengths: torch.Tensor | None = None) -> Penalty:
        """ECVQ penalty of ``stage`` at contexts ``ctx``: ``weight`` rate units times the code
        lengths in bits ``[M, G, K]`` (default: under the training prior)."""
        bits = self.fine_prior[stage].code_lengths() if lengths is None else lengths
        return bits * (weight * self.rate_unit), ctx

    @staticmethod
    def _soft_bits(vq: MultiCodebookVQ, prior: ContextPrior, a: Assignment, ctx: torch.Tensor, batch: int) -> torch.Tensor:
        """Expected code length in bits ``[B]`` under the soft posterior of the mixture."""
        nll = soft_code_length(a.flat, a.codebook, a.scores, vq.temperature, prior.log_probs(ctx)) / LOG2  # [M, N]
        return nll.reshape(nll.shape[0], batch, -1).sum((0, 2))

    # -- inference ------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_indices(self, x: torch.Tensor, quality: int | None = None,
                       lengths: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """All index tensors of ``x`` ``[B, 3, H, W]`` at ``quality``: ``[iz, i_0, ..., i_{S-1}]``,
        each ``[B, M, h_l, w_l]`` int64 (S = the quality's stages; default every stage by nearest
        codeword). ``lengths`` (code lengths in bits ``[M_s, G, K]`` per stage) replace the
        training prior's in the ECVQ choice."""
        return self.indices_from_latent(self.analysis(x), quality, lengths)

    @torch.no_grad()
    def indices_from_latent(self, y: torch.Tensor, quality: int | None = None,
                            lengths: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """``y = g_a(x)`` ``[B, C, h, w]`` -> ``[iz, i_0, ..., i_{S-1}]`` as in ``encode_indices``."""
        c = self.config
        stages = c.num_stages if quality is None else c.stages(quality)
        weight = 0.0 if quality is None else c.rate_weight(quality)
        iz = self.coarse_vq.indices(self.coarse_analysis(y))
        residual = y - self.coarse_synthesis(self.coarse_vq.lookup(iz))
        out = [iz]
        scale_ctx = self.scale_contexts(iz, quality) if c.context == "scale" else None
        for s in range(stages):
            penalty = None
            if weight > 0:
                ctx = scale_ctx[s] if scale_ctx is not None else self.context(s, out[-1]) + c.class_offset(quality)
                penalty = self._penalty(s, ctx, weight, None if lengths is None else lengths[s])
            idx = self.fine_vq[s].indices(residual, penalty=penalty)
            residual = residual - self.fine_vq[s].lookup(idx)
            out.append(idx)
        return out

    @torch.no_grad()
    def latent_from_indices(self, indices: list[torch.Tensor]) -> torch.Tensor:
        """``[iz, i_0, ..., i_{q-1}]`` -> ``y_hat`` ``[B, C, h, w]``: coarse prediction plus the
        codewords of the sent stages."""
        y_hat = self.coarse_synthesis(self.coarse_vq.lookup(indices[0]))
        for s, idx in enumerate(indices[1:]):
            y_hat = y_hat + self.fine_vq[s].lookup(idx)
        return y_hat

    @torch.no_grad()
    def decode_indices(self, indices: list[torch.Tensor]) -> torch.Tensor:
        """``[iz, i_0, ..., i_{q-1}]`` -> ``x_hat`` ``[B, 3, H, W]`` float (not clamped)."""
        return self.synthesis(self.latent_from_indices(indices))

    def contexts_for(self, indices: list[torch.Tensor], quality: int | None = None) -> list[torch.Tensor]:
        """Integer context classes for each index tensor of ``encode_indices`` at ``quality``
        (same shapes), computed in float: the codec takes them from
        :class:`codec.image.exact.ExactModel`."""
        out = [self.coarse_context(indices[0])]
        if self.config.context == "scale":
            return out + self.scale_contexts(indices[0], quality)[:len(indices) - 1]
        offset = self.config.class_offset(quality)
        for s in range(1, len(indices)):
            out.append(self.context(s - 1, indices[s - 1]) + offset)
        return out

    @torch.no_grad()
    def initialize_codebooks(self, x: torch.Tensor, iterations: int = 20) -> None:
        """A warm start from trained transforms on ``x`` ``[B, 3, H, W]``: k-means of every fine
        stage's codebook on the residuals (stage by stage, each on what the stages before leave),
        its prior set to the resulting index frequencies in every class, and the scale head to
        predict each stage's mean log2 RMS everywhere. The coarse level is k-means'd too if it is
        not initialized yet."""
        y = self.analysis(x)
        z = self.coarse_analysis(y)
        if not bool(self.coarse_vq.initialized):
            self.coarse_vq.initialize(self.coarse_vq.split(z), iterations)
        residual = y - self.coarse_synthesis(self.coarse_vq.lookup(self.coarse_vq.indices(z)))
        if self.config.uses_rate_unit:
            self.rate_unit.copy_(residual.pow(2).mean())
        k, classes = self.config.codebook_size, self.config.context_classes
        per_class = residual.shape[0] * residual.shape[2] * residual.shape[3] / 16 / classes  # a batch of B/16
        log_rms = []
        for vq, prior in zip(self.fine_vq, self.fine_prior):
            if self.config.context == "scale":
                log_rms.append(_group_log_rms(residual, vq.groups).mean() - 0.5 * self.rate_unit.log2())
            vq.initialize(vq.split(residual), iterations)
            idx = vq.indices(residual)
            freq = torch.stack([torch.bincount(idx[:, g].flatten(), minlength=k) for g in range(vq.groups)]).float()
            prior.counts.copy_((freq / freq.sum(1, keepdim=True) * per_class).clamp_min(1e-4).unsqueeze(1)
                               .expand_as(prior.counts))
            residual = residual - vq.lookup(idx)
        if self.config.context == "scale":
            head = self.scale_synthesis.layers[-1]
            head.weight.mul_(0.01)
            head.bias.copy_(torch.cat([t.expand(m) for t, m in zip(log_rms, self.config.fine_groups)]))


def _group_log_rms(residual: torch.Tensor, groups: int) -> torch.Tensor:
    """log2 RMS per group: ``[B, M*d, h, w]`` -> ``[B, M, h, w]`` (floored at 2**-12)."""
    b, _, h, w = residual.shape
    ms = residual.reshape(b, groups, -1, h, w).pow(2).mean(2)
    return 0.5 * torch.log2(ms.clamp_min(2.0 ** -24))
