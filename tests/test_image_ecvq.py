"""Entropy-constrained qualities and scale contexts (image model v2), on a tiny random model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from codec.container import unpack
from codec.errors import CorruptDataError, InvalidInputError
from codec.image.codec import ImageCodec, reduce_quality
from codec.image.config import ImageModelConfig
from codec.image.exact import ExactModel
from codec.image.model import ImageModel
from codec.image.quantizer import MultiCodebookVQ
from codec.image.tables import freeze
from codec.weights import load_image_model, load_model_weights, save_image_model
from conftest import TINY_MODEL_ID

TINY2_ID = "tiny-ecvq"
TINY2 = {"hidden": 16, "latent": 32, "coarse_latent": 16, "coarse_groups": 2, "fine_groups": [8, 8],
         "codebook_size": 16, "context_classes": 4, "context": "scale", "scale_min": -3.0, "scale_step": 1.0,
         "quality_stages": [1, 1, 2, 2], "quality_rate": [1.0, 0.1, 0.1, 0.0]}


@pytest.fixture(scope="module")
def tiny2_weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights2")
    torch.manual_seed(0)
    model = ImageModel(ImageModelConfig.from_dict(TINY2)).train()
    x = torch.rand(4, 3, 64, 64)
    model.initialize_codebooks(x)
    head = model.scale_synthesis.layers[-1]  # a head that varies, so that the contexts do (-3 .. 1 are its bins)
    with torch.no_grad():
        head.weight.normal_(0, 0.3)
        head.bias.fill_(-1.0)
    for q in range(1, 5):
        model(x, q)
    save_image_model(freeze(model, TINY2_ID, [x]), folder, {"note": "random weights for tests"})
    return folder


@pytest.fixture(scope="module")
def codecs(tiny2_weights):
    return {q: ImageCodec(quality=q, weights_dir=tiny2_weights) for q in range(1, 5)}


def _photo(width: int = 96, height: int = 64, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 / width, yy * 255 / height, (xx * yy) % 256], axis=-1)
    return Image.fromarray(np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8), "RGB")


def test_config_round_trips_and_old_configs_keep_their_json():
    config = ImageModelConfig.from_dict(TINY2)
    assert ImageModelConfig.from_dict(json.loads(config.to_json())) == config
    assert config.num_qualities == 4 and config.num_stages == 2 and not config.prefix_qualities
    assert [config.stages(q) for q in range(1, 5)] == [1, 1, 2, 2]
    old = ImageModelConfig()
    assert set(json.loads(old.to_json())) == {"coarse_groups", "coarse_latent", "codebook_size", "context_classes",
                                              "fine_groups", "hidden", "latent", "latent_blocks"}
    with pytest.raises(ValueError, match="one entry per quality"):
        ImageModelConfig.from_dict({**TINY2, "quality_rate": [0.1]})
    with pytest.raises(ValueError, match="between 1 and"):
        ImageModelConfig.from_dict({**TINY2, "quality_stages": [1, 1, 3, 2]})


def test_rate_weight_trades_distance_for_code_length():
    torch.manual_seed(1)
    vq = MultiCodebookVQ(8, 2, 32)
    vq.codebook.copy_(torch.randn(2, 32, 4))
    x = torch.randn(3, 8, 5, 5)
    lengths = torch.rand(2, 1, 32) * 8  # one context class
    ctx = torch.zeros(3, 2, 5, 5, dtype=torch.int64)
    nearest = vq.indices(x)
    assert torch.equal(vq.indices(x, penalty=(lengths * 0, ctx)), nearest)
    flat = vq.split(x)
    totals = []
    for weight in (0.0, 0.1, 1.0, 1e6):
        idx = vq.indices(x, penalty=(lengths * weight, ctx))
        gi = idx.transpose(0, 1).reshape(2, -1)
        dist = vq.distances(flat).gather(-1, gi.unsqueeze(-1)).sum().item()
        bits = torch.stack([lengths[g, 0][gi[g]] for g in range(2)]).sum().item()
        totals.append((dist, bits))
    assert all(a[1] >= b[1] and a[0] <= b[0] for a, b in zip(totals, totals[1:]))
    assert totals[-1][1] < totals[0][1]
    # a weight that dwarfs every distance picks each group's cheapest codeword everywhere
    assert torch.equal(gi, lengths[:, 0].argmin(-1, keepdim=True).expand_as(gi))


def test_round_trip_states_its_stages_and_is_deterministic(codecs):
    img = _photo()
    for q, codec in codecs.items():
        data = codec.encode(img)
        header = unpack(data, "image").header
        assert header["quality"] == q and header["stages"] == codec._model(None).model.config.stages(q)
        assert codec.decode(data).size == img.size
        assert codec.encode(img) == data


def test_a_larger_rate_weight_gives_fewer_bytes(codecs):
    img = _photo(160, 128, seed=3)
    sizes = {q: len(codecs[q].encode(img)) for q in codecs}
    assert sizes[1] < sizes[2] < sizes[4]
    assert sizes[3] < sizes[4]


def test_entropy_constrained_files_refuse_prefix_cuts_and_wrong_stages(codecs):
    data = codecs[4].encode(_photo())
    with pytest.raises(InvalidInputError, match="not prefixes"):
        reduce_quality(data, 3)
    from codec.container import Container, pack

    c = unpack(data, "image")
    forged = pack(Container("image", dict(c.header, stages=1), c.sections))
    with pytest.raises(CorruptDataError, match="stages"):
        codecs[4].decode(forged)


def test_exact_scale_contexts_match_the_float_ones(tiny2_weights):
    lm = load_image_model(TINY2_ID, tiny2_weights)
    exact = ExactModel(lm.model, lm.tables)
    x = torch.from_numpy(np.array(_photo(128, 128, seed=5))).permute(2, 0, 1).float().div(255)[None]
    indices = exact.indices_from_latent(exact.latent(x), 4)
    float_ctx = lm.model.contexts_for(indices, 4)
    for level in range(1, 3):
        agree = (exact.context(level, indices, 4) == float_ctx[level]).double().mean().item()
        assert agree > 0.97, (level, agree)
    classes = exact.context(1, indices, 4).unique()
    assert len(classes) > 1  # the contexts say something
    assert classes.min() >= 12 and classes.max() < 16  # quality 4's own prior classes


def test_partial_init_keeps_what_fits(tiny_weights, tmp_path):
    config = ImageModelConfig.from_dict(TINY2)
    model = ImageModel(config)
    skipped = load_model_weights(model, tiny_weights / f"{TINY_MODEL_ID}.safetensors", partial=True)
    assert skipped == ["fine_prior.0", "fine_prior.1", "fine_vq.0", "fine_vq.1", "rate_unit", "scale_synthesis"]
    donor = load_image_model(TINY_MODEL_ID, tiny_weights).model
    assert torch.equal(model.analysis.layers[0].weight, donor.analysis.layers[0].weight)
    assert not bool(model.fine_vq[0].initialized)
    with pytest.raises(Exception, match="do not fit"):
        load_model_weights(ImageModel(config), tiny_weights / f"{TINY_MODEL_ID}.safetensors")


def test_training_warm_starts_from_old_weights_freezes_and_exports(tiny_weights, tmp_path):
    from train.export import main as export
    from train.loop import main

    folder = tmp_path / "data"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(folder / f"im{i:03d}.png")
    out = tmp_path / "run"
    args = ["--data", str(folder), "--out", str(out), "--config", json.dumps(TINY2), "--steps", "3", "--crop", "64",
            "--batch", "2", "--threads", "1", "--val-images", "2", "--warmup", "2",
            "--init", str(tiny_weights / f"{TINY_MODEL_ID}.safetensors"), "--freeze", "analysis"]
    assert main(args) == 0
    from safetensors.torch import load_file

    trained = load_file(str(out / "latest" / "tensors.safetensors"))
    donor = load_image_model(TINY_MODEL_ID, tiny_weights).model
    assert torch.equal(trained["model.analysis.layers.0.weight"], donor.analysis.layers[0].weight)  # frozen
    assert not torch.equal(trained["model.synthesis.layers.1.weight"], donor.synthesis.layers[1].weight)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    val = [entry["val"] for entry in log if "val" in entry][-1]
    for key in ("ceiling", "s0_bpd", "s0_entropy", "s0_perplexity", "s0_dead", "s0_rms", "s1_rms"):
        assert np.isfinite(val[key]), key
    assert val["s1_rms"] <= val["s0_rms"]
    weights = tmp_path / "weights"
    assert export([str(out / "latest"), "--id", "t2", "--weights", str(weights), "--data", str(folder),
                   "--crops", "16", "--quality-rate", "1.0,0.2,0.1,0.0"]) == 0
    entry = json.loads((weights / "manifest.json").read_text())["models"]["t2"]
    assert entry["config"]["quality_rate"] == [1.0, 0.2, 0.1, 0.0]  # the encode-time knob, re-chosen at export
    codec = ImageCodec(quality=2, weights_dir=weights)
    assert codec.decode(codec.encode(_photo(40, 30))).size == (40, 30)


def test_rate_unit_ships_in_fp32(tmp_path):
    """A real latent's rate unit passes fp16's range (1e5 after 5,000 steps of gmq2): it ships in
    fp32, else every penalty becomes infinite."""
    torch.manual_seed(0)
    model = ImageModel(ImageModelConfig.from_dict(TINY2)).train()
    x = torch.rand(2, 3, 64, 64)
    model.initialize_codebooks(x)
    model.rate_unit.fill_(123456.75)
    save_image_model(freeze(model.eval(), "big-unit", [x]), tmp_path, {})
    assert float(load_image_model("big-unit", tmp_path).model.rate_unit) == 123456.75
