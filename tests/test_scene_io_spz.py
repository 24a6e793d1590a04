"""SPZ: v3 writer round trip, smallest-three packing, axis flip, v2/v4 paths, malformed files."""

import gzip
import struct

import numpy as np
import pytest

from codec.errors import CodecError
from codec.scene.data import GaussianScene
from codec.scene.io_spz import _pack_smallest_three, _unpack_smallest_three, read_spz, write_spz


def _scene(n=60, k=15, seed=3):
    rng = np.random.default_rng(seed)
    return GaussianScene(rng.uniform(-5, 5, (n, 3)), rng.uniform(-8, 1, (n, 3)), rng.normal(size=(n, 4)),
                         rng.normal(size=n), rng.uniform(-2, 2, (n, 3)), rng.uniform(-0.9, 0.9, (n, k, 3)))


def test_smallest_three_round_trip():
    q = np.random.default_rng(0).normal(size=(1000, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    back = _unpack_smallest_three(_pack_smallest_three(q))
    d = np.minimum(np.abs(back - q).max(1), np.abs(back + q).max(1))
    assert d.max() < 2.5e-3  # 9-bit magnitudes of |q| <= 1/sqrt(2): step 1.4e-3, plus the rebuilt largest


@pytest.mark.parametrize("k", [0, 3, 15])
def test_v3_round_trip_within_spz_bounds(k):
    s = _scene(k=k)
    b = read_spz(write_spz(s))
    assert np.abs(b.means - s.means).max() <= 2 ** -13 + 1e-6
    assert np.abs(b.log_scales - s.log_scales).max() <= 1 / 32 + 1e-6
    assert np.abs(b.opacities - s.opacities).max() <= 0.5 / 255 + 1e-6
    assert np.abs(b.sh_dc - s.sh_dc).max() <= 0.5 / (0.15 * 255) + 1e-6
    if k:
        assert np.abs(b.sh_rest[:, :3] - s.sh_rest[:, :3]).max() <= 4.5 / 128 + 1e-6  # 5-bit band 1: half a bucket of 8 plus rounding
        assert np.abs(b.sh_rest - s.sh_rest).max() <= 8.5 / 128 + 1e-6  # 4-bit bands 2-3


def test_file_is_in_rub_axes():
    s = _scene(n=5, k=3)
    raw = read_spz(write_spz(s), to_ply_axes=False)
    np.testing.assert_allclose(raw.means[:, 1], -s.means[:, 1], atol=2 ** -12)
    assert np.abs(raw.sh_rest[:, 0] + s.sh_rest[:, 0]).max() < 0.04  # SH basis -y flips sign


def test_v2_first_three():
    s = _scene(n=10, k=0)
    n = len(s)
    body = gzip.decompress(write_spz(s))
    hdr = bytearray(body[:16])
    hdr[4] = 2
    rot = (np.abs(np.random.default_rng(1).normal(size=(n, 3))) * 0 + 127.5).astype(np.uint8)  # identity-ish
    off = 16 + 9 * n + n + 3 * n + 3 * n
    v2 = bytes(hdr) + body[16:off] + rot.tobytes()
    b = read_spz(gzip.compress(v2))
    np.testing.assert_allclose(np.abs(b.quats[:, 0]), 1, atol=0.01)


def test_v4_zstd():
    zstandard = pytest.importorskip("zstandard")
    s = _scene(n=20, k=0)
    body = gzip.decompress(write_spz(s))[16:]
    n = len(s)
    sizes = [9 * n, n, 3 * n, 3 * n, 4 * n]
    streams, off = [], 0
    for size in sizes:
        streams.append(zstandard.ZstdCompressor().compress(body[off:off + size]))
        off += size
    head = struct.pack("<IIIBBBBI", 0x5053474E, 4, n, 0, 12, 0, 5, 32) + bytes(12)
    toc = b"".join(struct.pack("<QQ", len(c), u) for c, u in zip(streams, sizes))
    b = read_spz(head + toc + b"".join(streams))
    np.testing.assert_array_equal(b.means, read_spz(write_spz(s)).means)


@pytest.mark.parametrize("mutate", [lambda b: b[:-4], lambda b: b[:10], lambda b: b"\x00" * 40,
                                    lambda b: gzip.compress(gzip.decompress(b)[:-7]),
                                    lambda b: gzip.compress(gzip.decompress(b)[:4] + b"\x09" + gzip.decompress(b)[5:])])
def test_malformed(mutate):
    with pytest.raises(CodecError):
        read_spz(mutate(write_spz(_scene(n=30, k=3))))
