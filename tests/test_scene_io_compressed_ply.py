"""PlayCanvas compressed PLY: decoding of a hand-packed file, chunk checks, malformed input."""

import numpy as np
import pytest

from codec.errors import CodecError
from codec.scene.data import SH_C0
from codec.scene.io_compressed_ply import read_compressed_ply

CHUNK_PROPS = ["min_x", "min_y", "min_z", "max_x", "max_y", "max_z", "min_scale_x", "min_scale_y",
               "min_scale_z", "max_scale_x", "max_scale_y", "max_scale_z", "min_r", "min_g", "min_b",
               "max_r", "max_g", "max_b"]


def _file(n=3, chunks=1, sh=False):
    head = "ply\nformat binary_little_endian 1.0\n" + f"element chunk {chunks}\n"
    head += "".join(f"property float {p}\n" for p in CHUNK_PROPS)
    head += f"element vertex {n}\n" + "".join(f"property uint {p}\n" for p in
                                               ["packed_position", "packed_rotation", "packed_scale", "packed_color"])
    if sh:
        head += f"element sh {n}\n" + "".join(f"property uchar f_rest_{i}\n" for i in range(9))
    head += "end_header\n"
    box = np.array([0, 0, 0, 2, 4, 8, -6, -6, -6, -2, -2, -2, 0, 0, 0, 1, 1, 1], "<f4")
    pos = (2047 << 21) | (0 << 11) | 1023  # x = max, y = min, z ~ half
    rot = (0 << 30) | (511 << 20) | (511 << 10) | 511  # w largest, others ~0
    scale = (0 << 21) | (1023 << 11) | 0
    color = (255 << 24) | (0 << 16) | (128 << 8) | 255
    vert = np.array([[pos, rot, scale, color]] * n, "<u4")
    body = np.tile(box, chunks).tobytes() + vert.tobytes()
    if sh:
        body += np.tile(np.array([0, 255, 128, 0, 0, 0, 0, 0, 0], np.uint8), n).tobytes()
    return head.encode() + body


def test_decode_hand_packed():
    s = read_compressed_ply(_file())
    np.testing.assert_allclose(s.means[0], [2, 0, 8 * 1023 / 2047], rtol=1e-5)
    np.testing.assert_allclose(s.log_scales[0], [-6, -2, -6], atol=1e-5)
    np.testing.assert_allclose(np.abs(s.quats[0]), [1, 0, 0, 0], atol=2e-3)
    np.testing.assert_allclose(s.base_rgb[0], [1, 0, 128 / 255], atol=1e-5)
    np.testing.assert_allclose(s.sh_dc[0, 0], 0.5 / SH_C0, rtol=1e-5)
    assert s.opacities[0] > 0.99


def test_sh_element():
    s = read_compressed_ply(_file(sh=True))
    assert s.sh_degree == 1
    np.testing.assert_allclose(s.sh_rest[0, :, 0], [-4, 4, (128.5 / 256 - 0.5) * 8], atol=1e-5)


@pytest.mark.parametrize("data", [_file(n=300, chunks=1), _file()[:-2], _file().replace(b"min_x", b"min_q")])
def test_malformed(data):
    with pytest.raises(CodecError):
        read_compressed_ply(data)
