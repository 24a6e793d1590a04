"""The fused soft rate term against its autograd reference."""

from __future__ import annotations

import torch

from codec.image.quantizer import MultiCodebookVQ
from codec.image.soft_rate import soft_code_length, soft_code_length_reference


def _case(seed: int, m: int = 3, n: int = 50, k: int = 16, d: int = 4):
    g = torch.Generator().manual_seed(seed)
    flat = torch.randn(m, n, d, generator=g, dtype=torch.float64) * 2
    codebook = torch.randn(m, k, d, generator=g, dtype=torch.float64) * 2
    temperature = torch.rand(m, generator=g, dtype=torch.float64) + 0.5
    log_prior = torch.log_softmax(torch.randn(m, n, k, generator=g, dtype=torch.float64), -1)
    return flat, codebook, temperature, log_prior


def test_value_and_gradient_match_autograd():
    for seed in range(3):
        flat, codebook, temperature, log_prior = _case(seed)
        a = flat.clone().requires_grad_(True)
        ref = soft_code_length_reference(a, codebook, temperature, log_prior)
        weights = torch.rand(ref.shape, dtype=torch.float64)  # an arbitrary incoming gradient
        (ref * weights).sum().backward()
        b = flat.float().requires_grad_(True)
        scores = MultiCodebookVQ.scores(b.detach(), codebook.float())  # distances less |x|^2
        fast = soft_code_length(b, codebook.float(), scores, temperature.float(), log_prior.float())
        (fast * weights.float()).sum().backward()
        # fp32 against fp64: distances of order 10-50 carry ~1e-6 relative rounding
        assert torch.allclose(fast.double(), ref, rtol=1e-4, atol=1e-5)
        assert torch.allclose(b.grad.double(), a.grad, rtol=1e-3, atol=1e-5)
        assert a.grad.abs().max() > 1e-3  # the check is not vacuous


def test_runs_in_fp32_under_bf16_autocast():
    flat, codebook, temperature, log_prior = (t.float() for t in _case(0))
    x = flat.clone().requires_grad_(True)
    dist = torch.cdist(flat, codebook).square()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = soft_code_length(x, codebook, dist, temperature, log_prior)
    out.sum().backward()
    assert out.dtype == torch.float32 and x.grad.dtype == torch.float32 and torch.isfinite(x.grad).all()
