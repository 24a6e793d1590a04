"""Turning what users hand us into RGB pixels, and back.

Accepted: a PIL image, an ``[H, W, 3]`` / ``[H, W, 4]`` / ``[H, W]`` uint8 array, or a
``[3, H, W]`` float tensor in [0, 1]. Colour modes: RGB; RGBA/LA and palette images with
transparency (alpha kept, coded losslessly); L and 1 (decoded back to L); palette, CMYK, YCbCr
and 16-bit images are converted (16-bit with a warning). EXIF orientation is applied.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InvalidInputError, LimitExceededError

__all__ = ["Pixels", "open_image", "to_pixels", "from_pixels", "MODES", "IMAGE_SUFFIXES"]

MODES = ("RGB", "L", "RGBA")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")  # files taken from folders


@dataclass(frozen=True)
class Pixels:
    """``rgb`` ``[H, W, 3]`` uint8, ``alpha`` ``[H, W]`` uint8 or None, ``mode`` in MODES."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    mode: str


def open_image(path: str | Path) -> Image.Image:
    """Open an image file with orientation applied; every failure is a CodecError naming it."""
    path = Path(path)
    try:
        with Image.open(path) as im:
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
    if isinstance(image, (str, os.PathLike)):
        image = open_image(image)
    if isinstance(image, Image.Image):
        return _from_pil(image)
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


def _from_pil(im: Image.Image) -> Pixels:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        warnings.warn(f"{mode} image converted to 8 bits per channel", stacklevel=3)
        arr = np.asarray(im, dtype=np.float64)
        scale = 255.0 / 65535.0 if mode != "F" else 255.0
        gray = np.clip(np.round(arr * scale), 0, 255).astype(np.uint8)
        return _checked(Pixels(np.repeat(gray[..., None], 3, axis=2), None, "L"))
    if mode == "P":
        warnings.warn("palette image converted to RGB", stacklevel=3)
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("1", "L"):
        gray = np.asarray(im.convert("L"))
        return _checked(Pixels(np.repeat(gray[..., None], 3, axis=2), None, "L"))
    if im.mode == "LA":
        arr = np.asarray(im)
        return _checked(Pixels(np.repeat(arr[..., :1], 3, axis=2), arr[..., 1].copy(), "RGBA"))
    if im.mode == "RGBA":
        arr = np.asarray(im)
        return _checked(Pixels(np.ascontiguousarray(arr[..., :3]), arr[..., 3].copy(), "RGBA"))
    return _checked(Pixels(np.asarray(im.convert("RGB")), None, "RGB"))


def _checked(p: Pixels) -> Pixels:
    if p.rgb.shape[0] < 1 or p.rgb.shape[1] < 1:
        raise InvalidInputError("image has no pixels")
    return p


def from_pixels(rgb: np.ndarray, alpha: np.ndarray | None, mode: str) -> Image.Image:
    """Decoded ``[H, W, 3]`` uint8 (+ alpha) back to a PIL image of the original mode."""
    if mode == "L":
        gray = np.round(rgb.astype(np.float32).mean(axis=2)).astype(np.uint8)
        return Image.fromarray(gray, "L")
    if mode == "RGBA":
        if alpha is None:
            raise InvalidInputError("RGBA image without its alpha section")
        return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    return Image.fromarray(rgb, "RGB")
