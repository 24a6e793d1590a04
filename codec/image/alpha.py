"""Lossless coding of an image's alpha plane (``[H, W]`` uint8), the ``alpha2`` section.

The encoder tries every method below and keeps the smallest; the first payload byte says which:

* ``0`` constant: one more byte, the value of every pixel (fully opaque alpha costs 2 bytes).
* ``1`` row filters + rANS: each row is predicted by one of four filters (0 left, 1 up,
  2 gradient ``left + up - upper_left``, 3 ``(up + upper_right) // 2``; outside the plane
  counts as 0, upper-right at the last column is up), chosen per row as PNG does (smallest
  sum of absolute signed residuals). Payload: u32 byte length of the filter stream, the
  filters through ``AdaptiveCategorical(4)``, then the residuals ``(x - prediction) mod 256``
  through ``AdaptiveCategorical(256)``, row-major.
* ``2`` row filters + deflate: the same filters and residuals, laid out as PNG's image data
  (per row: filter byte, then ``W`` residual bytes) in one zlib stream (level 9). LZ77 finds
  repeats that an order-0 coder cannot (tiled patterns, long runs).
* ``3`` PNG: Pillow's PNG of the plane as an ``L`` image, without its 8-byte signature. It is a
  fallback that makes the section never larger than PNG's file for the same plane.

Every filter is undone a whole row at a time (prefix sums), so decoding is vectorized per row.
The old ``alpha`` section (files written before ``alpha2``) holds horizontal differences
``(x - left) mod 256`` through ``AdaptiveCategorical(256)`` and still decodes.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from entropy import AdaptiveCategorical, EntropyError

from ..errors import CorruptDataError

__all__ = ["SECTION", "OLD_SECTION", "SECTIONS", "encode_section", "decode_section"]

SECTION = "alpha2"
OLD_SECTION = "alpha"
SECTIONS = (SECTION, OLD_SECTION)
CONSTANT, FILTERED_RANS, FILTERED_DEFLATE, PNG = range(4)
_NUM_FILTERS = 4
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the empty IEND chunk with its CRC
_CHUNK_PIXELS = 1 << 20  # pixels of the plane whose candidate residuals are held at once when encoding


def encode_section(alpha: np.ndarray) -> tuple[str, bytes]:
    """``(section name, payload)`` for an ``[H, W]`` uint8 alpha plane: the smallest method."""
    alpha = np.ascontiguousarray(alpha, dtype=np.uint8)
    first = alpha.flat[0]
    if np.all(alpha == first):
        return SECTION, bytes([CONSTANT, int(first)])
    filters, residuals = _filter(alpha)
    stream = AdaptiveCategorical(_NUM_FILTERS).encode(filters)
    candidates = [
        bytes([FILTERED_RANS]) + struct.pack("<I", len(stream)) + stream
        + AdaptiveCategorical(256).encode(residuals.ravel()),
        bytes([FILTERED_DEFLATE]) + zlib.compress(np.hstack([filters[:, None].astype(np.uint8), residuals]).tobytes(), 9),
    ]
    if Image.MAX_IMAGE_PIXELS is None or alpha.size <= Image.MAX_IMAGE_PIXELS:  # Pillow decodes it again
        buf = io.BytesIO()
        Image.fromarray(alpha, "L").save(buf, format="PNG")
        candidates.append(bytes([PNG]) + buf.getvalue()[len(_PNG_SIGNATURE):])
    return SECTION, min(candidates, key=len)


def decode_section(sections: dict[str, bytes], height: int, width: int) -> np.ndarray:
    """The ``[height, width]`` uint8 alpha plane from an image file's sections (new or old)."""
    if SECTION in sections:
        return _decode(sections[SECTION], height, width)
    if OLD_SECTION in sections:
        return _decode_horizontal(sections[OLD_SECTION], height, width)
    raise CorruptDataError("RGBA image file lacks its alpha section")


def _filter(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row filter ``[H]`` int32 and residuals ``[H, W]`` uint8 (see the module docstring)."""
    height, width = alpha.shape
    filters = np.empty(height, dtype=np.int32)
    residuals = np.empty_like(alpha)
    chunk = max(1, _CHUNK_PIXELS // width)
    for top in range(0, height, chunk):
        rows = alpha[top:top + chunk].astype(np.int16)
        above = alpha[top - 1:top].astype(np.int16) if top else np.zeros((1, alpha.shape[1]), np.int16)
        up = np.vstack([above, rows[:-1]])
        cand = (np.stack([rows - _shift_right(rows), rows - up, rows - _shift_right(rows) - up + _shift_right(up),
                          rows - _up_average(up)]) % 256).astype(np.uint8)  # [F, rows, W]
        signed = cand.astype(np.int8).astype(np.int32)
        best = np.abs(signed).sum(axis=2).argmin(axis=0)
        filters[top:top + len(rows)] = best
        residuals[top:top + len(rows)] = cand[best, np.arange(len(rows))]
    return filters, residuals


def _shift_right(x: np.ndarray) -> np.ndarray:
    """Each pixel's left neighbour along the last axis (0 at column 0)."""
    out = np.zeros_like(x)
    out[..., 1:] = x[..., :-1]
    return out


def _up_average(up: np.ndarray) -> np.ndarray:
    """``(up + upper_right) // 2``, upper-right at the last column being up itself."""
    right = np.concatenate([up[..., 1:], up[..., -1:]], axis=-1)
    return (up + right) // 2


def _unfilter(filters: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Invert :func:`_filter` row by row (the whole plane at once when every row has filter 0, 1 or 2)."""
    r = residuals.astype(np.int64)
    if np.all(filters == filters[0]) and filters[0] < 3:
        axes = {0: (1,), 1: (0,), 2: (1, 0)}[int(filters[0])]
        for axis in axes:
            r = np.cumsum(r, axis=axis) % 256
        return r.astype(np.uint8)
    out = np.empty(residuals.shape, dtype=np.uint8)
    up = np.zeros(residuals.shape[1], dtype=np.int64)
    for i, (f, r) in enumerate(zip(filters, residuals.astype(np.int64))):
        if f == 0:
            row = np.cumsum(r)
        elif f == 1:
            row = r + up
        elif f == 2:  # x[j] - x[j-1] = r[j] + up[j] - up[j-1]
            row = np.cumsum(r + up - _shift_right(up))
        else:
            row = r + _up_average(up)
        out[i] = row % 256
        up = out[i].astype(np.int64)
    return out


def _decode(data: bytes, height: int, width: int) -> np.ndarray:
    if not data:
        raise CorruptDataError("alpha section is empty")
    method, body = data[0], data[1:]
    if method == CONSTANT:
        if len(body) != 1:
            raise CorruptDataError("constant alpha section must hold one value")
        return np.full((height, width), body[0], dtype=np.uint8)
    if method == FILTERED_RANS:
        if len(body) < 4:
            raise CorruptDataError("alpha section is truncated")
        (n,) = struct.unpack_from("<I", body)
        if n > len(body) - 4:
            raise CorruptDataError("alpha filter stream runs past the section")
        try:
            filters = AdaptiveCategorical(_NUM_FILTERS).decode(body[4:4 + n], height)
            residuals = AdaptiveCategorical(256).decode(body[4 + n:], height * width)
        except EntropyError as exc:
            raise CorruptDataError(f"alpha section does not decode: {exc}") from None
        return _unfilter(filters, residuals.reshape(height, width))
    if method == FILTERED_DEFLATE:
        size = height * (width + 1)
        inflate = zlib.decompressobj()
        try:
            raw = inflate.decompress(body, size)
        except zlib.error as exc:
            raise CorruptDataError(f"alpha section does not inflate: {exc}") from None
        if len(raw) != size or not inflate.eof or inflate.unconsumed_tail or inflate.unused_data:
            raise CorruptDataError("alpha section does not inflate to the image size")
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, width + 1)
        if rows[:, 0].max() >= _NUM_FILTERS:
            raise CorruptDataError("alpha section names an unknown row filter")
        return _unfilter(rows[:, 0], rows[:, 1:])
    if method == PNG:
        return _decode_png(body, height, width)
    raise CorruptDataError(f"unknown alpha coding {method}")


def _decode_png(body: bytes, height: int, width: int) -> np.ndarray:
    if not body.endswith(_PNG_END):  # Pillow would ignore bytes after the end chunk
        raise CorruptDataError("alpha PNG does not end with its IEND chunk")
    try:
        with Image.open(io.BytesIO(_PNG_SIGNATURE + body), formats=["PNG"]) as im:
            if im.size != (width, height) or im.mode != "L":
                raise CorruptDataError(f"alpha PNG is {im.mode} {im.size[0]}x{im.size[1]}, "
                                       f"expected L {width}x{height}")
            im.load()
            return np.asarray(im, dtype=np.uint8).copy()
    except CorruptDataError:
        raise
    except Exception as exc:  # Pillow's parser raises many types on damaged data
        raise CorruptDataError(f"alpha PNG does not decode ({type(exc).__name__})") from None


def _decode_horizontal(data: bytes, height: int, width: int) -> np.ndarray:
    try:
        diff = AdaptiveCategorical(256).decode(data, height * width).reshape(height, width)
    except EntropyError as exc:
        raise CorruptDataError(f"alpha section does not decode: {exc}") from None
    return (np.cumsum(diff, axis=1) % 256).astype(np.uint8)
