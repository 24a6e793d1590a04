"""Quantizer, prior and model behaviour (tiny shapes, CPU)."""

from __future__ import annotations

import json

import pytest
import torch

from codec.image.config import ImageModelConfig
from codec.image.model import ImageModel
from codec.image.prior import ContextPrior, codeword_classes
from codec.image.quantizer import MultiCodebookVQ

TINY = ImageModelConfig(hidden=16, latent=32, coarse_latent=16, coarse_groups=2, fine_groups=(2, 4, 8),
                        codebook_size=16, context_classes=4)


def test_nearest_codeword_matches_brute_force():
    torch.manual_seed(0)
    vq = MultiCodebookVQ(channels=8, groups=2, codebook_size=5)
    vq.codebook.copy_(torch.randn(2, 5, 4))
    x = torch.randn(3, 8, 4, 6)
    idx = vq.indices(x)
    for g in range(2):
        vecs = x[:, 4 * g:4 * g + 4].permute(0, 2, 3, 1)  # [B, h, w, d]
        brute = ((vecs[..., None, :] - vq.codebook[g]) ** 2).sum(-1).argmin(-1)
        assert torch.equal(idx[:, g], brute)
    q = vq.lookup(idx)
    assert q.shape == x.shape
    assert torch.equal(vq.indices(q), idx)  # codewords map to themselves


def test_training_initializes_updates_and_reseeds():
    torch.manual_seed(0)
    vq = MultiCodebookVQ(channels=4, groups=1, codebook_size=8, decay=0.5).train()
    x = torch.randn(4, 4, 8, 8) + 3.0
    q, idx, soft = vq(x)
    assert bool(vq.initialized) and soft.scores.shape == (1, 4 * 64, 8) and soft.flat.shape == (1, 4 * 64, 4)
    assert (vq.codebook.mean() - 3.0).abs() < 1.0  # k-means initialization sits on the data
    vq.ema_count[0, 0] = 0.0  # pretend codeword 0 died
    vq.codebook[0, 0] = 1e6
    vq(x)
    assert vq.codebook[0, 0].abs().max() < 100  # re-seeded onto a live latent
    assert 1.0 <= float(vq.usage_perplexity()[0]) <= 8.0


def test_training_assignment_is_the_inference_rule():
    torch.manual_seed(1)
    vq = MultiCodebookVQ(channels=8, groups=2, codebook_size=16).train()
    x = torch.randn(2, 8, 6, 6) * 3
    vq(x)  # initializes
    vq.eval()
    q, idx, soft = vq(x)
    assert torch.equal(idx, vq.indices(x))
    dist = vq.distances(soft.flat)
    assert torch.allclose(soft.scores + soft.flat.pow(2).sum(-1, keepdim=True), dist, atol=1e-4)


def test_prior_learns_counts_and_bits_are_positive():
    prior = ContextPrior(groups=2, classes=3, codebook_size=4, decay=0.0)
    idx = torch.tensor([[[[1, 1]], [[2, 3]]]])  # [B=1, M=2, h=1, w=2]
    ctx = torch.tensor([[[[0, 0]], [[2, 2]]]])
    prior.update(idx, ctx)
    probs = prior.counts / prior.counts.sum(-1, keepdim=True)
    assert probs[0, 0, 1] > 0.99 and abs(probs[1, 2, 2] - 0.5) < 1e-3
    bits = prior.bits(idx, ctx)
    assert bits.shape == (1,) and 1.9 < float(bits) < 2.1  # ~0 bits for group 0, 1 bit each for group 1


def test_codeword_classes_deterministic_and_in_range():
    cb = torch.randn(3, 32, 5)
    a, b = codeword_classes(cb, 4), codeword_classes(cb.clone(), 4)
    assert torch.equal(a, b) and a.shape == (3, 32) and int(a.min()) >= 0 and int(a.max()) < 4
    assert torch.equal(codeword_classes(cb, 1), torch.zeros(3, 32, dtype=torch.int64))


def test_forward_rate_and_gradients():
    torch.manual_seed(0)
    model = ImageModel(TINY).train()
    x = torch.rand(2, 3, 64, 64)
    out = model(x, quality=2)
    assert out["x_hat"].shape == x.shape and out["bits"].shape == (2,) and out["rate"].shape == (2,)
    assert float(out["bits"].min()) > 0
    loss = ((out["x_hat"] - x) ** 2).mean() + out["rate"].mean() * 1e-3 + out["commit"] + out["commit_coarse"] + out["predict"]
    loss.backward()
    assert model.analysis.layers[0].weight.grad.abs().sum() > 0
    assert model.coarse_synthesis.layers[0].weight.grad.abs().sum() > 0
    more = model(x, quality=3)["bits"]
    assert bool((more > out["bits"]).all())  # a further stage costs bits


def test_encode_decode_indices_and_contexts():
    torch.manual_seed(0)
    model = ImageModel(TINY).train()
    x = torch.rand(1, 3, 64, 96)
    model(x, 3)
    model.eval()
    model.refresh_contexts()
    indices = model.encode_indices(x)
    assert [tuple(i.shape) for i in indices] == [(1, 2, 2, 3), (1, 2, 4, 6), (1, 4, 4, 6), (1, 8, 4, 6)]
    contexts = model.contexts_for(indices)
    assert all(c.shape == i.shape for c, i in zip(contexts, indices))
    assert int(contexts[0].max()) == 0 and int(max(c.max() for c in contexts[1:])) < 4
    # stage-0 contexts come from the coarse index at the parent position
    cls = model.class_map(0)[0][indices[0][0, 0]]
    assert torch.equal(contexts[1][0, 0, ::2, ::2], cls)
    assert model.decode_indices(indices).shape == x.shape
    assert torch.equal(model.encode_indices(x, 2)[:3][2], indices[2])  # a lower quality is a prefix


def test_latent_blocks_is_part_of_the_architecture():
    plain = ImageModelConfig.from_dict({**json.loads(TINY.to_json()), "latent_blocks": 0})
    assert ImageModelConfig.from_dict(json.loads(plain.to_json())) == plain
    with_blocks, without = ImageModel(TINY), ImageModel(plain)
    assert sum(p.numel() for p in without.parameters()) < sum(p.numel() for p in with_blocks.parameters())
    out = without.train()(torch.rand(2, 3, 64, 64), quality=2)
    assert out["x_hat"].shape == (2, 3, 64, 64)
    old_manifest = {k: v for k, v in json.loads(TINY.to_json()).items() if k != "latent_blocks"}
    assert ImageModelConfig.from_dict(old_manifest).latent_blocks == 1  # gmq-v1/v2 manifests
    with pytest.raises(ValueError):
        ImageModelConfig(latent_blocks=-1)
