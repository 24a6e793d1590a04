"""Exact inference: the image model's transforms and quantizer in fixed point, so that the decoded
pixels (and the encoded indices) are the same on every machine and for every thread count.

Float convolutions sum their products in an order that depends on the kernel and the thread
count, so a float decoder's output moves by an ulp here and there and an 8-bit rounding can flip
(measured with gmq-v5: 17 to 24 values of a Kodak image changed between 1 and 2 threads). Here
every activation is an integer number of units of ``2**-ACT_BITS``, held in float64. Weights are
rounded to integer multiples of a power of two chosen per layer, so a convolution sums integer
products; its input is clamped so that the sum of absolute products stays below ``2**53`` (the
bound comes from the layer's largest filter L1 norm), hence every partial sum is an exactly
represented integer and the result cannot depend on the order of summation. Between
convolutions only single IEEE operations appear (multiply, divide, sqrt, comparison, rounding to
nearest even), which are correctly rounded on every machine; no exp, log or fused kernels.

Entropy-constrained index choice adds to each integer distance an integer penalty: the quality's
rate weight times the code length of the shipped integer table, rounded once when the model is
built. Scale contexts are bins of the fixed-point scale head's output, found by one exact integer
division. The encoder's choices therefore depend on nothing but integers too.

The fixed-point network differs from the float one by rounding: on Kodak with gmq-v5 the decoded
PSNR moves by at most a few thousandths of a dB (README, "Exact decoding"). Training and
refinement keep the float modules; only the codec's encode and decode go through this module.
"""

from __future__ import annotations

import math

import numpy as np

import torch
import torch.nn.functional as F
from torch import nn

from entropy import FrequencyTables

from .layers import GDN, ResidualBlock
from .model import ImageModel
from .quantizer import MultiCodebookVQ

__all__ = ["ACT_BITS", "ExactModel", "to_grid", "from_grid"]

ACT_BITS = 14  # activation unit 2**-14 (pixels in [0, 1] carry 14 fractional bits)
WEIGHT_BITS = 15  # a layer's largest |weight| becomes about 2**15 units
DIST_BITS = 10  # VQ distances compare residuals on a 2**-10 grid
_SAFE = 2.0 ** 53  # integers below this are exact in float64, and so are their sums


def to_grid(x: torch.Tensor, bits: int = ACT_BITS) -> torch.Tensor:
    """Real values -> float64 integer units of ``2**-bits`` (round half to even)."""
    return torch.round(x.double() * 2.0 ** bits)


def from_grid(a: torch.Tensor, bits: int = ACT_BITS) -> torch.Tensor:
    """Integer units of ``2**-bits`` -> real values (float64, exact)."""
    return a * 2.0 ** -bits


class _Conv:
    """A convolution (or transposed convolution) on integer units, exact in float64."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, transposed: bool, **geometry) -> None:
        w = weight.detach().double()
        top = float(w.abs().max())
        self.shift = WEIGHT_BITS - (math.frexp(top)[1] if top > 0 else 0)  # weight units 2**-shift
        self.weight = torch.round(w * 2.0 ** self.shift)
        self.bias = None if bias is None else torch.round(bias.detach().double() * 2.0 ** (self.shift + ACT_BITS))
        per_output = self.weight.abs().sum(dim=(0, 2, 3) if transposed else (1, 2, 3))
        room = _SAFE - (0.0 if self.bias is None else float(self.bias.abs().max()))
        self.limit = math.floor(room / max(float(per_output.max()), 1.0)) - 1  # |input| bound, units
        self.transposed = transposed
        self.geometry = geometry

    def accumulate(self, a: torch.Tensor) -> torch.Tensor:
        """Exact sums in units of ``2**-(ACT_BITS + shift)`` (a new tensor; ``a`` is not changed)."""
        if a.numel():
            low, high = torch.aminmax(a)  # one pass; the clamped copy only when something is out of range
            if low < -self.limit or high > self.limit:
                a = a.clamp(-self.limit, self.limit)
        op = F.conv_transpose2d if self.transposed else F.conv2d
        return op(a, self.weight, self.bias, **self.geometry)

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        return self.accumulate(a).mul_(2.0 ** -self.shift).round_()


def _conv_of(m: nn.Conv2d | nn.ConvTranspose2d) -> _Conv:
    if isinstance(m, nn.ConvTranspose2d):
        return _Conv(m.weight, m.bias, True, stride=m.stride, padding=m.padding, output_padding=m.output_padding)
    return _Conv(m.weight, m.bias, False, stride=m.stride, padding=m.padding)


class _GDN:
    """GDN / IGDN on integer units: ``x / sqrt(norm)`` or ``x * sqrt(norm)``, ``norm`` exact."""

    def __init__(self, m: GDN) -> None:
        with torch.no_grad():
            beta = m.beta_reparam.lower_bound(m.beta.double()) ** 2 - m.beta_reparam.pedestal.double()
            gamma = m.gamma_reparam.lower_bound(m.gamma.double()) ** 2 - m.gamma_reparam.pedestal.double()
        c = gamma.shape[0]
        self.norm = _Conv(gamma.reshape(c, c, 1, 1), beta, False)
        self.inverse = m.inverse

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        # in place on fresh tensors only (the same IEEE operations in the same order, a third
        # of the time of out-of-place ops on a 64 x 256 x 384 activation)
        squares = (a * a).mul_(2.0 ** -ACT_BITS).round_()  # x**2 in activation units
        # at least one unit of the sum, so that GDN never divides by zero
        root = self.norm.accumulate(squares).clamp_min_(1).mul_(2.0 ** -(ACT_BITS + self.norm.shift)).sqrt_()
        return (root.mul_(a) if self.inverse else torch.div(a, root, out=root)).round_()


class _Leaky:
    def __init__(self, slope: float) -> None:
        if not 0.0 <= slope <= 1.0:
            raise TypeError(f"no exact form for a leaky ReLU of slope {slope} (needs 0 <= slope <= 1)")
        self.slope = slope

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        # max(a, round(a * slope)) is a where a >= 0 and round(a * slope) where a < 0, for
        # integer a and 0 <= slope <= 1 (round(a * slope) >= a there, since a <= a * slope)
        return torch.maximum(a, (a * self.slope).round_())


class _Residual:
    def __init__(self, m: ResidualBlock) -> None:
        self.conv1, self.conv2 = _conv_of(m.conv1), _conv_of(m.conv2)
        self.leaky = _Leaky(m.leaky_relu.negative_slope)

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        return a + self.leaky(self.conv2(self.leaky(self.conv1(a))))


def _compile(seq: nn.Sequential) -> list:
    ops = []
    for m in seq:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            ops.append(_conv_of(m))
        elif isinstance(m, GDN):
            ops.append(_GDN(m))
        elif isinstance(m, nn.LeakyReLU):
            ops.append(_Leaky(m.negative_slope))
        elif isinstance(m, ResidualBlock):
            ops.append(_Residual(m))
        else:
            raise TypeError(f"no exact form for layer {type(m).__name__}")
    return ops


def _code_lengths(table: FrequencyTables) -> torch.Tensor:
    """``precision - log2(freq)`` of every entry of ``table`` (float64, the tables' shape), from
    scalar ``math.log2`` of each distinct frequency: torch's vectorized ``log2`` is chosen by CPU
    feature and may round another way elsewhere, which could move an encoder choice."""
    freqs = np.asarray(table.freqs, dtype=np.int64)
    values, inverse = np.unique(freqs, return_inverse=True)
    lengths = np.array([table.precision - math.log2(v) for v in values.tolist()], dtype=np.float64)
    return torch.from_numpy(lengths[inverse].reshape(freqs.shape))


def _run(ops: list, a: torch.Tensor) -> torch.Tensor:
    for op in ops:
        a = op(a)
    return a


class _Codebooks:
    """One VQ stage on integer units: the stage's own lookup and nearest-codeword search, given
    its codebook on the activation grid and, for distances, on a coarser grid where every
    distance is an exact integer."""

    def __init__(self, vq: MultiCodebookVQ) -> None:
        self.vq = vq
        cb = vq.codebook.detach()
        self.words = to_grid(cb)  # [M, K, d] activation units
        # |r|, |c| <= bound keeps ||r||^2 - 2 r.c + ||c||^2 (at most 4 d bound^2) below 2**52,
        # and a penalty below 2**52 keeps the sum below 2**53
        self.bound = math.floor(math.sqrt(_SAFE / 2 / (4 * vq.dim)))
        self.dist_words = to_grid(cb, DIST_BITS).clamp(-self.bound, self.bound)

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        """``[B, M, h, w]`` int64 -> ``[B, M*d, h, w]`` activation units."""
        return self.vq.lookup(idx, self.words)

    def indices(self, a: torch.Tensor, penalty: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Codeword of least distance (plus ``penalty``: integer ``[M, G, K]`` in squared units
        of ``2**-DIST_BITS``, and contexts) per group, ``[B, M*d, h, w]`` units -> ``[B, M, h, w]``
        int64; ties go to the lowest index (``argmin`` returns the first minimum)."""
        r = torch.round(a * 2.0 ** (DIST_BITS - ACT_BITS)).clamp(-self.bound, self.bound)
        return self.vq.indices(r, self.dist_words, penalty)


class ExactModel:
    """Fixed-point twin of an :class:`ImageModel` for coding (no gradients, float64 on CPU).

    Built from the model's current weights and, for entropy-constrained qualities, the shipped
    integer tables of every level (coarse first, as :class:`codec.weights.LoadedModel` holds
    them); rebuild it after either changes.
    """

    def __init__(self, model: ImageModel, tables: tuple[FrequencyTables, ...] | None = None) -> None:
        self.config = c = model.config
        self.model = model
        self.analysis = _compile(model.analysis.layers)
        self.synthesis = _compile(model.synthesis.layers)
        self.coarse_analysis = _compile(model.coarse_analysis.layers)
        self.coarse_synthesis = _compile(model.coarse_synthesis.layers)
        self.scale_synthesis = _compile(model.scale_synthesis.layers) if c.context == "scale" else None
        self.rate_unit = float(model.rate_unit) if c.uses_rate_unit else 0.0
        if not (math.isfinite(self.rate_unit) and self.rate_unit >= 0):
            raise ValueError(f"the model's rate unit {self.rate_unit} is not a finite, non-negative number")
        self.coarse_vq = _Codebooks(model.coarse_vq)
        self.fine_vq = [_Codebooks(vq) for vq in model.fine_vq]
        # code length in bits of every (group, class, codeword) of each fine stage, float64
        self.lengths = [] if tables is None else [
            _code_lengths(t).reshape(m, -1, c.codebook_size) for t, m in zip(tables[1:], c.fine_groups)]

    @torch.no_grad()
    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B, 3, H, W]`` in [0, 1] -> ``y = g_a(x)`` in activation units."""
        return _run(self.analysis, to_grid(x.cpu()))

    @torch.no_grad()
    def context(self, level: int, indices: list[torch.Tensor], quality: int) -> torch.Tensor:
        """Integer context classes of ``level`` (0 coarse, s+1 fine stage s) at ``quality`` from
        the levels before it, ``indices`` ``[iz, i_0, ...]`` (at least ``level`` of them; the
        coarse level needs only the shape of ``indices[0]``)."""
        if level == 0:
            return self.model.coarse_context(indices[0])
        c = self.config
        offset = c.class_offset(quality)
        if self.scale_synthesis is None:
            return self.model.context(level - 1, indices[level - 1].cpu()) + offset
        a = _run(self.scale_synthesis, self.coarse_vq.lookup(indices[0].cpu()))
        start = sum(c.fine_groups[:level - 1])
        a = a[:, start:start + c.fine_groups[level - 1]]
        # exact: both operands are integers below 2**53 and IEEE division rounds correctly
        bins = torch.floor((a - c.scale_min * 2.0 ** ACT_BITS) / (c.scale_step * 2.0 ** ACT_BITS))
        return bins.clamp(0, c.context_classes - 1).long() + offset

    @torch.no_grad()
    def indices_from_latent(self, y: torch.Tensor, quality: int) -> list[torch.Tensor]:
        """``y`` in activation units -> ``[iz, i_0, ..., i_{S-1}]`` int64 index tensors of
        ``quality`` (S stages, chosen with its rate weight)."""
        c = self.config
        weight = c.rate_weight(quality)
        if weight > 0 and not self.lengths:
            raise ValueError("entropy-constrained qualities need the model's tables")
        iz = self.coarse_vq.indices(_run(self.coarse_analysis, y))
        residual = y - _run(self.coarse_synthesis, self.coarse_vq.lookup(iz))
        out = [iz]
        for s, vq in enumerate(self.fine_vq[:c.stages(quality)]):
            penalty = None
            if weight > 0:
                units = torch.round(self.lengths[s] * (weight * self.rate_unit * 2.0 ** (2 * DIST_BITS))).clamp_max(_SAFE / 2)
                penalty = (units, self.context(s + 1, out, quality))
            idx = vq.indices(residual, penalty)
            residual = residual - vq.lookup(idx)
            out.append(idx)
        return out

    @torch.no_grad()
    def decode(self, indices: list[torch.Tensor]) -> torch.Tensor:
        """``[iz, i_0, ..., i_{S-1}]`` -> ``x_hat`` ``[B, 3, H, W]`` float64 (not clamped)."""
        y = _run(self.coarse_synthesis, self.coarse_vq.lookup(indices[0].cpu()))
        for vq, idx in zip(self.fine_vq, indices[1:]):
            y = y + vq.lookup(idx.cpu())
        return from_grid(_run(self.synthesis, y))
