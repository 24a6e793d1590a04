"""INRIA PLY: header parsing by name, round trip, malformed files."""

import numpy as np
import pytest

from codec.errors import CodecError
from codec.scene import read, write
from codec.scene.data import GaussianScene
from codec.scene.io_ply import parse_ply, read_inria_ply, write_inria_ply


def _scene(n=50, k=15, seed=1):
    rng = np.random.default_rng(seed)
    return GaussianScene(rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) - 4, rng.normal(size=(n, 4)),
                         rng.normal(size=n), rng.normal(size=(n, 3)), rng.normal(size=(n, k, 3)))


@pytest.mark.parametrize("k", [0, 3, 8, 15])
@pytest.mark.parametrize("normals", [False, True])
def test_round_trip_exact(tmp_path, k, normals):
    s = _scene(k=k)
    back = read_inria_ply(write_inria_ply(s, normals=normals))
    for name, arr in s.arrays().items():
        np.testing.assert_array_equal(arr, back.arrays()[name])
    write(s, tmp_path / "a.ply")
    np.testing.assert_array_equal(read(tmp_path / "a.ply").sh_rest, s.sh_rest)


def test_f_rest_is_channel_major():
    s = _scene(n=2, k=3)
    elements, _ = parse_ply(write_inria_ply(s))
    v = elements["vertex"].data
    assert v["f_rest_0"][1] == s.sh_rest[1, 0, 0]  # R of coefficient 1
    assert v["f_rest_3"][1] == s.sh_rest[1, 0, 1]  # G of coefficient 1
    assert v["f_rest_8"][1] == s.sh_rest[1, 2, 2]


def test_properties_found_by_name_in_any_order():
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 1\n" + "".join(
        f"property float {p}\n" for p in ["rot_0", "rot_1", "rot_2", "rot_3", "opacity", "x", "y", "z",
                                          "scale_0", "scale_1", "scale_2", "f_dc_0", "f_dc_1", "f_dc_2"])
              + "end_header\n").encode()
    body = np.array([1, 0, 0, 0, 0.5, 1, 2, 3, -1, -2, -3, 0.1, 0.2, 0.3], "<f4").tobytes()
    s = read_inria_ply(header + body)
    np.testing.assert_allclose(s.means[0], [1, 2, 3])
    np.testing.assert_allclose(s.log_scales[0], [-1, -2, -3])


@pytest.mark.parametrize("mutate", [
    lambda b: b[:-5],                                            # truncated body
    lambda b: b.replace(b"vertex 50", b"vertex 999999999"),       # count larger than the file
    lambda b: b.replace(b"binary_little_endian", b"ascii"),       # unsupported format
    lambda b: b.replace(b"end_header", b"end_headxr"),            # no end of header
    lambda b: b"plx" + b[3:],                                     # bad magic
    lambda b: b.replace(b"property float opacity", b"property float opacitz"),  # missing property
    lambda b: b.replace(b"property float f_rest_3\n", b""),      # wrong SH count
])
def test_malformed_raise_codec_error(mutate):
    data = write_inria_ply(_scene(k=3))
    with pytest.raises(CodecError):
        read_inria_ply(mutate(data))
