"""The pinned entropy model of delta-frame residuals.

One :class:`entropy.ScaleFamily`: zero-mean quantized Laplace, 40 scales spaced
geometrically from 0.05 to 2048 quantization steps, support +-255 (larger values escape and
are coded exactly). The encoder picks the cheapest scale per channel and frame and stores its
id (one byte), so the model adapts to the motion without any learned parameters.

The integer tables are a deterministic function of the constants below (float64 ``math.exp``,
then :func:`entropy.quantize_pmf`); ``tests/test_stream_tables.py`` pins their CRC32 so a
platform whose libm rounds differently is caught rather than silently producing streams other
builds cannot decode. Changing any constant changes the bitstream: bump the stream payload
version when you do.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np

from entropy import ScaleFamily

__all__ = ["RESIDUAL_SCALES", "RESIDUAL_SUPPORT", "residual_family", "residual_family_crc"]

RESIDUAL_SCALES = np.geomspace(0.05, 2048.0, 40)
RESIDUAL_SUPPORT = 255


@functools.lru_cache(maxsize=1)
def residual_family() -> ScaleFamily:
    """The shared residual model (built once per process)."""
    return ScaleFamily("laplace", RESIDUAL_SCALES, RESIDUAL_SUPPORT)


def residual_family_crc() -> int:
    """CRC32 of the serialized family (scales and integer tables)."""
    return zlib.crc32(residual_family().to_bytes()) & 0xFFFFFFFF
