"""Training data: image folders held in memory as uint8, random crops and flips.

:class:`ImageBank` crops on the host with numpy (the CPU default); :class:`DeviceBank` holds the
same decoded images as one uint8 tensor on the training device and draws crops and flips there
with torch ops, so a GPU step needs no host work or transfer for its batch (the same code runs on
CPU, where it is tested). A fixed validation split is taken from the training folders by file name hash, so model
selection never looks at Kodak (the test set).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from codec.image.pixels import IMAGE_SUFFIXES

__all__ = ["list_images", "split_train_val", "ImageBank", "DeviceBank", "step_generator"]


def list_images(root: str | Path) -> list[Path]:
    """Every image file under ``root``, sorted (deterministic across machines)."""
    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images under {root}")
    return files


def split_train_val(files: list[Path], val_fraction: float = 0.05) -> tuple[list[Path], list[Path]]:
    """Split by a hash of the file name: stable whatever the folder order or machine."""
    def is_val(p: Path) -> bool:
        h = int(hashlib.sha256(p.name.encode()).hexdigest()[:8], 16)
        return h / 0xFFFFFFFF < val_fraction
    val = [p for p in files if is_val(p)]
    return [p for p in files if not is_val(p)], val


class ImageBank:
    """Decoded RGB images ``[H, W, 3]`` uint8 kept in memory, with a crop sampler."""

    def __init__(self, files: list[Path], min_side: int) -> None:
        self.images = []
        for p in files:
            with Image.open(p) as im:
                arr = np.asarray(im.convert("RGB"))
            if min(arr.shape[:2]) >= min_side:
                self.images.append(arr)
        if not self.images:
            raise ValueError(f"no image has both sides >= {min_side}")

    def __len__(self) -> int:
        return len(self.images)

    def random_batch(self, batch: int, crop: int, rng: np.random.Generator,
                     device: torch.device | str = "cpu") -> torch.Tensor:
        """``[batch, 3, crop, crop]`` float32 in [0, 1] on ``device``: random image, position and
        flips. The crops travel as uint8 and become floats there (a quarter of the transfer)."""
        out = np.empty((batch, crop, crop, 3), dtype=np.uint8)
        for i in range(batch):
            img = self.images[rng.integers(len(self.images))]
            top = rng.integers(img.shape[0] - crop + 1)
            left = rng.integers(img.shape[1] - crop + 1)
            patch = img[top:top + crop, left:left + crop]
            if rng.random() < 0.5:
                patch = patch[:, ::-1]
            if rng.random() < 0.5:
                patch = patch[::-1]
            out[i] = patch
        return torch.from_numpy(out).to(device).permute(0, 3, 1, 2).float().div_(255.0)

    def center_crops(self, crop: int) -> torch.Tensor:
        """``[N, 3, crop, crop]`` float32: the centre crop of every image (validation)."""
        crops = []
        for img in self.images:
            top, left = (img.shape[0] - crop) // 2, (img.shape[1] - crop) // 2
            crops.append(img[top:top + crop, left:left + crop])
        return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div_(255.0)


class DeviceBank:
    """The images of an :class:`ImageBank` as one flat uint8 tensor on ``device``
    (``sum(H * W * 3)`` bytes, row-major HWC per image) plus their offsets and sizes."""

    def __init__(self, images: list[np.ndarray], device: torch.device | str = "cpu") -> None:
        if not images:
            raise ValueError("no images")
        sizes = [img.size for img in images]
        self.pixels = torch.from_numpy(np.concatenate([np.ascontiguousarray(img).reshape(-1) for img in images]))
        self.pixels = self.pixels.to(device)
        self.offsets = torch.tensor(np.cumsum([0] + sizes[:-1]), dtype=torch.int64, device=device)
        self.heights = torch.tensor([img.shape[0] for img in images], dtype=torch.int64, device=device)
        self.widths = torch.tensor([img.shape[1] for img in images], dtype=torch.int64, device=device)
        self.device = self.pixels.device

    def __len__(self) -> int:
        return len(self.offsets)

    def random_batch(self, batch: int, crop: int, generator: torch.Generator) -> torch.Tensor:
        """``[batch, 3, crop, crop]`` float32 in [0, 1] on the bank's device: a uniform random
        image, position, horizontal and vertical flip per crop, all drawn from ``generator``
        (on the same device). Every image must have both sides >= ``crop``."""
        dev, g = self.device, generator
        pick = torch.randint(len(self), (batch,), generator=g, device=dev)
        h, w = self.heights[pick], self.widths[pick]
        top = (torch.rand(batch, generator=g, device=dev) * (h - crop + 1)).long().clamp_max(h - crop)
        left = (torch.rand(batch, generator=g, device=dev) * (w - crop + 1)).long().clamp_max(w - crop)
        flip = torch.rand(2, batch, 1, generator=g, device=dev) < 0.5  # horizontal, vertical
        r = torch.arange(crop, device=dev)
        cols = torch.where(flip[0], crop - 1 - r, r) + left[:, None]  # [B, crop]
        rows = torch.where(flip[1], crop - 1 - r, r) + top[:, None]
        at = self.offsets[:, None, None][pick] + (rows[:, :, None] * w[:, None, None] + cols[:, None, :]) * 3
        channel = torch.arange(3, device=dev).view(1, 3, 1, 1)
        return self.pixels[at[:, None] + channel].float().div_(255.0)


def step_generator(device: torch.device, seed: int, rank: int, step: int) -> torch.Generator:
    """A generator on ``device`` seeded from (seed, replica, step) alone: the crops of a step do
    not depend on what ran before, so a resumed run draws exactly the crops of a straight one."""
    g = torch.Generator(device=device)
    g.manual_seed(int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0]) >> 1)
    return g
