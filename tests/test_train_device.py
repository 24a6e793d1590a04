"""The on-device training path, run on CPU: crops drawn by torch from one uint8 tensor, the
per-step generator, the weight EMA and the batch-scaled learning rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from train.data import DeviceBank, step_generator
from train.ema import WeightEMA
from train.loop import DEFAULT_BATCH, scaled_lr

CPU = torch.device("cpu")


def _images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (20, 26, 3), dtype=np.uint8), rng.integers(0, 256, (17, 30, 3), dtype=np.uint8)]


def _placements(image: np.ndarray, patch: np.ndarray) -> set[tuple[int, int, bool, bool]]:
    """Every (top, left, h-flip, v-flip) that cuts ``patch`` out of ``image``."""
    k, found = patch.shape[0], set()
    for fh in (False, True):
        for fv in (False, True):
            p = patch[:, ::-1] if fh else patch
            p = p[::-1] if fv else p
            for top in range(image.shape[0] - k + 1):
                for left in range(image.shape[1] - k + 1):
                    if np.array_equal(image[top:top + k, left:left + k], p):
                        found.add((top, left, fh, fv))
    return found


def test_device_crops_are_exact_crops_and_flips_covering_every_choice():
    images = _images()
    bank = DeviceBank(images, CPU)
    assert len(bank) == 2 and bank.pixels.dtype == torch.uint8 and bank.pixels.numel() == sum(i.size for i in images)
    seen_images, seen_flips, corners = set(), set(), set()
    for step in range(4):
        x = bank.random_batch(32, 16, step_generator(CPU, 0, 0, step))
        assert x.shape == (32, 3, 16, 16) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
        for crop in (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy():
            hits = [(i, p) for i, img in enumerate(images) for p in _placements(img, crop)]
            assert hits, "a crop that is no crop of any image"
            i, (top, left, fh, fv) = hits[0]
            seen_images.add(i), seen_flips.add((fh, fv))
            corners.add((top == 0, left == 0, top == images[i].shape[0] - 16, left == images[i].shape[1] - 16))
    assert seen_images == {0, 1} and len(seen_flips) == 4
    assert any(c[0] for c in corners) and any(c[3] for c in corners)  # the edges are reachable


def test_step_generator_depends_on_seed_replica_and_step_only():
    bank = DeviceBank(_images(), CPU)
    a = bank.random_batch(8, 16, step_generator(CPU, 3, 0, 10))
    assert torch.equal(a, bank.random_batch(8, 16, step_generator(CPU, 3, 0, 10)))
    for other in ((4, 0, 10), (3, 1, 10), (3, 0, 11)):
        assert not torch.equal(a, bank.random_batch(8, 16, step_generator(CPU, *other)))


def test_bank_refuses_nothing_to_hold():
    with pytest.raises(ValueError, match="no images"):
        DeviceBank([], CPU)


def test_ema_follows_the_stated_recurrence_and_restores():
    net = nn.Linear(3, 2)
    ema = WeightEMA(net, 0.9)
    start = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    ema.update()
    for s, p0 in zip(ema.shadow, start):
        assert torch.allclose(s, p0 + 0.1)
    saved = ema.tensors()
    assert set(saved) == {"ema.weight", "ema.bias"}
    other = WeightEMA(net, 0.9)
    assert other.load(saved) and all(torch.equal(a, b) for a, b in zip(other.shadow, ema.shadow))
    assert not other.load({})
    with pytest.raises(ValueError, match="decay"):
        WeightEMA(net, 1.0)


def test_learning_rate_scales_with_the_square_root_of_the_batch():
    assert scaled_lr(5e-4, 4 * DEFAULT_BATCH, "sqrt") == pytest.approx(1e-3)
    assert scaled_lr(5e-4, 64, "sqrt") == pytest.approx(5e-4 * math.sqrt(64 / DEFAULT_BATCH))
    assert scaled_lr(5e-4, 64, "none") == 5e-4
    with pytest.raises(ValueError, match="scaling"):
        scaled_lr(5e-4, 64, "linear")
