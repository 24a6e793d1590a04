"""The pinned entropy model of delta-frame residuals.

One :class:`entropy.ScaleFamily`: zero-mean quantized Laplace, 40 scales spaced
geometrically from 0.05 to 2048 quantization steps, support +-255 (larger values escape and
are coded exactly). The encoder picks the cheapest scale per channel and frame and stores its
id (one byte), so the model adapts to the motion without any learned parameters.

The integer tables are a deterministic function of the constants below (scalar float64 ``**``
and ``math.exp``, then :func:`entropy.quantize_pmf`); ``tests/test_stream_tables.py`` pins the
SHA-256 of the serialized family so a platform whose libm rounds differently is caught rather
than silently producing streams other builds cannot decode. The scales are Python floats, not
``np.geomspace``: numpy's power is dispatched by CPU feature, and its AVX-512 build rounded 11
of the 40 scales one ulp away from the AVX2 build (the integer tables happened to agree).
Changing any constant changes the bitstream: bump the stream payload version when you do.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from entropy import ScaleFamily

__all__ = ["RESIDUAL_SCALES", "RESIDUAL_SUPPORT", "residual_family", "residual_family_sha256"]

RESIDUAL_SCALES = np.array([0.05 * (2048.0 / 0.05) ** (i / 39) for i in range(40)])
RESIDUAL_SUPPORT = 255


@functools.lru_cache(maxsize=1)
def residual_family() -> ScaleFamily:
    """The shared residual model (built once per process)."""
    return ScaleFamily("laplace", RESIDUAL_SCALES, RESIDUAL_SUPPORT)


def residual_family_sha256() -> str:
    """Hex SHA-256 of the serialized family (scales and integer tables). Not a CRC32: the
    serialization ends with its own CRC32, and the CRC32 of any message followed by its CRC is
    the same constant."""
    return hashlib.sha256(residual_family().to_bytes()).hexdigest()
