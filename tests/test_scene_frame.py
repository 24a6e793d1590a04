"""Scene format 5: the canonical frame (same covariances, sorted axes, exact MRP decoding) and
the colour contexts."""

import numpy as np
import pytest
from web_fixtures import clustered_colours

from codec.container import unpack
from codec.scene.codec import SceneCodec
from codec.scene.data import GaussianScene
from codec.scene.evaluate import attribute_errors
from codec.scene.frame import (_PERMS, MRP_LIMIT, align_frames, canonical_frame, equivalent_quats, mrp_to_int,
                               quats_from_mrp, rotation_matrices)
from codec.scene.presets import PRESETS


def _covariances(log_scales, quats):
    r = rotation_matrices(np.asarray(quats, np.float64) / np.linalg.norm(quats, axis=1, keepdims=True))
    return np.einsum("nij,nj,nkj->nik", r, np.exp(2 * np.asarray(log_scales, np.float64)), r)


def _random(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    scales = rng.uniform(-3, 0, (n, 3))
    scales[: n // 10, 1] = scales[: n // 10, 0]  # ties: discs whose two largest axes are equal
    return scales.astype(np.float32), rng.normal(size=(n, 4))


def test_canonical_frame_keeps_covariances_and_sorts_axes():
    scales, quats = _random()
    s, q = canonical_frame(scales, quats)
    assert (np.diff(s, axis=1) <= 0).all()
    assert (q[:, 0] >= 0).all() and (np.argmax(np.abs(q), axis=1) == 0).all()
    assert np.allclose(np.linalg.norm(q.astype(np.float64), axis=1), 1, atol=1e-6)
    c0, c1 = _covariances(scales, quats), _covariances(s, q)
    assert np.abs(c1 - c0).max() <= 1e-6 * np.abs(c0).max()
    s2, q2 = canonical_frame(s, q)  # idempotent
    assert np.array_equal(s2, s) and np.abs(q2 - q).max() <= 1e-6


def test_the_24_frames_share_the_covariance_and_align_back():
    scales, quats = _random(200, seed=1)
    eq = equivalent_quats(quats)
    assert eq.shape == (200, 24, 4)
    rng = np.random.default_rng(2)
    pick = rng.integers(0, 24, 200)
    moved_q = eq[np.arange(200), pick]
    moved_s = np.take_along_axis(scales.astype(np.float64), _PERMS[pick], axis=1)
    assert np.allclose(_covariances(moved_s, moved_q), _covariances(scales, quats), atol=1e-9)
    assert len(np.unique(np.round(np.abs(eq[0]), 9), axis=0)) == 24  # 24 distinct frames
    s, q = align_frames(quats / np.linalg.norm(quats, axis=1, keepdims=True), moved_s, moved_q)
    assert np.allclose(s, scales, atol=1e-6)


@pytest.mark.parametrize("bits", [2, 5, 8, 10])
def test_mrp_round_trip_within_half_a_step(bits):
    scales, quats = _random(3000, seed=bits)
    _, q = canonical_frame(scales, quats)
    ints = mrp_to_int(q, bits)
    assert ints.min() >= 0 and ints.max() <= (1 << bits) - 1
    out = np.zeros((len(q) + 2, 4), np.float32)
    rows = np.arange(1, len(q) + 1)
    quats_from_mrp(*ints.T, np.full(len(q), bits), out=out, rows=rows)
    assert not out[0].any() and not out[-1].any()  # other rows untouched
    dec = out[rows].astype(np.float64)
    assert np.allclose(np.linalg.norm(dec, axis=1), 1, atol=1e-6)
    mrp = lambda a: a[:, 1:] / (1 + a[:, :1])  # noqa: E731
    assert np.abs(mrp(dec) - mrp(q.astype(np.float64))).max() <= MRP_LIMIT / ((1 << bits) - 1) + 1e-6


def test_mrp_decoding_matches_a_plain_formula_bit_for_bit():
    """The vectorized decoder equals one-Gaussian-at-a-time float64 arithmetic in the documented
    order (what the JavaScript decoder computes)."""
    rng = np.random.default_rng(3)
    bits = rng.integers(1, 11, 500)
    ints = rng.integers(0, 1 << 10, (500, 3)) % (1 << bits)[:, None]
    out = np.zeros((500, 4), np.float32)
    quats_from_mrp(*ints.T, bits, out=out, rows=np.arange(500))
    for i in range(500):
        lv = float(max((1 << int(bits[i])) - 1, 1))
        s = [(float(c) / lv * 2.0 - 1.0) * MRP_LIMIT for c in ints[i]]
        big = (s[0] * s[0] + s[1] * s[1]) + s[2] * s[2]
        want = np.array([(1.0 - big) / (1.0 + big)] + [2.0 * v / (1.0 + big) for v in s], np.float32)
        assert np.array_equal(out[i], want)


def test_codec_reframes_by_default_and_keeps_the_input_frame_on_request():
    rng = np.random.default_rng(5)
    n = 2000
    scene = GaussianScene(rng.normal(size=(n, 3)), rng.uniform(-5, -1, (n, 3)), rng.normal(size=(n, 4)),
                          rng.normal(size=n), rng.normal(size=(n, 3)))
    for reframe in (True, False):
        codec = SceneCodec(quality=3, reframe=reframe)
        data = codec.encode(scene)
        dec, orig = codec.decode(data), scene.subset(codec.last_order)
        assert unpack(data).header["frame"] == int(reframe)
        assert ("rot_index" in dict(unpack(data).sections)) != reframe
        assert (np.diff(dec.log_scales, axis=1) <= 0).all() == reframe
        if not reframe:  # the input's axes: each decoded log-scale is its own axis's
            assert np.abs(dec.log_scales - orig.log_scales).max() <= 1 / 48 + 1e-5
        errors = attribute_errors(orig, dec)  # aligns the decoded frames to the input's either way
        assert errors["log_scales"]["max"] <= 1 / 48 + 1e-5 and errors["quats"]["mean"] < 0.02
        rel = np.linalg.norm(_covariances(dec.log_scales, dec.quats) - _covariances(orig.log_scales, orig.quats),
                             axis=(1, 2)) / np.exp(2 * orig.log_scales.max(1))
        assert np.percentile(rel, 99) < 0.2


def test_colour_contexts_are_used_where_they_pay_and_decode_within_bounds():
    """Format 5 conditions r - g on g and b - g on r - g when that makes the file smaller
    (clustered colours, as real objects have), and keeps per-class tables where it does not
    (independent random channels); both decode to the same quantized colours."""
    rng = np.random.default_rng(6)
    n = 6000
    base = GaussianScene(rng.normal(size=(n, 3)), rng.uniform(-5, -1, (n, 3)), rng.normal(size=(n, 4)),
                         rng.normal(size=n), rng.normal(size=(n, 3)))
    for scene, want in ((clustered_colours(base, seed=1), 1), (base, 0)):
        codec = SceneCodec(quality=1)
        data = codec.encode(scene)
        assert unpack(data).header["color_contexts"] == want
        dec, orig = codec.decode(data), scene.subset(codec.last_order)
        err = np.abs(dec.sh_dc - orig.sh_dc).max()
        assert err <= PRESETS[1].color_step * (1 << PRESETS[1].relax_color) / 2 + 1e-5
