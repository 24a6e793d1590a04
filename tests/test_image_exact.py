"""Exact coding: fixed-point sums are exact, and the shipped model on real Kodak images encodes to
the same bytes and decodes to the same pixels with 1 and 2 threads, at every quality, for RGB,
RGBA and tiled images."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from codec.image.exact import ACT_BITS, _Conv, _conv_of, from_grid, to_grid
from tests.conftest import SHARED_DATA, dispatched_simd_features

KODAK = SHARED_DATA / "kodak"


def _int_conv(a: torch.Tensor, w: torch.Tensor, b: torch.Tensor, padding: int) -> torch.Tensor:
    """Reference: the same convolution in int64 (im2col and an integer matmul)."""
    cols = F.unfold(a, w.shape[-1], padding=padding).long()  # [1, Cin*k*k, L]
    out = w.long().reshape(w.shape[0], -1) @ cols[0] + b.long()[:, None]
    return out.reshape(1, w.shape[0], a.shape[2] + 2 * padding - w.shape[-1] + 1, -1)


def test_conv_sums_are_exact_at_the_clamp_limit():
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 8, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(30)
    q = _conv_of(conv)
    # the worst case: every input at the bound, signs matching each weight of output channel 0
    sign = torch.sign(q.weight[0]).unsqueeze(0)
    a = (sign * 4 * q.limit).repeat(1, 1, 2, 2)[:, :, :5, :5]  # beyond the bound: clamped
    acc = q.accumulate(a)
    ref = _int_conv(a.clamp(-q.limit, q.limit), q.weight, q.bias, 1)
    assert float(acc.abs().max()) > 2.0 ** 50  # the test reaches the range where float64 is tight
    assert torch.equal(acc.long(), ref)


def test_grid_round_trip_and_units():
    x = torch.tensor([0.0, 1.0, -0.5, 1 / 3])
    a = to_grid(x)
    assert a.dtype == torch.float64 and torch.equal(a, torch.round(a))
    assert float((from_grid(a) - x.double()).abs().max()) <= 2.0 ** -(ACT_BITS + 1)


def test_weights_are_integers_with_bounded_sums():
    torch.manual_seed(1)
    q = _Conv(torch.randn(4, 3, 5, 5), torch.randn(4), transposed=False, stride=2, padding=2)
    assert torch.equal(q.weight, torch.round(q.weight)) and float(q.weight.abs().max()) <= 2 ** 15
    assert q.limit * float(q.weight.abs().sum((1, 2, 3)).max()) + float(q.bias.abs().max()) < 2.0 ** 53


_CODE_ALL = """
import hashlib, io, json, sys
import numpy as np
from PIL import Image
from codec.image.codec import ImageCodec
src = Image.open(sys.argv[1]).convert("RGB")
rgba = src.crop((0, 0, 256, 192)); rgba.putalpha(Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (192, 1))))
tiled = src.crop((0, 0, 600, 256))  # tiles of 320 with 32 px of cross-fade: 2x1 tiles
out = {}
for name, image, qualities, tile in (("rgb", src, range(1, 7), 1024), ("rgba", rgba, (3,), 1024), ("tiled", tiled, (2, 5), 320)):
    for q in qualities:
        codec = ImageCodec(quality=q, tile=tile)
        data = codec.encode(image)
        pixels = np.asarray(codec.decode(data))
        out[f"{name}-q{q}"] = [hashlib.sha256(data).hexdigest(), hashlib.sha256(pixels.tobytes()).hexdigest(),
                               len(data)]
print(json.dumps(out))
"""


@pytest.mark.skipif(not (KODAK / "kodim23.png").is_file(), reason="Kodak images not in ../shared/data")
def test_shipped_model_is_exact_across_thread_counts(run_snippet):
    """Same file bytes and same decoded pixels with 1 and 2 threads (the README's guarantee), and
    with the 2-thread run on other kernels: torch's and numpy's SIMD dispatch turned off
    (``ATEN_CPU_CAPABILITY=default``, ``NPY_DISABLE_CPU_FEATURES``), as on a machine with other
    vector units."""
    args = [str(KODAK / "kodim23.png")]
    plain = {"NPY_DISABLE_CPU_FEATURES": " ".join(dispatched_simd_features()),
             "ATEN_CPU_CAPABILITY": "default"}
    one = json.loads(run_snippet(_CODE_ALL, threads=1, torch_threads=1, args=args, timeout=600))
    two = json.loads(run_snippet(_CODE_ALL, threads=2, torch_threads=2, args=args, env=plain, timeout=600))
    assert set(one) == {*(f"rgb-q{q}" for q in range(1, 7)), "rgba-q3", "tiled-q2", "tiled-q5"}
    assert one == two
    sizes = [one[f"rgb-q{q}"][2] for q in range(1, 7)]
    assert sizes == sorted(sizes)  # a sanity check that every quality was really coded


@pytest.mark.skipif(not (KODAK / "kodim23.png").is_file(), reason="Kodak images not in ../shared/data")
def test_exact_decoder_matches_the_float_model():
    """Fixed point costs no measurable quality: PSNR within 0.01 dB of the float decoder."""
    from PIL import Image

    from codec.image.codec import _to_tensor
    from codec.image.exact import ExactModel
    from codec.weights import load_image_model

    model = load_image_model().model
    px = np.asarray(Image.open(KODAK / "kodim23.png").convert("RGB"))
    x = _to_tensor(px, torch.device("cpu"))
    with torch.no_grad():
        indices = model.encode_indices(x, 4)
        float_out = model.decode_indices(indices)
    exact_out = ExactModel(model).decode(indices)

    def psnr(v: torch.Tensor) -> float:
        u = v.clamp(0, 1).mul(255).round()[0].permute(1, 2, 0).double().numpy()
        return float(10 * np.log10(255 ** 2 / ((u - px) ** 2).mean()))

    assert abs(psnr(float_out) - psnr(exact_out)) < 0.01
