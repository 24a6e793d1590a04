"""Architecture of the image model, as plain data that travels in the weights manifest.

Letters used in shapes across ``codec.image``:

====  =====================================================================
B     batch size
H, W  image height and width in pixels
h, w  latent height and width (H/16, W/16 for the fine latent; H/32 for coarse)
C     latent channels of the fine latent ``y``
Cz    latent channels of the coarse latent ``z``
M     number of groups (sub-codebooks) of one quantizer stage
K     codewords per sub-codebook
d     dimension of one codeword (C / M or Cz / M)
G     number of context classes a decoded index is mapped to
====  =====================================================================
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

__all__ = ["ImageModelConfig"]


@dataclass(frozen=True)
class ImageModelConfig:
    """Hyper-parameters of :class:`codec.image.model.ImageModel`.

    The fine latent ``y`` (C channels, stride 16) is coded by a cascade of residual
    multi-codebook VQ stages; ``fine_groups[s]`` is M of stage ``s``. A coarse level
    (stride 32, Cz channels, ``coarse_groups`` sub-codebooks) is coded first and predicts
    ``y``; its indices are the context of the first fine stage. Quality ``q`` sends the
    coarse level and the first ``q`` fine stages, so ``len(fine_groups)`` qualities exist.
    ``latent_blocks`` residual blocks end the analysis and start the synthesis transform.
    """

    hidden: int = 64  # gmq-v1/v2 used 96; 64 runs 1.57x the steps per CPU second and learned faster
    latent: int = 192
    latent_blocks: int = 1
    coarse_latent: int = 64
    coarse_groups: int = 4
    fine_groups: tuple[int, ...] = (2, 4, 8, 8, 16, 16)
    codebook_size: int = 256
    context_classes: int = 16

    def __post_init__(self) -> None:
        if any(self.latent % m for m in self.fine_groups):
            raise ValueError("latent channels must be divisible by every fine group count")
        if self.coarse_latent % self.coarse_groups:
            raise ValueError("coarse channels must be divisible by coarse_groups")
        if self.latent_blocks < 0:
            raise ValueError("latent_blocks cannot be negative")
        if self.context_classes > self.codebook_size:
            raise ValueError("context_classes cannot exceed codebook_size")

    @property
    def num_qualities(self) -> int:
        return len(self.fine_groups)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["fine_groups"] = list(self.fine_groups)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "ImageModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        kwargs = dict(data)
        if "fine_groups" in kwargs:
            kwargs["fine_groups"] = tuple(int(m) for m in kwargs["fine_groups"])
        return cls(**kwargs)
