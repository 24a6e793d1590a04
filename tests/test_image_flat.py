"""One-colour tiles are coded as their colour: exact, nearly free, mixed with model-coded tiles."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from codec.container import Container, pack, unpack
from codec.errors import CorruptDataError
from codec.image.codec import ImageCodec, reduce_quality


@pytest.fixture(scope="module")
def codec(tiny_weights):
    return ImageCodec(quality=3, weights_dir=tiny_weights, tile=64, overlap=16)


@pytest.mark.parametrize("colour, size", [((200, 30, 40), (1, 1)), ((255, 0, 0), (8, 8)), ((0, 0, 0), (1, 1)),
                                          ((0, 0, 0), (256, 256)), ((17, 99, 240), (130, 70))])
def test_flat_images_come_back_at_their_colour(codec, colour, size):
    img = Image.new("RGB", size, colour)
    data = codec.encode(img)
    assert np.array_equal(np.asarray(codec.decode(data)), np.asarray(img))
    sections = dict(unpack(data, "image").sections)
    assert all(len(sections[f"L{level}"]) == 0 for level in range(4))  # no index is coded
    tiles = -(-size[0] // 64) * -(-size[1] // 64)
    assert len(data) < 250 + 7 * tiles  # the container header, and 7 bytes per tile


def test_grey_image_stays_grey_and_flat(codec):
    img = Image.new("L", (40, 40), 77)
    out = codec.decode(codec.encode(img))
    assert out.mode == "L" and np.array_equal(np.asarray(out), np.asarray(img))


def test_flat_and_textured_tiles_in_one_image(codec):
    rng = np.random.default_rng(0)
    px = np.full((60, 200, 3), 90, np.uint8)
    px[:, 120:] = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)  # tiles of 64: the first ones are flat
    data = codec.encode(Image.fromarray(px))
    out = np.asarray(codec.decode(data))
    assert np.array_equal(out[:, :40], px[:, :40])  # away from the cross-fade into textured tiles
    assert len(dict(unpack(data, "image").sections)["flat"]) % 7 == 0
    low = reduce_quality(data, 1)  # a prefix keeps the flat tiles
    assert np.array_equal(np.asarray(codec.decode(low))[:, :40], px[:, :40])


@pytest.mark.parametrize("payload", [b"\x00" * 6, b"\x05\x00\x00\x00abc", b"\x00\x00\x00\x00abc" * 2])
def test_damaged_flat_section_is_a_clear_error(codec, payload):
    c = unpack(codec.encode(Image.new("RGB", (10, 10), (1, 2, 3))), "image")
    bad = pack(Container("image", c.header, tuple((n, payload if n == "flat" else p) for n, p in c.sections)))
    with pytest.raises(CorruptDataError, match="flat section"):
        codec.decode(bad)
