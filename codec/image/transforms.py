"""Analysis and synthesis transforms of the image model.

The fine transforms follow Ballé et al.'s strided convolutions with GDN/IGDN (four 2x steps,
x16 downsampling), which learn fastest per CPU second among the designs we measured, optionally
followed (analysis) and preceded (synthesis) by residual blocks at latent resolution. The
shipped weights (gmq-v1 to v5) have one block each. Without them a plain autoencoder learned
faster from scratch (+0.89 and +1.05 dB validation PSNR at steps 800 and 1,000, 9% fewer seconds
per step; ``benchmarks/bench_learning.py``), but in the full VQ model that lead was gone by step
2,500. The coarse transforms take the fine latent one more 2x step down (stride 32) and back.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import GDN, ResidualBlock

__all__ = ["AnalysisTransform", "SynthesisTransform", "CoarseAnalysis", "CoarseSynthesis", "ScaleSynthesis"]


def _down(cin: int, cout: int, kernel: int = 5) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=2, padding=kernel // 2)


def _up(cin: int, cout: int, kernel: int = 5) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, kernel, stride=2, padding=kernel // 2, output_padding=1)


class AnalysisTransform(nn.Module):
    """``[B, 3, H, W]`` float in [0, 1] -> ``[B, C, H/16, W/16]`` (H, W multiples of 16);
    ``blocks`` residual blocks at latent resolution."""

    def __init__(self, hidden: int, latent: int, blocks: int = 1) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            _down(3, hidden), GDN(hidden),
            _down(hidden, hidden), GDN(hidden),
            _down(hidden, hidden), GDN(hidden),
            _down(hidden, latent),
            *(ResidualBlock(latent) for _ in range(blocks)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SynthesisTransform(nn.Module):
    """``[B, C, h, w]`` -> ``[B, 3, 16h, 16w]`` float (not clamped)."""

    def __init__(self, hidden: int, latent: int, blocks: int = 1) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            *(ResidualBlock(latent) for _ in range(blocks)),
            _up(latent, hidden), GDN(hidden, inverse=True),
            _up(hidden, hidden), GDN(hidden, inverse=True),
            _up(hidden, hidden), GDN(hidden, inverse=True),
            _up(hidden, 3),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.layers(y)


class CoarseAnalysis(nn.Module):
    """``[B, C, h, w]`` -> ``[B, Cz, h/2, w/2]``."""

    def __init__(self, latent: int, coarse: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(latent, latent, 3, padding=1), nn.LeakyReLU(inplace=True),
            _down(latent, coarse, kernel=3),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.layers(y)


class CoarseSynthesis(nn.Module):
    """``[B, Cz, h/2, w/2]`` -> ``[B, C, h, w]``: the coarse level's prediction of ``y``."""

    def __init__(self, latent: int, coarse: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            _up(coarse, latent, kernel=3), nn.LeakyReLU(inplace=True),
            nn.Conv2d(latent, latent, 3, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)


class ScaleSynthesis(nn.Module):
    """``[B, Cz, h/2, w/2]`` -> ``[B, outputs, h, w]``: predicted log2 RMS of the fine residual of
    each (stage, group), the side information the scale contexts are binned from."""

    def __init__(self, coarse: int, outputs: int, hidden: int = 64) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            _up(coarse, hidden, kernel=3), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden, outputs, 3, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)
