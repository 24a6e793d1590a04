"""Encoder-side latent refinement: spend encoding time for fidelity, the decoder is unchanged.

The analysis transform ``g_a`` is an amortized, imperfect inverse of the synthesis ``g_s``. Per
image, the latent can do better: starting from ``y = g_a(x)``, Adam descends

    || g_s(y + sg(Q_q(y) - y)) - x ||^2

where ``Q_q`` is the model's own quantization at quality ``q`` (coarse prediction plus ``q``
nearest-codeword stages) and ``sg`` stops the gradient (straight-through). The learning rate
follows a cosine from ``lr`` to 0, and the latent whose *quantized* decoding had the lowest
clamped error is kept, so refinement never returns a worse latent than ``g_a``'s. Only indices
reach the file, so files written with or without refinement decode the same way, bit-exactly.

Measured on gmq-v5 (README, "Encoder refinement" under Results): most of the gain comes in the
first 25 to 50 steps; each step is one ``g_s`` forward and backward pass over the tile plus one
quantization of the latent.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .model import ImageModel

__all__ = ["refine_latent", "REFINE_LR"]

REFINE_LR = 20.0  # latent units per Adam step at the start (gmq-v5's latent has std ~200)


def refine_latent(model: ImageModel, x: torch.Tensor, quality: int, steps: int,
                  lr: float = REFINE_LR) -> torch.Tensor:
    """Latent ``y`` ``[B, C, H/16, W/16]`` for ``x`` ``[B, 3, H, W]`` in [0, 1] whose quality-``quality``
    decoding is closest to ``x``; ``steps`` = 0 gives ``g_a(x)`` itself.

    The model's parameters receive no gradient (``torch.autograd.grad`` on the latent only), so a
    model shared by several threads is never written to.
    """
    with torch.no_grad():
        y = model.analysis(x)
    if steps <= 0:
        return y
    best, best_err = y.clone(), math.inf
    y = y.clone().requires_grad_(True)
    opt = torch.optim.Adam([y], lr=lr)
    with torch.enable_grad():
        for step in range(steps + 1):
            with torch.no_grad():
                y_q = model.latent_from_indices(model.indices_from_latent(y, quality))
            x_hat = model.synthesis(y + (y_q - y).detach())
            with torch.no_grad():  # the decoded error of the current latent, as the decoder will see it
                err = F.mse_loss(x_hat.clamp(0, 1), x).item()
                if err < best_err:
                    best, best_err = y.detach().clone(), err
            if step == steps:
                break
            (grad,) = torch.autograd.grad(F.mse_loss(x_hat, x), y)
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
            y.grad = grad
            opt.step()
    return best
