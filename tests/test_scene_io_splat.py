"""antimatter15 .splat: round trip within its 8-bit quantization, malformed sizes."""

import warnings

import numpy as np
import pytest

from codec.errors import CodecError
from codec.scene.data import GaussianScene
from codec.scene.io_splat import read_splat, write_splat


def _scene(n=40, k=0):
    rng = np.random.default_rng(2)
    return GaussianScene(rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) - 4, rng.normal(size=(n, 4)),
                         rng.normal(size=n), rng.normal(size=(n, 3)) * 0.5, np.zeros((n, 3 * (k > 0), 3)))


def test_round_trip_within_quantization():
    s = _scene()
    b = read_splat(write_splat(s))
    np.testing.assert_array_equal(b.means, s.means)
    np.testing.assert_allclose(b.log_scales, s.log_scales, atol=1e-5)
    assert np.abs(b.opacities - s.opacities).max() <= 0.5 / 255 + 1e-6
    assert np.abs(b.base_rgb - np.clip(s.base_rgb, 0, 1)).max() <= 0.5 / 255 + 1e-6
    dq = np.minimum(np.abs(b.quats - s.quats).max(1), np.abs(b.quats + s.quats).max(1))
    assert dq.max() < 0.02


def test_sh_dropped_with_warning():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        write_splat(_scene(k=1))
    assert any("SH" in str(x.message) for x in w)


def test_bad_size():
    with pytest.raises(CodecError):
        read_splat(write_splat(_scene())[:-3])
