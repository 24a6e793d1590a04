"""Encoder-side latent refinement: never worse than g_a, leaves the model untouched, and its
files decode with any codec instance (tiny random model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from codec.errors import InvalidInputError
from codec.image.codec import ImageCodec
from codec.image.evaluate import psnr_rgb
from codec.image.refine import refine_latent
from codec.weights import load_image_model


@pytest.fixture(scope="module")
def model(tiny_weights):
    return load_image_model(None, tiny_weights).model.eval()


def _decoded_error(model, y, x, quality):
    with torch.no_grad():
        y_q = model.latent_from_indices(model.indices_from_latent(y, quality))
        return F.mse_loss(model.synthesis(y_q).clamp(0, 1), x).item()


def _image(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, 64, 96, generator=g)


def test_zero_steps_is_the_analysis_transform(model):
    x = _image()
    with torch.no_grad():
        expected = model.analysis(x)
    assert torch.equal(refine_latent(model, x, 2, 0), expected)


@pytest.mark.parametrize("quality", [1, 3])
def test_refined_latent_decodes_closer_and_model_is_untouched(model, quality):
    x = _image(1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    y0 = refine_latent(model, x, quality, 0)
    y = refine_latent(model, x, quality, 20)
    assert y.shape == y0.shape and not y.requires_grad
    assert _decoded_error(model, y, x, quality) < _decoded_error(model, y0, x, quality)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_refined_file_decodes_with_a_plain_codec_and_is_closer(tiny_weights):
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:48, 0:80]
    rgb = np.clip(np.stack([xx * 3, yy * 5, (xx + yy) * 2], -1) + rng.normal(0, 6, (48, 80, 3)), 0, 255)
    image = Image.fromarray(rgb.astype(np.uint8))
    plain = ImageCodec(quality=3, weights_dir=tiny_weights)
    refined = ImageCodec(quality=3, weights_dir=tiny_weights, refine=15)
    data_plain, data_refined = plain.encode(image), refined.encode(image)
    assert data_refined != data_plain
    out_plain, _, _ = plain.decode_arrays(data_plain)
    out_refined, _, _ = plain.decode_arrays(data_refined)  # the decoder needs no refinement setting
    assert np.array_equal(out_refined, refined.decode_arrays(data_refined)[0])
    assert psnr_rgb(np.asarray(image), out_refined) > psnr_rgb(np.asarray(image), out_plain)


def test_negative_refine_is_refused(tiny_weights):
    with pytest.raises(InvalidInputError, match="refine"):
        ImageCodec(weights_dir=tiny_weights, refine=-1)
