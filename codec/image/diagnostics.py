"""Per-stage diagnostics of the VQ cascade: what each fine stage spends and what it buys.

For a batch of images coded at one quality, each sent fine stage reports ``bpd`` (its ideal code
length under the model's training prior, bits per latent dimension), ``entropy`` (empirical
entropy of its indices, bits, mean over groups), ``perplexity`` (2 ** entropy, mean over groups),
``dead`` (fraction of codewords unused in the batch) and ``rms`` (RMS of the latent residual it
leaves, latent units). The training log and ``benchmarks/bench_vq_stages.py`` print them.
"""

from __future__ import annotations

import torch

from .model import ImageModel

__all__ = ["stage_diagnostics"]


@torch.no_grad()
def stage_diagnostics(model: ImageModel, x: torch.Tensor, quality: int) -> list[dict[str, float]]:
    """One dict per sent fine stage for ``x`` ``[B, 3, H, W]`` in [0, 1] at ``quality``."""
    y = model.analysis(x)
    indices = model.indices_from_latent(y, quality)
    contexts = model.contexts_for(indices, quality)
    approx = model.coarse_synthesis(model.coarse_vq.lookup(indices[0]))
    k = model.config.codebook_size
    out = []
    for s, (idx, ctx) in enumerate(zip(indices[1:], contexts[1:])):
        approx = approx + model.fine_vq[s].lookup(idx)
        counts = torch.stack([torch.bincount(idx[:, g].flatten(), minlength=k) for g in range(idx.shape[1])]).double()
        p = counts / counts.sum(1, keepdim=True)
        entropy = -(p * p.clamp_min(1e-300).log2()).sum(1)  # [M]
        bits = model.fine_prior[s].bits(idx, ctx).sum().item()
        out.append({"bpd": bits / y.numel(), "entropy": entropy.mean().item(),
                    "perplexity": entropy.exp2().mean().item(), "dead": (counts == 0).double().mean().item(),
                    "rms": (y - approx).pow(2).mean().sqrt().item()})
    return out
