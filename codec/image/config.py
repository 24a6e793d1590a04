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

__all__ = ["ImageModelConfig", "PRESETS"]

# named architectures (``train.loop --config NAME``); ``gmq2`` is the image model v2 of issue 16:
# gmq-v5's transforms and coarse level, two fine stages of 48 four-dimensional codebooks (2 bits
# per dimension each, 3 bpp of capacity), scale contexts, six entropy-constrained qualities
PRESETS: dict[str, dict] = {
    "gmq2": {"fine_groups": [48, 48], "context": "scale", "quality_stages": [1, 1, 1, 2, 2, 2],
             "quality_rate": [2.75, 0.92, 0.275, 0.275, 0.092, 0.0275]},
}


@dataclass(frozen=True)
class ImageModelConfig:
    """Hyper-parameters of :class:`codec.image.model.ImageModel`.

    The fine latent ``y`` (C channels, stride 16) is coded by a cascade of residual
    multi-codebook VQ stages; ``fine_groups[s]`` is M of stage ``s``. A coarse level
    (stride 32, Cz channels, ``coarse_groups`` sub-codebooks) is coded first and predicts
    ``y``; its indices are the context of the first fine stage. Quality ``q`` sends the
    coarse level and the first ``q`` fine stages, so ``len(fine_groups)`` qualities exist.
    ``latent_blocks`` residual blocks end the analysis and start the synthesis transform.

    ``context`` says what the index prior of a fine stage is conditioned on: ``"previous"`` (the
    class of the index at the same place in the level before, gmq-v1 to v5) or ``"scale"`` (the
    class of the residual's RMS per group, predicted from the coarse level as log2 of its ratio to
    the root of ``rate_unit``, below: one of ``context_classes`` bins of width ``scale_step``
    from ``scale_min``).

    ``quality_stages`` and ``quality_rate`` (both empty, or one entry per quality) make the
    qualities points of entropy-constrained VQ: quality q sends ``quality_stages[q-1]`` fine
    stages, each index chosen to minimise squared latent distance plus ``quality_rate[q-1]``
    times ``rate_unit`` (the model's running mean of the squared coarse residual per latent
    dimension) times its code length in bits. The unit makes the weight independent of the
    latent's scale, which training is free to change. Each quality then has its own index
    priors (``prior_classes``: the context classes of every quality side by side), since what
    a strong rate weight picks is far more concentrated than what a weak one does. Empty: quality
    q sends q stages by nearest codeword, and every quality is a prefix of the next.
    """

    hidden: int = 64  # gmq-v1/v2 used 96; 64 runs 1.57x the steps per CPU second and learned faster
    latent: int = 192
    latent_blocks: int = 1
    coarse_latent: int = 64
    coarse_groups: int = 4
    fine_groups: tuple[int, ...] = (2, 4, 8, 8, 16, 16)
    codebook_size: int = 256
    context_classes: int = 16
    context: str = "previous"
    scale_min: float = -6.0
    scale_step: float = 0.5
    quality_stages: tuple[int, ...] = ()
    quality_rate: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if any(self.latent % m for m in self.fine_groups):
            raise ValueError("latent channels must be divisible by every fine group count")
        if self.coarse_latent % self.coarse_groups:
            raise ValueError("coarse channels must be divisible by coarse_groups")
        if self.latent_blocks < 0:
            raise ValueError("latent_blocks cannot be negative")
        if self.context_classes > self.codebook_size:
            raise ValueError("context_classes cannot exceed codebook_size")
        if self.context not in ("previous", "scale"):
            raise ValueError(f"unknown context {self.context!r} (previous or scale)")
        if len(self.quality_rate) != len(self.quality_stages):
            raise ValueError("quality_stages and quality_rate need one entry per quality each")
        if any(not 1 <= s <= len(self.fine_groups) for s in self.quality_stages):
            raise ValueError("every quality must send between 1 and len(fine_groups) stages")
        if any(r < 0 for r in self.quality_rate):
            raise ValueError("rate weights cannot be negative")
        if self.scale_step <= 0 or (self.scale_min * 2 ** 14) % 1 or (self.scale_step * 2 ** 14) % 1:
            raise ValueError("scale_min and scale_step must be multiples of 2**-14, scale_step positive")

    @property
    def num_stages(self) -> int:
        return len(self.fine_groups)

    @property
    def num_qualities(self) -> int:
        return len(self.quality_stages) or len(self.fine_groups)

    @property
    def uses_rate_unit(self) -> bool:
        """Whether the model keeps ``rate_unit`` (entropy-constrained qualities or scale contexts)."""
        return self.context == "scale" or not self.prefix_qualities

    @property
    def prefix_qualities(self) -> bool:
        """True when every quality's file is the start of the next one's (``reduce_quality``)."""
        return not self.quality_stages

    @property
    def prior_classes(self) -> int:
        """Context classes of a fine stage's prior: ``context_classes`` per quality with its own
        priors (a quality table), else ``context_classes``."""
        return self.context_classes * (len(self.quality_stages) or 1)

    def class_offset(self, quality: int | None) -> int:
        """First prior class of ``quality`` (0 without a quality table or for None)."""
        return 0 if quality is None or not self.quality_stages else (quality - 1) * self.context_classes

    def stages(self, quality: int) -> int:
        """Fine stages sent at ``quality`` (1..num_qualities)."""
        return self.quality_stages[quality - 1] if self.quality_stages else quality

    def rate_weight(self, quality: int) -> float:
        """Weight of code length in the index choice at ``quality`` (in ``rate_unit`` per bit)."""
        return self.quality_rate[quality - 1] if self.quality_rate else 0.0

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        for name in _TUPLES:
            data[name] = list(getattr(self, name))
        if all(data[k] == v for k, v in _LEGACY_DEFAULTS.items()):
            data = {k: v for k, v in data.items() if k not in _LEGACY_DEFAULTS}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "ImageModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        kwargs = dict(data)
        for name, kind in _TUPLES.items():
            if name in kwargs:
                kwargs[name] = tuple(kind(v) for v in kwargs[name])
        return cls(**kwargs)


_TUPLES = {"fine_groups": int, "quality_stages": int, "quality_rate": float}
# fields added after gmq-v5: left out of the JSON of a model that has them all at these defaults,
# so the configs (and checkpoints) of older models read and compare as before
_LEGACY_DEFAULTS = {"context": "previous", "scale_min": -6.0, "scale_step": 0.5, "quality_stages": [],
                    "quality_rate": []}
