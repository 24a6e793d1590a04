"""Exponential moving average of the trainable weights, for export (``--ema DECAY``).

The average covers parameters only, in fp32 on the training device, updated after every
optimizer step without a host sync (``torch._foreach_lerp_``). Buffers (codebooks, priors, class
maps) are not averaged: an export with ``--ema`` takes them from the live model.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["WeightEMA", "EMA_PREFIX"]

EMA_PREFIX = "ema."  # checkpoint tensor names: "ema.<parameter name>"


class WeightEMA:
    """``shadow[name] = decay * shadow[name] + (1 - decay) * param`` after each step."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.names = [name for name, _ in model.named_parameters()]
        self.params = [p for _, p in model.named_parameters()]
        self.shadow = [p.detach().float().clone() for p in self.params]

    @torch.no_grad()
    def update(self) -> None:
        torch._foreach_lerp_(self.shadow, [p.detach().float() for p in self.params], 1.0 - self.decay)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The averages under checkpoint names (``ema.<parameter name>``)."""
        return {EMA_PREFIX + n: s for n, s in zip(self.names, self.shadow)}

    def load(self, tensors: dict[str, torch.Tensor]) -> bool:
        """Restore the averages from checkpoint tensors; False when the checkpoint has none."""
        if not all(EMA_PREFIX + n in tensors for n in self.names):
            return False
        for n, s in zip(self.names, self.shadow):
            s.copy_(tensors[EMA_PREFIX + n])
        return True
