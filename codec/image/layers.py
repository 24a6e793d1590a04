"""Layers of the image transforms: GDN/IGDN and the latent-resolution residual block.

They compute what CompressAI's ``compressai.layers.GDN`` and ``ResidualBlock`` compute and keep
their parameter and buffer names, so the shipped weights (gmq-v1 to v5, trained with CompressAI's
layers) load unchanged; owning them keeps ``import compressai`` (about 2.4 s with what it pulls in)
off every command, and gives :mod:`codec.image.exact` one definition of the arithmetic to follow.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GDN", "ResidualBlock", "LowerBound", "NonNegative"]


class _LowerBoundFn(torch.autograd.Function):
    """``max(x, bound)`` whose gradient passes where ``x >= bound`` or where it pushes ``x`` up."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bound: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, bound)
        return torch.max(x, bound)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        x, bound = ctx.saved_tensors
        return ((x >= bound) | (grad < 0)).to(grad.dtype) * grad, None


class LowerBound(nn.Module):
    """Elementwise ``max(x, bound)`` with a pass-through gradient; buffer ``bound`` ``[1]``."""

    def __init__(self, bound: float) -> None:
        super().__init__()
        self.register_buffer("bound", torch.tensor([float(bound)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _LowerBoundFn.apply(x, self.bound.to(x.dtype))


class NonNegative(nn.Module):
    """Reparametrization ``v = max(p, sqrt(minimum + pedestal))**2 - pedestal`` (``v >= minimum``).

    Buffers ``pedestal`` ``[1]`` (``offset**2``) and ``lower_bound.bound``, as in CompressAI.
    """

    def __init__(self, minimum: float = 0.0, offset: float = 2.0 ** -18) -> None:
        super().__init__()
        self.register_buffer("pedestal", torch.tensor([offset ** 2]))
        self.lower_bound = LowerBound((minimum + offset ** 2) ** 0.5)

    def init(self, v: torch.Tensor) -> torch.Tensor:
        """The parameter ``p`` whose reparametrized value is ``v``."""
        return torch.sqrt(torch.max(v + self.pedestal, self.pedestal))

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return self.lower_bound(p) ** 2 - self.pedestal.to(p.dtype)


class GDN(nn.Module):
    """Generalized divisive normalization over channels, ``[B, C, H, W]`` -> same shape.

    Forward: ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j**2)``; ``inverse=True`` (IGDN)
    multiplies by the square root instead. ``beta >= 1e-6`` and ``gamma >= 0`` through
    :class:`NonNegative` (parameters ``beta`` ``[C]``, ``gamma`` ``[C, C]``).
    """

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_reparam = NonNegative(minimum=beta_min)
        self.gamma_reparam = NonNegative()
        self.beta = nn.Parameter(self.beta_reparam.init(torch.ones(channels)))
        self.gamma = nn.Parameter(self.gamma_reparam.init(gamma_init * torch.eye(channels)))

    def effective(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(beta [C], gamma [C, C])`` after reparametrization."""
        return self.beta_reparam(self.beta), self.gamma_reparam(self.gamma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta, gamma = self.effective()
        c = x.shape[1]
        norm = F.conv2d(x * x, gamma.reshape(c, c, 1, 1), beta)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)


class ResidualBlock(nn.Module):
    """``x + leaky(conv2(leaky(conv1(x))))`` with 3x3 convolutions, ``[B, C, H, W]`` -> same."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.leaky_relu = nn.LeakyReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.leaky_relu(self.conv2(self.leaky_relu(self.conv1(x))))
