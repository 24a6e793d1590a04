"""Alpha planes (issue 19): lossless, never larger than PNG's file for the same plane, old files decode."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from codec.container import Container, pack, unpack
from codec.errors import CorruptDataError
from codec.image import alpha
from codec.image.codec import ImageCodec
from entropy import AdaptiveCategorical

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
H, W = 192, 256


def _png_size(plane: np.ndarray) -> int:
    buf = io.BytesIO()
    Image.fromarray(plane, "L").save(buf, format="PNG")
    return len(buf.getvalue())


def _synthetic() -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:H, 0:W]
    r = np.hypot(yy - H / 2, xx - W / 2)
    rng = np.random.default_rng(0)
    return {
        # uneven steps (0 or 1), as when a ramp spans fewer levels than pixels
        "horizontal ramp": np.tile((np.arange(W) * 181 // W).astype(np.uint8), (H, 1)),
        "vertical ramp": np.tile((np.arange(H) * 131 // H).astype(np.uint8)[:, None], (1, W)),
        "opaque": np.full((H, W), 255, np.uint8),
        "disk mask": ((r < 70) * 255).astype(np.uint8),
        "soft disk": np.clip((80 - r) * 4, 0, 255).astype(np.uint8),
        "radial": np.clip(255 - 2 * r, 0, 255).astype(np.uint8),
        "noise": rng.integers(0, 256, (H, W), dtype=np.uint8),
        "tiled noise": np.tile(rng.integers(0, 256, (16, 16), dtype=np.uint8), (H // 16, W // 16)),
    }


def _real() -> dict[str, np.ndarray]:
    """Alpha of real RGBA pictures (matplotlib's sample data, a scene thumbnail) and a photo's grey."""
    sample = Path(matplotlib.get_data_path()) / "sample_data"
    planes = {name: np.asarray(Image.open(sample / name).convert("RGBA"))[..., 3].copy()
              for name in ("logo2.png", "Minduka_Present_Blue_Pack.png")}
    thumb = SHARED / "data" / "scenes" / "padilla_plant" / "thumb.png"
    if thumb.exists():
        planes["plant thumbnail"] = np.asarray(Image.open(thumb).convert("RGBA"))[..., 3].copy()
    grey = np.asarray(Image.open(REPO / "samples" / "kodim23.png").convert("L"))[:H, :W].copy()
    planes["kodim23 grey"] = grey
    planes["kodim23 mask"] = ((grey > 128) * 255).astype(np.uint8)
    return planes


@pytest.mark.parametrize("name,plane", [*_synthetic().items(), *_real().items()])
def test_lossless_and_never_larger_than_png(name, plane):
    section, data = alpha.encode_section(plane)
    assert section == alpha.SECTION
    np.testing.assert_array_equal(alpha.decode_section({section: data}, *plane.shape), plane)
    assert len(data) <= _png_size(plane), name


def test_ramp_and_constant_are_nearly_free():
    planes = _synthetic()
    ramp = planes["horizontal ramp"]
    old = AdaptiveCategorical(256).encode((np.diff(ramp.astype(np.int16), axis=1, prepend=0) % 256).ravel())
    _, data = alpha.encode_section(ramp)
    assert len(data) * 20 < len(old) and len(data) * 3 < _png_size(ramp)
    assert alpha.encode_section(planes["opaque"])[1] == bytes([alpha.CONSTANT, 255])


@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (41, 1), (3, 5), (70, 9)])
def test_every_method_round_trips_small_and_thin_planes(shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    plane = rng.integers(0, 256, shape, dtype=np.uint8)
    plane[::2] = plane[0, 0]  # some structure, so the row filters differ
    filters, residuals = alpha._filter(plane)
    np.testing.assert_array_equal(alpha._unfilter(filters, residuals), plane)
    for f in range(4):  # every filter on every row, including the whole-plane fast paths
        forced = np.full(shape[0], f, dtype=np.int32)
        np.testing.assert_array_equal(alpha._unfilter(forced, _residuals_for(plane, f)), plane)
    section, data = alpha.encode_section(plane)
    np.testing.assert_array_equal(alpha.decode_section({section: data}, *shape), plane)


def _residuals_for(plane: np.ndarray, f: int) -> np.ndarray:
    x = plane.astype(np.int16)
    up = np.vstack([np.zeros((1, x.shape[1]), np.int16), x[:-1]])
    pred = [alpha._shift_right(x), up, alpha._shift_right(x) + up - alpha._shift_right(up), alpha._up_average(up)][f]
    return ((x - pred) % 256).astype(np.uint8)


def test_each_method_decodes_and_damage_is_a_codec_error():
    plane = _synthetic()["radial"]
    filters, residuals = alpha._filter(plane)
    import struct
    import zlib
    stream = AdaptiveCategorical(4).encode(filters)
    payloads = {
        "rans": bytes([alpha.FILTERED_RANS]) + struct.pack("<I", len(stream)) + stream
        + AdaptiveCategorical(256).encode(residuals.ravel()),
        "deflate": bytes([alpha.FILTERED_DEFLATE])
        + zlib.compress(np.hstack([filters[:, None].astype(np.uint8), residuals]).tobytes()),
    }
    buf = io.BytesIO()
    Image.fromarray(plane, "L").save(buf, format="PNG")
    payloads["png"] = bytes([alpha.PNG]) + buf.getvalue()[8:]
    for name, data in payloads.items():
        np.testing.assert_array_equal(alpha.decode_section({alpha.SECTION: data}, H, W), plane)
        for bad in (data[:1], data[: len(data) // 2], data + b"\0", data[:1] + bytes(len(data) - 1)):
            with pytest.raises(CorruptDataError):
                alpha.decode_section({alpha.SECTION: bad}, H, W)
        if name != "rans":  # (an ANS stream decodes some symbols from any bits: the container's CRC guards it)
            with pytest.raises(CorruptDataError):  # right bytes, wrong size
                alpha.decode_section({alpha.SECTION: data}, H, W + 1)
    for bad in (b"", bytes([9]), bytes([alpha.CONSTANT]), bytes([alpha.CONSTANT, 1, 2])):
        with pytest.raises(CorruptDataError):
            alpha.decode_section({alpha.SECTION: bad}, H, W)


def test_image_file_written_before_alpha2_still_decodes(tiny_weights):
    """An RGBA file of the old layout: section ``alpha`` = horizontal differences, adaptive coder."""
    rng = np.random.default_rng(3)
    rgba = np.dstack([rng.integers(0, 256, (40, 56, 3), dtype=np.uint8),
                      np.tile(np.arange(56, dtype=np.uint8) * 4, (40, 1))])
    codec = ImageCodec(quality=2, weights_dir=tiny_weights)
    new = unpack(codec.encode(rgba), "image")
    assert [n for n, _ in new.sections][-1] == "alpha2"
    old_payload = AdaptiveCategorical(256).encode(
        (np.diff(rgba[..., 3].astype(np.int16), axis=1, prepend=0) % 256).ravel())
    old = pack(Container("image", new.header, tuple((("alpha", old_payload) if n == "alpha2" else (n, p))
                                                    for n, p in new.sections)))
    rgb_new, alpha_new, _ = codec.decode_arrays(pack(new))
    rgb_old, alpha_old, mode = codec.decode_arrays(old)
    assert mode == "RGBA"
    np.testing.assert_array_equal(alpha_old, rgba[..., 3])
    np.testing.assert_array_equal(alpha_new, rgba[..., 3])
    np.testing.assert_array_equal(rgb_old, rgb_new)
    from codec.image.codec import reduce_quality
    np.testing.assert_array_equal(codec.decode_arrays(reduce_quality(old, 1))[1], rgba[..., 3])
