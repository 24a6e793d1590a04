"""Turning what users hand us into RGB pixels, and back.

Accepted: a file path, a PIL image, an ``[H, W, 3]`` / ``[H, W, 4]`` / ``[H, W]`` uint8 array,
or a ``[3, H, W]`` float tensor in [0, 1]. EXIF orientation is applied.

Colour modes kept (the file's ``mode``, decoded back to it): RGB, L, RGBA and LA (alpha coded
losslessly), 1 (grey thresholded at 128 on decoding). Everything else is converted with a
:class:`~codec.errors.CodecWarning` that says what happened: palette images to RGB (RGBA with
transparency), CMYK, YCbCr, LAB and HSV to RGB, 16-bit-per-channel RGB(A) files (which Pillow
reads as 8 bits) and wide integer or float greys (``I;16``, ``I``, ``F``) to 8-bit L. Those are
scaled, never clipped: by the smallest of 8, 16 bits that holds the values (16-bit types by 16
bits), else from the image's own minimum..maximum to 0..255 (floats: 0..1 or 0..255, else
min..max). Of an
animated image only the first frame is encoded, with a warning.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import CodecWarning, InvalidInputError, LimitExceededError

__all__ = ["Pixels", "open_image", "to_pixels", "from_pixels", "MODES", "ALPHA_MODES", "IMAGE_SUFFIXES"]

MODES = ("RGB", "L", "RGBA", "LA", "1")
ALPHA_MODES = ("RGBA", "LA")  # modes whose file has an alpha section
_TO_RGB = ("CMYK", "YCbCr", "LAB", "HSV")  # converted with a warning (RGBX and the like silently)
_WIDE_GREY = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")  # files taken from folders


@dataclass(frozen=True)
class Pixels:
    """``rgb`` ``[H, W, 3]`` uint8 (grey modes: three equal channels), ``alpha`` ``[H, W]`` uint8
    or None, ``mode`` in MODES."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    mode: str


def open_image(path: str | Path) -> Image.Image:
    """Open an image file with orientation applied; every failure is a CodecError naming it."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            _warn_lost_on_open(im, str(path))
            im.load()
            return ImageOps.exif_transpose(im)
    except Image.DecompressionBombError as exc:
        raise LimitExceededError(f"{path}: image too large ({exc})") from None
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path}: is a directory, expected an image file") from None
    except PermissionError:
        raise InvalidInputError(f"{path}: permission denied") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidInputError(f"{path}: not a readable image ({exc})") from None


def to_pixels(image: str | os.PathLike | Image.Image | np.ndarray | torch.Tensor) -> Pixels:
    """Normalize any accepted input to :class:`Pixels` (inputs are never modified); a str or
    path is opened with :func:`open_image`."""
    source = None
    if isinstance(image, (str, os.PathLike)):
        source = str(image)
        image = open_image(image)
    if isinstance(image, Image.Image):
        return _from_pil(image, source)
    if isinstance(image, torch.Tensor):
        if image.ndim != 3 or image.shape[0] != 3 or not image.is_floating_point():
            raise InvalidInputError("a tensor image must be [3, H, W] float in [0, 1]")
        arr = (image.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        return _checked(Pixels(np.ascontiguousarray(arr), None, "RGB"))
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise InvalidInputError(f"an array image must be uint8, got {image.dtype}")
        if image.ndim == 2:
            return _checked(Pixels(np.repeat(image[..., None], 3, axis=2), None, "L"))
        if image.ndim == 3 and image.shape[2] == 3:
            return _checked(Pixels(np.ascontiguousarray(image), None, "RGB"))
        if image.ndim == 3 and image.shape[2] == 4:
            return _checked(Pixels(np.ascontiguousarray(image[..., :3]), image[..., 3].copy(), "RGBA"))
        raise InvalidInputError(f"an array image must be [H, W], [H, W, 3] or [H, W, 4], got {list(image.shape)}")
    raise InvalidInputError(f"cannot encode an object of type {type(image).__name__}")


def _warn(source: str | None, text: str) -> None:
    warnings.warn(f"{source}: {text}" if source else text, CodecWarning, stacklevel=4)


def _warn_lost_on_open(im: Image.Image, source: str | None) -> None:
    """Warn about what Pillow drops when it loads ``im`` (before ``load()``: frames, 16 bits)."""
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        _warn(source, f"animated image: only the first of its {frames} frames is encoded")
    # a tile's args are its raw mode (PNG: "RGB;16B") or a tuple that starts with it (TIFF)
    rawmodes = [str(t.args if isinstance(t.args, str) else t.args[0] if t.args else "")
                for t in (getattr(im, "tile", None) or [])]
    if im.mode in ("RGB", "RGBA") and any(";16" in r for r in rawmodes):
        _warn(source, f"16-bit-per-channel {im.mode} image reduced to 8 bits per channel")


def _from_pil(im: Image.Image, source: str | None = None) -> Pixels:
    _warn_lost_on_open(im, source)
    mode = im.mode
    if mode in _WIDE_GREY:
        grey, how = _grey_to_8_bits(np.asarray(im), mode)
        _warn(source, f"{mode} image converted to 8 bits per channel (L): {how}")
        return _checked(Pixels(np.repeat(grey[..., None], 3, axis=2), None, "L"))
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        _warn(source, f"palette image converted to {im.mode}")
    elif mode in ("PA", "RGBa", "La"):
        im = im.convert("LA" if mode == "La" else "RGBA")
        _warn(source, f"{mode} image converted to {im.mode}")
    elif mode in _TO_RGB:
        im = im.convert("RGB")
        _warn(source, f"{mode} image converted to RGB (it decodes as RGB)")
    if im.mode in ("1", "L"):
        grey = np.asarray(im.convert("L"))
        return _checked(Pixels(np.repeat(grey[..., None], 3, axis=2), None, im.mode))
    if im.mode == "LA":
        arr = np.asarray(im)
        return _checked(Pixels(np.repeat(arr[..., :1], 3, axis=2), arr[..., 1].copy(), "LA"))
    if im.mode == "RGBA":
        arr = np.asarray(im)
        return _checked(Pixels(np.ascontiguousarray(arr[..., :3]), arr[..., 3].copy(), "RGBA"))
    return _checked(Pixels(np.asarray(im.convert("RGB")), None, "RGB"))


def _grey_to_8_bits(arr: np.ndarray, mode: str) -> tuple[np.ndarray, str]:
    """A wide grey plane scaled (not clipped) to uint8, and how, in words."""
    a = arr.astype(np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if mode == "F" and lo >= 0 and hi <= 1:
        top, low = 1.0, 0.0
    elif lo >= 0 and hi <= 255 and not mode.startswith("I;16"):
        top, low = 255.0, 0.0
    elif lo >= 0 and hi <= 65535 and mode != "F":
        top, low = 65535.0, 0.0
    else:
        low, top = lo, hi
    if top == low:
        return np.full(a.shape, np.clip(round(low), 0, 255), dtype=np.uint8), f"constant {low:g}"
    grey = np.clip(np.round((a - low) * (255.0 / (top - low))), 0, 255).astype(np.uint8)
    return grey, f"values {low:g}..{top:g} scaled to 0..255"


def _checked(p: Pixels) -> Pixels:
    if p.rgb.shape[0] < 1 or p.rgb.shape[1] < 1:
        raise InvalidInputError("image has no pixels")
    return p


def from_pixels(rgb: np.ndarray, alpha: np.ndarray | None, mode: str) -> Image.Image:
    """Decoded ``[H, W, 3]`` uint8 (+ alpha) back to a PIL image of the original mode."""
    if mode in ALPHA_MODES and alpha is None:
        raise InvalidInputError(f"{mode} image without its alpha section")
    if mode in ("L", "LA", "1"):
        grey = np.round(rgb.astype(np.float32).mean(axis=2)).astype(np.uint8)
        if mode == "1":
            return Image.fromarray(grey >= 128)
        return Image.fromarray(grey, "L") if mode == "L" else Image.fromarray(np.dstack([grey, alpha]), "LA")
    if mode == "RGBA":
        return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    return Image.fromarray(rgb, "RGB")
