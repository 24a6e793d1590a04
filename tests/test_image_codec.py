"""Image codec round trips, prefixes, input kinds and bit-exact decoding (tiny random model)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from codec.errors import InvalidInputError, LimitExceededError
from codec.image.codec import ImageCodec, reduce_quality
from codec.container import Container, pack


@pytest.fixture(scope="module")
def codecs(tiny_weights):
    return {q: ImageCodec(quality=q, weights_dir=tiny_weights, tile=64, overlap=16) for q in (1, 2, 3)}


def _photo(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 / max(width, 1), yy * 255 / max(height, 1), (xx + yy) % 256], axis=-1)
    noise = rng.normal(0, 8, size=base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


@pytest.mark.parametrize("quality", [1, 2, 3])
def test_round_trip_every_quality(codecs, quality):
    img = _photo(70, 45)
    data = codecs[quality].encode(img)
    out = codecs[quality].decode(data)
    assert out.size == img.size and out.mode == "RGB"
    assert codecs[quality].encode(img) == data  # deterministic bytes


def test_more_stages_more_bytes_and_prefix_is_lower_quality(codecs):
    img = _photo(96, 64, seed=1)
    sizes = [len(codecs[q].encode(img)) for q in (1, 2, 3)]
    assert sizes[0] < sizes[1] < sizes[2]
    full = codecs[3].encode(img)
    for q in (1, 2):
        assert reduce_quality(full, q) == codecs[q].encode(img)


@pytest.mark.parametrize("size", [(1, 1), (1, 37), (33, 1), (17, 23), (48, 80)])
def test_any_size_including_tiny_and_portrait(codecs, size):
    img = _photo(*size)
    out = codecs[2].decode(codecs[2].encode(img))
    assert out.size == img.size


def test_rgba_alpha_is_lossless(codecs):
    rgba = np.dstack([np.asarray(_photo(40, 30)), np.zeros((30, 40), np.uint8)])
    rgba[5:20, 3:30, 3] = 255
    rgba[0, 0, 3] = 17
    out = codecs[1].decode(codecs[1].encode(Image.fromarray(rgba, "RGBA")))
    assert out.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(out)[..., 3], rgba[..., 3])


def test_grayscale_decodes_to_L(codecs):
    out = codecs[1].decode(codecs[1].encode(_photo(30, 20).convert("L")))
    assert out.mode == "L" and out.size == (30, 20)


def test_palette_and_16_bit_convert_with_warning(codecs):
    with pytest.warns(UserWarning, match="palette"):
        out = codecs[1].decode(codecs[1].encode(_photo(30, 20).convert("P")))
    assert out.mode == "RGB"
    deep = Image.fromarray(np.arange(600, dtype=np.uint16).reshape(20, 30) * 100)
    assert deep.mode.startswith("I")
    with pytest.warns(UserWarning, match="8 bits"):
        out = codecs[1].decode(codecs[1].encode(deep))
    assert out.mode == "L"


def test_array_and_tensor_inputs_match_pil(codecs):
    img = _photo(32, 32)
    arr = np.array(img)
    ref = codecs[1].encode(img)
    assert codecs[1].encode(arr) == ref
    assert codecs[1].encode(torch.from_numpy(arr).permute(2, 0, 1).float() / 255) == ref
    with pytest.raises(InvalidInputError):
        codecs[1].encode(arr.astype(np.float32))
    with pytest.raises(InvalidInputError):
        codecs[1].encode("not an image")


def test_exif_orientation_applied(codecs, tmp_path):
    from codec.image.pixels import open_image

    img = _photo(40, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif.tobytes())
    opened = open_image(path)
    assert opened.size == (20, 40)
    assert codecs[1].decode(codecs[1].encode(opened)).size == (20, 40)


def test_tiled_image_has_original_size(codecs):
    img = _photo(150, 130, seed=3)  # 3 x 3 tiles of 64 with 16 px overlap
    out = codecs[3].decode(codecs[3].encode(img))
    assert out.size == img.size


def test_decompression_bomb_header_is_refused(codecs):
    data = codecs[1].encode(_photo(20, 20))
    from codec.container import unpack

    c = unpack(data, "image")
    header = dict(c.header, width=200_000, height=200_000)
    with pytest.raises(LimitExceededError):
        codecs[1].decode(pack(Container("image", header, c.sections)))


def test_bad_quality_is_a_clear_error(tiny_weights):
    with pytest.raises(InvalidInputError, match="quality"):
        ImageCodec(quality=9, weights_dir=tiny_weights)


def test_decode_identical_across_processes_and_threads(codecs, tiny_weights, run_snippet, tmp_path):
    src = tmp_path / "in.png"
    _photo(100, 70, seed=4).save(src)
    snippet = """
import sys, hashlib, numpy as np
from PIL import Image
from codec.image.codec import ImageCodec
mode, weights, src, dst = sys.argv[1:5]
codec = ImageCodec(quality=3, weights_dir=weights, tile=64, overlap=16)
if mode == "encode":
    open(dst, "wb").write(codec.encode(Image.open(src)))
else:
    rgb, _, _ = codec.decode_arrays(open(src, "rb").read())
    print(hashlib.sha256(rgb.tobytes()).hexdigest())
"""
    enc = tmp_path / "x.gmc"
    run_snippet(snippet, threads=1, torch_threads=1, args=["encode", str(tiny_weights), str(src), str(enc)])
    one = run_snippet(snippet, threads=1, torch_threads=1, args=["decode", str(tiny_weights), str(enc), "-"])
    two = run_snippet(snippet, threads=2, torch_threads=2, args=["decode", str(tiny_weights), str(enc), "-"])
    assert one == two and len(one.strip()) == 64
    assert enc.read_bytes() == codecs[3].encode(Image.open(src))


def test_one_codec_shared_by_threads(codecs):
    from concurrent.futures import ThreadPoolExecutor

    images = [_photo(48, 40, seed=s) for s in range(4)]
    expected = [codecs[2].encode(im) for im in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(codecs[2].encode, images * 2))
        decoded = list(pool.map(lambda d: np.asarray(codecs[2].decode(d)), expected))
    assert got == expected * 2
    for d, data in zip(decoded, expected):
        np.testing.assert_array_equal(d, np.asarray(codecs[2].decode(data)))
