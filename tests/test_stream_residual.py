"""Delta frames: closed-loop exactness, gating, cheap static content, corrupt payloads."""

from __future__ import annotations

import numpy as np
import pytest

from codec.errors import CodecError, CorruptDataError
from codec.scene.data import GaussianScene
from codec.stream.generator import moving_sequence, random_scene
from codec.stream.residual import (
    GROUPS,
    DeltaState,
    ResidualConfig,
    decode_delta,
    encode_delta,
    group_arrays,
    initial_anchor,
)

CFG = ResidualConfig(pos_step=1e-3)


def _same(a: GaussianScene, b: GaussianScene) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values()))


def _run(frames, cfg=CFG):
    """Encode frames[1:] against frames[0] as reference; decode alongside; return payloads."""
    ref = dref = frames[0]
    anchor, prev, dprev = initial_anchor(frames[0]), DeltaState.initial(len(ref)), DeltaState.initial(len(ref))
    out = []
    for cur in frames[1:]:
        res = encode_delta(ref, cur, anchor, prev, cfg)
        dec, dstate = decode_delta(res.payload, dref, dprev)
        assert _same(dec, res.recon), "decoder output differs from the encoder's reconstruction"
        assert np.array_equal(dstate.changed, res.changed)
        assert dstate.q.keys() == res.state.q.keys()
        assert all(np.array_equal(a, b) for k in dstate.q for a, b in zip(dstate.q[k], res.state.q[k]))
        out.append(res)
        ref, anchor, prev, dref, dprev = res.recon, res.anchor, res.state, dec, dstate
    return out


def test_closed_loop_round_trip_exact_and_bounded():
    base = random_scene(3000, seed=1, sh_degree=1)
    frames = moving_sequence(base, 8, moving_fraction=0.2, amplitude=0.2, seed=3)
    results = _run(frames)
    for res, cur in zip(results, frames[1:]):
        # every position within gate + half a step of the source: no drift over the group
        assert np.abs(res.recon.means - cur.means).max() <= 1.5 * CFG.pos_step + 1e-6
        q, c = res.recon.quats.astype(np.float64), cur.quats.astype(np.float64)
        err = np.minimum(np.abs(q - c).max(1), np.abs(q + c).max(1))
        assert err.max() < 4 * CFG.quat_step


def test_static_frame_costs_almost_nothing():
    base = random_scene(5000, seed=2)
    res = _run([base, base, base])
    for r in res:
        assert not r.changed.any()
        assert len(r.payload) < 64


def test_gating_sends_only_moved_gaussians():
    base = random_scene(4000, seed=4)
    means = base.means.copy()
    moved = np.arange(0, 4000, 10)
    means[moved] += 0.05  # far beyond the gate
    tiny = np.arange(5, 4000, 10)
    means[tiny] += 0.3 * CFG.pos_step  # under the gate: not sent
    cur = GaussianScene(means, base.log_scales, base.quats, base.opacity_logits, base.sh_dc, base.sh_rest)
    (res,) = _run([base, cur])
    assert np.array_equal(np.flatnonzero(res.changed), moved)
    assert len(res.payload) < 40 * len(moved)


def test_lossy_keyframe_errors_are_not_recoded():
    """Static Gaussians whose reference differs from the source (a lossy keyframe) cost nothing."""
    base = random_scene(2000, seed=5)
    rng = np.random.default_rng(0)
    noisy = GaussianScene(base.means + rng.normal(0, 2e-3, base.means.shape), base.log_scales + 0.01,
                          base.quats, base.opacity_logits, base.sh_dc + 0.003, base.sh_rest)
    anchor = initial_anchor(base)
    res = encode_delta(noisy, base, anchor, DeltaState.initial(len(base)), CFG)
    assert not res.changed.any()


def test_quaternion_sign_flip_is_free():
    base = random_scene(1000, seed=6)
    flipped = GaussianScene(base.means, base.log_scales, -base.quats, base.opacity_logits, base.sh_dc)
    (res,) = _run([base, flipped])
    assert not res.changed.any()


def test_every_attribute_group_round_trips():
    base = random_scene(500, seed=7, sh_degree=2)
    rng = np.random.default_rng(1)
    arrays = {k: v.copy() for k, v in base.arrays().items()}
    for name in arrays:
        arrays[name][::7] += rng.normal(0, 0.1, arrays[name][::7].shape).astype(np.float32)
    cur = GaussianScene(**arrays)
    (res,) = _run([base, cur])
    got = group_arrays(res.recon)
    for name, step in zip(GROUPS, CFG.steps()):
        src = group_arrays(cur)[name]
        assert np.abs(got[name] - src).max() <= (1.5 * step if name == "pos" else 0.6 * step + 2e-3), name


def test_for_quality_matches_presets():
    with pytest.raises(CodecError):
        ResidualConfig.for_quality(9, 1.0)
    fine, coarse = ResidualConfig.for_quality(5, 2.0), ResidualConfig.for_quality(1, 2.0)
    assert fine.pos_step < coarse.pos_step


def test_corrupt_payloads_raise_codec_errors_only():
    base = random_scene(800, seed=8)
    frames = moving_sequence(base, 3, moving_fraction=0.3, amplitude=0.1, seed=1)
    first, res = _run(frames)
    ref, prev = first.recon, first.state
    payload = res.payload
    rng = np.random.default_rng(0)
    for cut in sorted(set(rng.integers(0, len(payload), 60).tolist()) | {0, 1, 5, len(payload) - 1}):
        with pytest.raises(CodecError):
            decode_delta(payload[:cut], ref, prev)
    for pos in rng.integers(0, len(payload), 150).tolist():
        bad = bytearray(payload)
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        try:
            frame, _ = decode_delta(bytes(bad), ref, prev)
        except CodecError:
            continue
        assert np.isfinite(frame.means).all()  # undetected flips still give a valid scene
    with pytest.raises(CorruptDataError):
        decode_delta(payload, random_scene(799), DeltaState.initial(799))


GOLDEN_DELTA_SHA256 = "7929435b8522077cdbda80a74865938708611ed472464afd0e9cb7d5a021d508"


def test_golden_delta_bytes():
    """The delta bitstream is pinned; rerun with GMC_UPDATE_GOLDEN=1 after an intended change."""
    import hashlib
    import os
    import re
    from pathlib import Path

    frames = moving_sequence(random_scene(2000, seed=21, sh_degree=1), 4, moving_fraction=0.2, amplitude=0.1, seed=5)
    digest = hashlib.sha256(b"".join(r.payload for r in _run(frames))).hexdigest()
    if os.environ.get("GMC_UPDATE_GOLDEN") == "1":
        src = Path(__file__).read_text()
        Path(__file__).write_text(re.sub(r'^GOLDEN_DELTA_SHA256 = .*$', f'GOLDEN_DELTA_SHA256 = "{digest}"', src,
                                         count=1, flags=re.M))
        return
    assert digest == GOLDEN_DELTA_SHA256, "delta bitstream changed; if intended, rerun with GMC_UPDATE_GOLDEN=1"
