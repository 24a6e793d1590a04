"""What one training step optimizes, for our VQ model and for the scale-hyperprior peer.

Both objectives share the form ``lambda * 255^2 * MSE + bpp`` (plus latent terms for VQ), take a
batch ``[B, 3, H, W]`` in [0, 1] and return ``(loss, stats)``, the stats as detached 0-dim
tensors on the batch's device (reading them would make the host wait for the device every step);
``evaluate`` gives per-quality PSNR and bpp (ideal code length) on a validation batch.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codec.image.config import ImageModelConfig
from codec.image.diagnostics import stage_diagnostics
from codec.image.model import ImageModel
from codec.image.quantizer import MultiCodebookVQ

__all__ = ["VQObjective", "HyperpriorObjective", "build_objective", "psnr"]


def psnr(mse: float) -> float:
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def _psnr_tensor(mse: torch.Tensor) -> torch.Tensor:
    """:func:`psnr` of a 0-dim tensor, left on its device (no host sync inside a step)."""
    return -10 * torch.log10(mse.detach().float().clamp_min(1e-12))


class VQObjective:
    """Variable-rate training of :class:`ImageModel`: each step draws the number of stages
    (quality) uniformly, so one model learns every prefix of the bitstream.

    ``lmbda`` weighs distortion against the soft index rate; ``commit`` weighs the commitment of
    ``y`` to its quantized approximation (latent units, the only latent loss that trains ``g_a``);
    the coarse level's own losses have weight 1 (they train only the coarse transforms);
    ``qualities`` restricts the draw (default: all); ``pin`` (latent units, optional) holds the
    RMS of ``y`` near that value by a weight-``PIN_WEIGHT`` squared error of log2 RMS: rate and
    distortion do not see the latent's overall scale once the ECVQ weights are in ``rate_unit``,
    so without it the analysis transform let the latent drift (residual RMS 45 -> 111 in 2,000
    steps) and the codebooks chased it.

    Under bf16 autocast the VQ stages run in fp32 (``fp32_modules``): the nearest-codeword search
    uses expanded squared distances (|x|^2 - 2 x.c + |c|^2), which cancel in bf16 (on identical
    inputs bf16 distances picked another codeword at 0.5-2.4 % of positions per stage), and the
    soft rate term is built on them. GDN/IGDN stay bf16: their bf16 output error (0.2 %) equals a
    plain convolution's (``benchmarks/bench_precision_quality.py parts``).
    """

    fp32_modules: tuple[type[nn.Module], ...] = (MultiCodebookVQ,)
    PIN_WEIGHT = 10.0

    def __init__(self, config: ImageModelConfig, lmbda: float = 0.05, commit: float = 1.0,
                 qualities: tuple[int, ...] | None = None, pin: float | None = None) -> None:
        self.model = ImageModel(config)
        self.lmbda, self.commit, self.pin = lmbda, commit, pin
        if qualities is not None and not set(qualities) <= set(range(1, config.num_qualities + 1)):
            raise ValueError(f"qualities {qualities} outside 1..{config.num_qualities}")
        self.qualities = qualities

    def loss(self, net: nn.Module, x: torch.Tensor, rng: np.random.Generator) -> tuple[torch.Tensor, dict]:
        if self.qualities is None:
            quality = int(rng.integers(1, self.model.config.num_qualities + 1))
        else:
            quality = self.qualities[int(rng.integers(len(self.qualities)))]
        out = net(x, quality)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        mse = F.mse_loss(out["x_hat"], x)
        bpp_soft = out["rate"].sum() / pixels
        loss = self.lmbda * 255**2 * mse + bpp_soft + self.commit * out["commit"] + \
            out["commit_coarse"] + out["predict"] + out["scale"]
        stats = {f"psnr_q{quality}": _psnr_tensor(mse), f"bpp_q{quality}": (out["bits"].sum() / pixels).detach(),
                 **{k: out[k].detach() for k in ("commit", "commit_coarse", "predict", "scale")},
                 "latent_rms": out["latent_rms"].detach()}
        if self.pin is not None:
            pin = (out["latent_rms"].log2() - math.log2(self.pin)).square()
            loss, stats["pin"] = loss + self.PIN_WEIGHT * pin, pin.detach()
        return loss, stats

    def initialize(self, x: torch.Tensor) -> None:
        """k-means the codebooks that are not initialized yet on ``x`` ``[B, 3, H, W]`` (a few
        thousand latent vectors per codebook: a warm start from trained transforms)."""
        if all(bool(vq.initialized) for vq in self.model.fine_vq):
            return
        self.model.initialize_codebooks(x)

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor) -> dict:
        self.model.eval()
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        out = {}
        for q in range(1, self.model.config.num_qualities + 1):
            r = self.model(x, q)
            mse = F.mse_loss(r["x_hat"].clamp(0, 1), x).item()
            out[f"psnr_q{q}"], out[f"bpp_q{q}"] = psnr(mse), r["bits"].sum().item() / pixels
        out["score"] = float(np.mean([out[f"psnr_q{q}"] for q in range(1, self.model.config.num_qualities + 1)]))
        usage = [vq.usage_perplexity().min().item() for vq in [self.model.coarse_vq, *self.model.fine_vq]]
        out["min_perplexity"] = min(usage)
        top = self.model.config.num_qualities
        out["ceiling"] = psnr(F.mse_loss(self.model.synthesis(self.model.analysis(x)).clamp(0, 1), x).item())
        for s, stage in enumerate(stage_diagnostics(self.model, x, top)):
            out.update({f"s{s}_{k}": v for k, v in stage.items()})
        self.model.train()
        return out

    def after_step(self, step: int) -> None:
        if step % 500 == 0:
            self.model.refresh_contexts()


class HyperpriorObjective:
    """CompressAI's bmshj2018 scale-hyperprior (the peer), trained by the same loop."""

    def __init__(self, n: int = 96, m: int = 128, lmbda: float = 0.0130) -> None:
        try:
            from compressai.entropy_models import EntropyModel
            from compressai.models import ScaleHyperprior
        except ImportError:
            raise SystemExit("the hyperprior peer needs CompressAI: `make peer` installs it") from None
        self.model = ScaleHyperprior(n, m)
        self.lmbda = lmbda
        # under bf16 autocast the likelihoods (the rate term) stay fp32, as the VQ model's do
        self.fp32_modules: tuple[type[nn.Module], ...] = (EntropyModel,)

    def loss(self, net: nn.Module, x: torch.Tensor, rng: np.random.Generator) -> tuple[torch.Tensor, dict]:
        out = net(x)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = sum(torch.log(l).sum() for l in out["likelihoods"].values()) / (-math.log(2) * pixels)
        mse = F.mse_loss(out["x_hat"], x)
        aux = self.model.aux_loss()
        loss = self.lmbda * 255**2 * mse + bpp + aux
        return loss, {"psnr": _psnr_tensor(mse), "bpp": bpp.detach(), "aux": aux.detach()}

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor) -> dict:
        self.model.eval()
        out = self.model(x)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = sum(torch.log(l).sum() for l in out["likelihoods"].values()).item() / (-math.log(2) * pixels)
        p = psnr(F.mse_loss(out["x_hat"].clamp(0, 1), x).item())
        self.model.train()
        return {"psnr": p, "bpp": bpp, "score": p - 10 * bpp}

    def initialize(self, x: torch.Tensor) -> None:
        """Nothing to initialize from data (CompressAI's own initialization)."""

    def after_step(self, step: int) -> None:
        return None


def build_objective(arch: str, config: ImageModelConfig, lmbda: float | None,
                    qualities: tuple[int, ...] | None = None, commit: float | None = None,
                    pin: float | None = None):
    if arch == "vq":
        return VQObjective(config, **{k: v for k, v in (("lmbda", lmbda), ("commit", commit)) if v is not None},
                           qualities=qualities, pin=pin)
    if arch == "hyperprior":
        if qualities is not None or commit is not None or pin is not None:
            raise ValueError("--qualities, --commit and --pin-latent apply to the vq model only")
        return HyperpriorObjective() if lmbda is None else HyperpriorObjective(lmbda=lmbda)
    raise ValueError(f"unknown architecture {arch!r} (choose vq or hyperprior)")
