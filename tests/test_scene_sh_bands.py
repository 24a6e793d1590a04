"""SH bands of the scene codec (sh_bands.py): format 4's band flags decode to the floats of the
direct quantization (so to format 3's), both symbol modes, and lying flag fields are refused."""

import numpy as np
import pytest

from codec.container import Container, pack, unpack
from codec.errors import CodecError
from codec.scene.codec import SceneCodec
from codec.scene.data import GaussianScene
from codec.scene.presets import get_preset
from codec.scene.quantize import grid_of, uniform_offset_from_int, uniform_offset_to_int
from codec.scene.sh_bands import SH_BANDS, decode_sh_bands, encode_sh_bands
from web_fixtures import sparse_sh_scene


def _direct(rest: np.ndarray, step: float) -> np.ndarray:
    """[N, 15, 3] float32: every band quantized on its grid and back, with no coding at all."""
    out = np.empty_like(rest)
    for c0, c1 in SH_BANDS:
        g, off = grid_of(rest[:, c0:c1], step)
        out[:, c0:c1] = uniform_offset_from_int(uniform_offset_to_int(rest[:, c0:c1], g, off), g, off)
    return out


@pytest.fixture(scope="module")
def tap_like():
    return sparse_sh_scene(6000, seed=2)


def test_flagged_bands_decode_to_the_direct_quantization(tap_like):
    """A tap-like scene (bands 1-3 all zero for ~10/40/60 % of the Gaussians): every band is
    flagged, and the decoded SH are bit for bit the floats of quantizing each band directly,
    which is what formats 2 and 3 decode the same levels to."""
    codec = SceneCodec(quality=3)
    data = codec.encode(tap_like)
    h = unpack(data).header
    assert h["scene_version"] == 5 and [h[f"sh_{b}_flagged"] for b in (1, 2, 3)] == [1, 1, 1]
    dec = codec.decode(data)
    want = _direct(tap_like.sh_rest[codec.last_order], get_preset(3).sh_step)
    assert dec.sh_rest.tobytes() == want.tobytes()


@pytest.mark.parametrize("zero_share, flagged", [((0.0, 0.6, 0.0), (0, 1, 0)), ((0.0, 0.0, 0.7), (0, 0, 1))])
def test_mixed_bands_round_trip(zero_share, flagged):
    """Unflagged bands next to flagged ones: the flag's context then comes from the previous
    band's decoded symbols; a band with no zero rows is never flagged."""
    rng = np.random.default_rng(3)
    n = 4000
    rest = np.round(rng.laplace(0, 0.1, (n, 15, 3)) * 8) / 8 + 0.25  # a band of zeros has level 2 here
    for (c0, c1), share in zip(SH_BANDS, zero_share):
        rest[rng.random(n) < share, c0:c1] = 0.25
    rest = rest.astype(np.float32)
    header, sections = encode_sh_bands(rest, 3, 0.03)
    assert tuple(header[f"sh_{b}_flagged"] for b in (1, 2, 3)) == flagged
    got = decode_sh_bands(header, dict(sections).__getitem__, n, 3, 4)
    assert got.tobytes() == _direct(rest, 0.03).tobytes()


def test_per_channel_band_with_flags():
    """A band with more than 20 levels codes each channel alone; flags work the same way."""
    rng = np.random.default_rng(4)
    n = 3000
    rest = (np.round(rng.laplace(0, 0.4, (n, 15, 3)) / 0.01) * 0.01).astype(np.float32)
    rest[rng.random(n) < 0.5, 3:] = 0
    header, sections = encode_sh_bands(rest, 3, 0.01)
    assert header["sh_2_k"] ** 3 > 8192 and header["sh_2_flagged"] == 1 and header["sh_3_flagged"] == 1
    got = decode_sh_bands(header, dict(sections).__getitem__, n, 3, 4)
    assert got.tobytes() == _direct(rest, 0.01).tobytes()


def test_empty_and_sh0_scenes():
    for n, degree in ((0, 3), (50, 0)):
        scene = sparse_sh_scene(max(n, 1), seed=1).subset(np.arange(n))
        if degree == 0:
            scene = GaussianScene(scene.means, scene.log_scales, scene.quats, scene.opacity_logits, scene.sh_dc,
                                  np.zeros((n, 0, 3), np.float32))
        dec = SceneCodec.decode_bytes(SceneCodec(quality=3).encode(scene))
        assert len(dec) == n and dec.sh_rest.shape == (n, 15 if degree else 0, 3)


@pytest.mark.parametrize("field, value", [("sh_2_zero", -1), ("sh_2_zero", "k"), ("sh_3_flagged", 2),
                                          ("sh_1_flagged", 1.0), ("sh_1_flagged", b"\x01"), ("sh_2_flagged", None)])
def test_bad_flag_fields_are_refused(tap_like, field, value):
    c = unpack(SceneCodec(quality=3).encode(tap_like.subset(np.arange(1500))))
    header = dict(c.header, **{field: value})
    if value == "k":
        header[field] = c.header["sh_2_k"]  # one past the last level
    elif value is None:
        del header[field]  # missing
    with pytest.raises(CodecError):
        SceneCodec.decode_bytes(pack(Container("scene", header, c.sections, c.version)))


@pytest.mark.parametrize("band", [1, 2, 3])
def test_lying_flag_state_is_a_codec_error(tap_like, band):
    """A flagged band said to be unflagged reads too few symbols from its stream, and a missing
    flag stream is a missing section: CodecError either way, never another exception."""
    c = unpack(SceneCodec(quality=3).encode(tap_like.subset(np.arange(1500))))
    with pytest.raises(CodecError):
        SceneCodec.decode_bytes(pack(Container("scene", dict(c.header, **{f"sh_{band}_flagged": 0}),
                                               c.sections, c.version)))
    sections = tuple((n, p) for n, p in c.sections if n != f"sh_{band}_nz")
    with pytest.raises(CodecError):
        SceneCodec.decode_bytes(pack(Container("scene", c.header, sections, c.version)))
