"""Resource limits: a header cannot make a decoder allocate beyond a bound derived from the file
size and the documented hard limits, and decompression bombs are refused quickly.

Allocation is measured with ``tracemalloc`` (numpy's buffers are traced); time bounds are
generous ceilings (10-50x what we measure) so that a loaded CI machine cannot flake them.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from codec.container import Container, pack, unpack
from codec.errors import CodecError, LimitExceededError, TruncatedError
from codec.image.codec import MAX_PIXELS, ImageCodec
from codec.image.pixels import open_image
from entropy import EntropyError, FrequencyTables, ScaleFamily

MIB = 1 << 20


class _Budget:
    """Context manager: traced peak bytes and seconds of the block."""

    def __enter__(self):
        tracemalloc.start()
        tracemalloc.reset_peak()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return False


@pytest.fixture(scope="module")
def codec1(tiny_weights):
    return ImageCodec(quality=1, weights_dir=tiny_weights, tile=64, overlap=16)


@pytest.fixture(scope="module")
def small_file(codec1):
    rng = np.random.default_rng(0)
    return codec1.encode(rng.integers(0, 256, (20, 27, 3), dtype=np.uint8))


def _with_header(data: bytes, **fields) -> bytes:
    c = unpack(data, "image")
    return pack(Container("image", dict(c.header, **fields), c.sections))


# -- image files ---------------------------------------------------------------------------


@pytest.mark.parametrize("width, height", [(4096, 2048), (1 << 20, 1), (1, 1 << 23), (65536, 65536)])
def test_image_claiming_more_than_its_size_allows_is_refused_before_allocating(codec1, small_file, width, height):
    data = _with_header(small_file, width=width, height=height)
    codec1.decode(small_file)  # warm up: the model is loaded outside the measured block
    with _Budget() as b, pytest.raises(LimitExceededError, match="cannot hold|limit"):
        codec1.decode(data)
    assert b.peak < MIB and b.seconds < 5


@pytest.mark.parametrize("width, height, tile, overlap", [(1 << 22, 1, 32, 0), (1 << 20, 1, 64, 16),
                                                           (1 << 21, 2, 32, 0), (2048, 2048, 64, 32)])
def test_thin_strip_in_small_tiles_is_refused_before_decoding(codec1, small_file, width, height, tile, overlap):
    """Regression (fuzz corpus image/strip-4194304x1-tile32.bin): a 174-byte file claiming a
    4194304x1 image in 32-pixel tiles made the decoder pad and process 131,072 tiles (20 s,
    106 MiB) before the first entropy check failed. Padded work is now bounded like pixels."""
    data = _with_header(small_file, width=width, height=height, tile=tile, overlap=overlap)
    with _Budget() as b, pytest.raises(LimitExceededError, match="cannot hold|padded pixels"):
        codec1.decode(data)
    assert b.peak < MIB and b.seconds < 5


@pytest.mark.parametrize("tile, overlap", [(32, 0), (1024, 32), (16384, 0)])
def test_largest_image_a_tiny_file_may_claim_is_refused_quickly(codec1, small_file, tile, overlap):
    """2**22 pixels is allowed for any file size; with garbage sections the decoder stops at
    the first entropy check, after at most the index arrays of that many pixels."""
    data = _with_header(small_file, width=2048, height=2048, tile=tile, overlap=overlap)
    assert len(data) < 300
    codec1.decode(small_file)
    with _Budget() as b, pytest.raises(CodecError):
        codec1.decode(data)
    assert b.peak < 64 * MIB and b.seconds < 10


def test_hard_pixel_limit_holds_whatever_the_file_size(small_file):
    from codec.image.codec import _Header

    header = dict(unpack(small_file, "image").header, width=1 << 15, height=(MAX_PIXELS >> 15) + 1)
    with pytest.raises(LimitExceededError, match="pixel limit"):
        _Header.parse(header, file_size=1 << 32)


@pytest.mark.parametrize("fields", [{"width": 0}, {"height": -5}, {"quality": 0}, {"tile": 48},
                                    {"tile": 1 << 15}, {"overlap": 80}, {"overlap": -16}, {"mode": "CMYK"},
                                    {"width": "20"}, {"model": b"tiny-test"}, {"quality": 7}])
def test_invalid_image_header_fields_are_corrupt_data(codec1, small_file, fields):
    with pytest.raises(CodecError):
        codec1.decode(_with_header(small_file, **fields))


# -- encoder input images (Pillow) ---------------------------------------------------------


def _png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR is rewritten to claim ``width x height`` (CRC fixed)."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    return bytes(data)


def test_image_beyond_pillows_limit_is_a_clear_error_without_allocating(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(40_000, 40_000))  # 1.6 Gpx, over 2x Image.MAX_IMAGE_PIXELS
    with _Budget() as b, pytest.raises(LimitExceededError, match="too large"):
        open_image(path)
    assert b.peak < MIB and b.seconds < 5


def test_cli_encode_of_a_pillow_bomb_is_one_line(tmp_path, capsys, tiny_weights, monkeypatch):
    from cli.main import main

    monkeypatch.setenv("GMCODEC_WEIGHTS", str(tiny_weights))
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(40_000, 40_000))
    assert main(["encode", "-s", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("codec: error:") and "too large" in err and err.count("\n") == 1
    assert not (tmp_path / "bomb.gmc").exists()


# -- entropy tables and families -------------------------------------------------------------


def test_frequency_table_header_claiming_the_maximum_allocates_nothing():
    head = struct.pack("<4sBBHII", b"EFT1", 1, 24, 0, 1 << 6, 1 << 20)  # T*K = 2**26 entries
    data = head + b"\x00" * 8
    with _Budget() as b, pytest.raises(EntropyError, match="bytes"):
        FrequencyTables.from_bytes(data + struct.pack("<I", zlib.crc32(data)))
    assert b.peak < MIB


def test_scale_family_header_claiming_the_maximum_allocates_nothing():
    head = struct.pack("<4sBBHII", b"ESF1", 1, 1, 0, (1 << 19) - 2, 4096)
    with _Budget() as b, pytest.raises(EntropyError):
        ScaleFamily.from_bytes(head + b"\x00" * 64)
    assert b.peak < MIB


# -- scene readers ----------------------------------------------------------------------------


def _scene_or_skip():
    return pytest.importorskip("codec.scene.io", reason="codec.scene readers are not importable")


def test_ply_header_claiming_the_maximum_vertex_count_allocates_nothing():
    _scene_or_skip()
    from codec.scene._files import MAX_GAUSSIANS
    from codec.scene.io_ply import read_inria_ply

    props = "".join(f"property float {p}\n" for p in ("x", "y", "z", "opacity", "rot_0", "scale_0"))
    for count in (MAX_GAUSSIANS, MAX_GAUSSIANS + 1, 10 ** 30):
        data = f"ply\nformat binary_little_endian 1.0\nelement vertex {count}\n{props}end_header\n".encode()
        with _Budget() as b, pytest.raises(CodecError):
            read_inria_ply(data + b"\x00" * 64)
        assert b.peak < MIB and b.seconds < 5


def test_spz_header_claiming_many_gaussians_with_a_tiny_body_allocates_nothing():
    _scene_or_skip()
    import gzip

    from codec.scene._files import MAX_GAUSSIANS
    from codec.scene.io_spz import SPZ_MAGIC, read_spz

    head = struct.pack("<IIIBBBB", SPZ_MAGIC, 3, MAX_GAUSSIANS, 3, 12, 0, 0)
    data = gzip.compress(head + b"\x00" * 1000, mtime=0)
    with _Budget() as b, pytest.raises(TruncatedError):
        read_spz(data)
    assert b.peak < 4 * MIB and b.seconds < 5


def test_splat_is_bounded_by_its_size():
    _scene_or_skip()
    from codec.scene.io_splat import read_splat

    with pytest.raises(CodecError):
        read_splat(b"\x00" * 33)


_RSS_SNIPPET = """
import sys, warnings
from codec.errors import CodecError
from codec.scene.io_sog import read_sog_bytes

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) // 1024  # MiB

data = open(sys.argv[1], "rb").read()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak resident size (VmHWM)
before = status("VmRSS:")
warnings.simplefilter("ignore")
try:
    read_sog_bytes(data)
except CodecError:
    pass
print(status("VmHWM:") - before)
"""


def test_sog_texture_far_larger_than_its_count_is_refused_before_decoding(run_snippet):
    _scene_or_skip()
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc to measure the resident peak")
    from PIL import features

    if not features.check("webp"):
        pytest.skip("Pillow is built without WebP")
    from fuzz_engine import CORPUS_DIR

    path = CORPUS_DIR / "bombs" / "sog-webp-claims-12000x12000-for-5-gaussians.sog"
    grown_mib = int(run_snippet(_RSS_SNIPPET, args=[str(path)]).decode())  # Pillow's buffers are not traced: resident peak
    assert grown_mib < 100
