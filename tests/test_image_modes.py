"""Colour modes say what happens (issue 19): kept where the file allows, else a warning, never clipped."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from cli.main import main
from codec.errors import CodecWarning
from codec.image.codec import ImageCodec
from codec.image.pixels import to_pixels


@pytest.fixture(scope="module")
def codec(tiny_weights):
    return ImageCodec(quality=3, weights_dir=tiny_weights)


def _grey(w=24, h=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


def _png16(arr: np.ndarray, color_type: int) -> bytes:
    """A 16-bit PNG (Pillow cannot write 16-bit RGB): colour type 0 grey, 2 RGB, 6 RGBA."""
    h, w = arr.shape[:2]
    raw = b"".join(b"\0" + arr[i].astype(">u2").tobytes() for i in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA", "1"])
def test_kept_modes_come_back_without_warning(codec, mode):
    rng = np.random.default_rng(1)
    src = Image.fromarray(rng.integers(0, 256, (16, 24, 4), dtype=np.uint8), "RGBA").convert(mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = codec.decode(codec.encode(src))
    assert out.mode == mode and out.size == src.size
    if mode in ("RGBA", "LA"):
        np.testing.assert_array_equal(np.asarray(out)[..., -1], np.asarray(src)[..., -1])


def test_la_keeps_grey_and_alpha(codec):
    la = np.dstack([_grey(), _grey(seed=2)])
    px = to_pixels(Image.fromarray(la, "LA"))
    assert px.mode == "LA"
    np.testing.assert_array_equal(px.rgb, np.repeat(la[..., :1], 3, axis=2))
    out = codec.decode(codec.encode(Image.fromarray(la, "LA")))
    assert out.mode == "LA"
    np.testing.assert_array_equal(np.asarray(out)[..., 1], la[..., 1])


@pytest.mark.parametrize("mode", ["CMYK", "YCbCr"])
def test_converted_modes_warn(codec, mode):
    src = Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)).convert(mode)
    with pytest.warns(CodecWarning, match=f"{mode} image converted to RGB"):
        out = codec.decode(codec.encode(src))
    assert out.mode == "RGB"


@pytest.mark.filterwarnings("ignore:.*palette image converted")
def test_animated_gif_warns_that_only_the_first_frame_is_encoded(codec, tmp_path):
    frames = [Image.new("RGB", (20, 12), (60 * i, 0, 0)) for i in range(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.warns(CodecWarning, match=r"anim\.gif: animated image: only the first of its 3 frames"):
        codec.encode(path)
    with pytest.warns(CodecWarning, match="only the first of its 3 frames"):
        codec.encode(Image.open(path))


def test_32_bit_integer_tiff_is_scaled_not_clipped(tmp_path):
    values = (np.arange(16 * 24, dtype=np.int64).reshape(16, 24) * 10_000).astype(np.int32)  # 0 .. 3,830,000
    path = tmp_path / "wide.tif"
    Image.fromarray(values, "I").save(path)
    with pytest.warns(CodecWarning, match=r"I image converted to 8 bits .*values 0\.\.3\.83e\+06 scaled to 0\.\.255"):
        px = to_pixels(path)
    expected = np.round(values / values.max() * 255).astype(np.uint8)
    np.testing.assert_array_equal(px.rgb[..., 0], expected)
    assert px.mode == "L" and np.median(px.rgb) < 200  # the old code gave 255 for all but the first 7 pixels


@pytest.mark.parametrize("mode,values,scale", [
    ("I", np.arange(0, 240, dtype=np.int32), 1.0),            # 8-bit values in a 32-bit image: as they are
    ("I", np.arange(0, 60000, 250, dtype=np.int32), 255 / 65535),
    ("I;16", np.arange(0, 240, dtype=np.uint16), 255 / 65535),  # a 16-bit type is scaled as 16 bits
    ("F", np.linspace(0, 1, 240, dtype=np.float32), 255.0),
    ("F", np.linspace(0, 255, 240, dtype=np.float32), 1.0),
])
def test_wide_greys_scale_by_the_range_that_holds_them(mode, values, scale):
    arr = values.reshape(12, 20)
    im = Image.fromarray(arr.astype(np.uint16)) if mode == "I;16" else Image.fromarray(arr, mode)
    assert im.mode == mode
    with pytest.warns(CodecWarning, match="8 bits"):
        px = to_pixels(im)
    np.testing.assert_array_equal(px.rgb[..., 0], np.clip(np.round(arr.astype(np.float64) * scale), 0, 255))


def test_16_bit_rgb_png_warns_that_bits_are_reduced(tmp_path):
    rgb = (np.random.default_rng(0).integers(0, 65536, (8, 10, 3))).astype(np.uint16)
    path = tmp_path / "deep.png"
    path.write_bytes(_png16(rgb, 2))
    with pytest.warns(CodecWarning, match="16-bit-per-channel RGB image reduced to 8 bits"):
        px = to_pixels(path)
    np.testing.assert_array_equal(px.rgb, (rgb >> 8).astype(np.uint8))
    with pytest.warns(CodecWarning, match="16-bit-per-channel RGB"):
        to_pixels(Image.open(io.BytesIO(path.read_bytes())))


def test_cli_prints_one_warning_line_per_converted_file(tiny_weights, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GMCODEC_WEIGHTS", str(tiny_weights))
    for name in ("a.tif", "b.tif"):
        Image.fromarray(np.zeros((16, 24, 3), np.uint8)).convert("CMYK").save(tmp_path / name)
    assert main(["encode", "-s", str(tmp_path / "a.tif"), str(tmp_path / "b.tif")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["codec: warning: CMYK image converted to RGB (it decodes as RGB)"] * 2
