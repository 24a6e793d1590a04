"""PlayCanvas SOG v2 reader (``.sog`` zip bundle, or a folder's ``meta.json``).

Per the SOG spec (developer.playcanvas.com, "The SOG Format"): one texel per Gaussian, row-major,
in lossless WebP images named by ``meta.json``:

* ``means``: two RGB images (low and high byte) of 16-bit ``u``; ``t = lerp(mins, maxs, u/65535)``
  and ``x = sign(t) * (exp(|t|) - 1)`` per axis.
* ``quats``: RGB = three components ``(c/255 * 2 - 1) / sqrt(2)``, A = 252 + index of the largest
  (dropped, reconstructed positive) component of (w, x, y, z).
* ``scales``: RGB = indices into the 256-entry log-scale ``codebook``.
* ``sh0``: RGB = indices into the 256-entry f_dc ``codebook``, A = sigmoid(opacity) * 255.
* ``shN`` (optional): ``labels`` (16-bit, R + 256 G) pick a centroid in the ``centroids`` image
  (64 centroids per row, K texels each); each centroid byte indexes ``shN.codebook``.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from codec.errors import CorruptDataError, LimitExceededError, UnsupportedVersionError

from ._files import MAX_GAUSSIANS, read_file
from .data import SH_COEFFS, GaussianScene, logit

__all__ = ["read_sog", "read_sog_bytes"]

MAX_MEMBER_BYTES = 1 << 30
MAX_META_BYTES = 1 << 24
# An image may have this many texels more than the Gaussians (or centroids) it holds need:
# writers pad to multiples of 4 or powers of two. Checked before decoding, from the header.
_SLACK_FACTOR, _SLACK_TEXELS = 4, 1 << 16


def _image(get, name: str, count: int, what: str) -> np.ndarray:
    from PIL import Image

    data = get(name)
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > 4 * MAX_GAUSSIANS:
                raise LimitExceededError(f"{what}: image {name} is {w}x{h}, too large")
            if count >= 0 and w * h > _SLACK_FACTOR * count + _SLACK_TEXELS:
                raise LimitExceededError(f"{what}: image {name} is {w}x{h}, far more texels than the "
                                         f"{count} it needs")
            rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8).reshape(-1, 4)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise CorruptDataError(f"{what}: image {name} does not decode ({e})") from None
    if count >= 0 and len(rgba) < count:
        raise CorruptDataError(f"{what}: image {name} has {len(rgba)} texels for {count} Gaussians")
    return rgba


def _decode(meta: dict, get, what: str) -> GaussianScene:
    try:
        version = int(meta.get("version", 1))
        if version != 2:
            raise UnsupportedVersionError(f"{what}: SOG version {version} is not supported (version 2 is)")
        n = int(meta["count"])
        if not 0 <= n <= MAX_GAUSSIANS:
            raise LimitExceededError(f"{what}: count {n} is out of range")
        mins = np.asarray(meta["means"]["mins"], np.float64).reshape(3)
        maxs = np.asarray(meta["means"]["maxs"], np.float64).reshape(3)
        scale_cb = np.asarray(meta["scales"]["codebook"], np.float64).reshape(-1)
        sh0_cb = np.asarray(meta["sh0"]["codebook"], np.float64).reshape(-1)
        files = {k: list(meta[k]["files"]) for k in ("means", "scales", "quats", "sh0")}
    except (KeyError, TypeError, ValueError) as e:
        raise CorruptDataError(f"{what}: meta.json is missing or has a bad field ({e})") from None
    if len(scale_cb) != 256 or len(sh0_cb) != 256 or len(files["means"]) != 2:
        raise CorruptDataError(f"{what}: meta.json codebooks must have 256 entries and means two files")
    lo = _image(get, files["means"][0], n, what)[:n, :3].astype(np.float64)
    hi = _image(get, files["means"][1], n, what)[:n, :3].astype(np.float64)
    t = mins + (maxs - mins) * ((lo + 256.0 * hi) / 65535.0)
    means = np.sign(t) * np.expm1(np.abs(t))
    q = _image(get, files["quats"][0], n, what)[:n]
    tag = q[:, 3].astype(np.int64) - 252
    abc = (q[:, :3].astype(np.float64) / 255.0 * 2.0 - 1.0) / np.sqrt(2.0)
    quats = np.zeros((n, 4))
    rows = np.arange(n)
    good = (tag >= 0) & (tag <= 3)
    largest = np.where(good, tag, 0)
    for slot in range(4):
        src = np.where(largest < slot, slot - 1, slot)
        quats[:, slot] = np.where(largest == slot, 0.0, abc[rows, np.clip(src, 0, 2)])
    quats[rows, largest] = np.sqrt(np.clip(1.0 - (quats ** 2).sum(axis=1), 0.0, None))
    quats[~good] = [1.0, 0.0, 0.0, 0.0]
    log_scales = scale_cb[_image(get, files["scales"][0], n, what)[:n, :3]]
    c = _image(get, files["sh0"][0], n, what)[:n]
    dc = sh0_cb[c[:, :3]]
    opacity = logit(c[:, 3].astype(np.float64) / 255.0, 0.25 / 255)
    rest = None
    if meta.get("shN"):
        rest = _decode_shn(meta["shN"], get, n, what)
    return GaussianScene.cleaned(means, log_scales, quats, opacity, dc, rest, source=what)


def _decode_shn(shn: dict, get, n: int, what: str) -> np.ndarray:
    try:
        bands, palette = int(shn["bands"]), int(shn["count"])
        cb = np.asarray(shn["codebook"], np.float64).reshape(-1)
        cfile, lfile = shn["files"][0], shn["files"][1]
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise CorruptDataError(f"{what}: meta.json shN is malformed ({e})") from None
    if bands not in (1, 2, 3) or len(cb) != 256 or not 0 < palette <= 65536:
        raise CorruptDataError(f"{what}: shN has bands={bands}, palette {palette}, codebook {len(cb)}")
    k = SH_COEFFS[bands]
    width = 64 * k
    rows_needed = (palette + 63) // 64
    cent = _image(get, cfile, width * rows_needed, what)
    if len(cent) < width * rows_needed:
        raise CorruptDataError(f"{what}: shN centroids image too small for {palette} entries")
    cent = cent[: width * rows_needed, :3].reshape(rows_needed, 64, k, 3).reshape(-1, k, 3)[:palette]
    lab = _image(get, lfile, n, what)[:n]
    labels = lab[:, 0].astype(np.int64) + 256 * lab[:, 1].astype(np.int64)
    valid = labels < palette
    rest = cb[cent[np.where(valid, labels, 0)]]  # [N, K, 3]
    rest[~valid] = 0.0
    return rest


def read_sog_bytes(buf: bytes, what: str = ".sog") -> GaussianScene:
    """Decode a SOG zip bundle from bytes."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(buf))
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as e:
        raise CorruptDataError(f"{what}: not a SOG bundle (bad zip: {e})") from None
    except NotImplementedError as e:  # e.g. a zip version or feature zipfile does not support
        raise UnsupportedVersionError(f"{what}: unsupported zip bundle ({e})") from None
    # (ZipInfo.is_dir() raises IndexError on an empty member name)
    names = {Path(i.filename).name: i for i in zf.infolist() if not i.filename.endswith("/")}

    def get(name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        info = names.get(Path(str(name)).name)
        if info is None:
            raise CorruptDataError(f"{what}: bundle has no member {name!r}")
        if info.file_size > limit:
            raise LimitExceededError(f"{what}: member {name} is {info.file_size} bytes (limit {limit})")
        if info.flag_bits & 0x1:
            raise UnsupportedVersionError(f"{what}: member {name} is encrypted (not supported in SOG)")
        try:
            return zf.read(info)
        except NotImplementedError as e:
            raise UnsupportedVersionError(f"{what}: member {name} uses an unsupported zip feature ({e})") from None
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, RuntimeError) as e:
            raise CorruptDataError(f"{what}: member {name} is corrupt ({e})") from None

    try:
        meta = json.loads(get("meta.json", MAX_META_BYTES))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorruptDataError(f"{what}: meta.json is not JSON ({e})") from None
    if not isinstance(meta, dict):
        raise CorruptDataError(f"{what}: meta.json is not an object")
    return _decode(meta, get, what)


def read_sog(path) -> GaussianScene:
    """Read a ``.sog`` bundle, or a ``meta.json`` with its images in the same folder."""
    p = Path(path)
    if p.name.lower().endswith(".json"):
        try:
            meta = json.loads(read_file(p, MAX_META_BYTES))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CorruptDataError(f"{p}: not JSON ({e})") from None
        if not isinstance(meta, dict):
            raise CorruptDataError(f"{p}: meta.json is not an object")
        return _decode(meta, lambda name: read_file(p.parent / Path(str(name)).name, MAX_MEMBER_BYTES), str(p))
    return read_sog_bytes(read_file(p), str(p))
