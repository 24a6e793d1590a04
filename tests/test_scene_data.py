"""GaussianScene: validation, copying, cleaning."""

import warnings

import numpy as np
import pytest

from codec.errors import InvalidInputError
from codec.scene.data import GaussianScene, sigmoid


def _arrays(n=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) - 4, rng.normal(size=(n, 4)),
            rng.normal(size=n), rng.normal(size=(n, 3)), rng.normal(size=(n, k, 3))]


def test_construct_normalizes_and_copies():
    a = _arrays()
    before = [x.copy() for x in a]
    s = GaussianScene(*a)
    assert s.means.dtype == np.float32 and s.sh_rest.shape == (5, 3, 3) and s.sh_degree == 1
    np.testing.assert_allclose(np.linalg.norm(s.quats, axis=1), 1, atol=1e-6)
    for x, y in zip(a, before):
        np.testing.assert_array_equal(x, y)  # inputs untouched
    a[0][0, 0] = 99.0
    assert s.means[0, 0] != 99.0  # no shared memory
    assert not s.means.flags.writeable


@pytest.mark.parametrize("bad", ["nan", "shape", "k", "zero_quat"])
def test_rejects_bad_input(bad):
    a = _arrays()
    if bad == "nan":
        a[1][2, 1] = np.nan
    elif bad == "shape":
        a[4] = a[4][:3]
    elif bad == "k":
        a[5] = np.zeros((5, 4, 3))
    else:
        a[2][1] = 0
    with pytest.raises(InvalidInputError):
        GaussianScene(*a)


def test_cleaned_drops_nonfinite_and_clamps_infinite_opacity():
    a = _arrays(6)
    a[0][1, 0] = np.inf
    a[3][2] = -np.inf
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s = GaussianScene.cleaned(*a)
    assert len(s) == 5 and len(w) == 2
    assert np.isfinite(s.opacity_logits).all() and s.opacity_logits.min() <= -20


def test_views_and_subset():
    s = GaussianScene(*_arrays(4, 0))
    np.testing.assert_allclose(s.opacities, sigmoid(s.opacity_logits), rtol=1e-6)
    sub = s.subset(np.array([3, 1]))
    np.testing.assert_array_equal(sub.means, s.means[[3, 1]])
    assert s.with_sh_degree(3).sh_rest.shape == (4, 15, 3)
    assert len(GaussianScene.empty(2)) == 0


@pytest.mark.parametrize("degree", [0, 1, 3])
def test_empty_scene_round_trips_through_every_writable_format(degree):
    """Our writers produce empty files from GaussianScene.empty(): each reads back as an empty
    scene (.splat has no SH, so it comes back degree 0, as it does for any scene; .gsz with SH
    writes an empty SH codebook)."""
    from codec.scene.io_ply import read_inria_ply, write_inria_ply
    from codec.scene.io_splat import read_splat, write_splat
    from codec.scene.codec import SceneCodec
    from codec.scene.io_spz import read_spz, write_spz

    empty = GaussianScene.empty(degree)
    assert len(GaussianScene.cleaned(empty.means, empty.log_scales, empty.quats, empty.opacity_logits,
                                     empty.sh_dc, empty.sh_rest)) == 0
    for write, read, keeps_sh in ((write_inria_ply, read_inria_ply, True), (write_splat, read_splat, False),
                                  (write_spz, read_spz, True), (SceneCodec().encode, SceneCodec().decode, True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # .splat: "dropping SH degree"
            back = read(write(empty))
        assert len(back) == 0 and back.means.shape == (0, 3)
        assert back.sh_degree == (degree if keeps_sh else 0)


def test_empty_compressed_ply_and_sog_read_as_empty_scenes():
    pytest.importorskip("PIL")
    from fuzz_scene_seeds import _compressed_ply, _sog
    from PIL import features

    from codec.scene.io_compressed_ply import read_compressed_ply

    assert len(read_compressed_ply(_compressed_ply(0, 1, sh=False))) == 0
    if features.check("webp"):
        from codec.scene.io_sog import read_sog_bytes

        assert len(read_sog_bytes(_sog(0, 1, shn=False))) == 0
