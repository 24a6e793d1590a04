"""The differentiable rate term of a VQ stage: expected code length under the soft posterior.

For group m, position n and codeword k (squared distance ``d[m, n, k]`` from the latent vector
``x[m, n]`` to codeword ``c[m, k]``, log prior ``lp[m, n, k]``, mixture variance ``T[m]``)::

    s = softmax_k(lp - d / T)          the posterior of the Gaussian mixture
    nll[m, n] = -sum_k s * lp          expected code length, nats

Only ``x`` receives a gradient (codebooks, priors and temperatures are buffers). Since
``sum_k s (lp - E_s[lp]) = 0``, the gradient through ``d = |x|^2 - 2 x.c + |c|^2`` needs a single
batched matrix product::

    dnll/dx[m, n] = -2/T[m] * sum_k s (lp - E_s[lp]) c[m, k]     (times the incoming gradient)

:func:`soft_code_length` computes this with a hand-written backward (4 passes over the
``[M, N, K]`` tensors instead of the ~20 that autograd's chain of elementwise ops made, the
largest cost of a gmq-v5 training step under bf16); :func:`soft_code_length_reference` is the
plain autograd version it is tested against. Both run in fp32 outside autocast.
"""

from __future__ import annotations

import torch

__all__ = ["soft_code_length", "soft_code_length_reference"]


def soft_code_length_reference(flat: torch.Tensor, codebook: torch.Tensor, temperature: torch.Tensor,
                               log_prior: torch.Tensor) -> torch.Tensor:
    """Expected code length in nats ``[M, N]`` (autograd through every step).

    ``flat`` ``[M, N, d]`` latent vectors, ``codebook`` ``[M, K, d]``, ``temperature`` ``[M]``,
    ``log_prior`` ``[M, N, K]`` natural-log probabilities.
    """
    d = (flat.pow(2).sum(-1, keepdim=True) - 2 * flat @ codebook.transpose(1, 2)
         + codebook.pow(2).sum(-1).unsqueeze(1)).clamp_min(0)
    post = torch.softmax(log_prior - d / temperature.view(-1, 1, 1), dim=-1)
    return -(post * log_prior).sum(-1)


class _SoftCodeLength(torch.autograd.Function):
    @staticmethod
    def forward(ctx, flat, codebook, scores, temperature, log_prior):
        inv_t = temperature.reciprocal().view(-1, 1, 1)
        post = torch.softmax(torch.addcmul(log_prior, scores, inv_t, value=-1.0), dim=-1)
        mean_lp = (post * log_prior).sum(-1)  # [M, N]
        ctx.save_for_backward(codebook, post, log_prior, mean_lp, inv_t)
        return -mean_lp

    @staticmethod
    def backward(ctx, grad):
        codebook, post, log_prior, mean_lp, inv_t = ctx.saved_tensors
        weights = (log_prior - mean_lp.unsqueeze(-1)).mul_(post).mul_(grad.unsqueeze(-1) * inv_t)
        return -2 * torch.bmm(weights, codebook), None, None, None, None


def soft_code_length(flat: torch.Tensor, codebook: torch.Tensor, scores: torch.Tensor, temperature: torch.Tensor,
                     log_prior: torch.Tensor) -> torch.Tensor:
    """:func:`soft_code_length_reference` from precomputed scores, with the fused backward.

    ``scores`` ``[M, N, K]`` (detached) are the squared distances of ``flat`` to ``codebook`` up
    to a constant per (m, n) row, such as :meth:`MultiCodebookVQ.scores` (``|c|^2 - 2 x.c``): the
    softmax does not see the constant. The gradient reaches ``flat`` only. Where the reference
    clamps a distance at 0 (a latent on a codeword, up to rounding) it passes no gradient through
    it and this function does: a difference at the rounding level.
    """
    with torch.autocast(flat.device.type, enabled=False):
        return _SoftCodeLength.apply(flat.float(), codebook.float(), scores.float(), temperature.float(),
                                     log_prior.float())
