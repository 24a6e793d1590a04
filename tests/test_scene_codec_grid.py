"""Scene format 2 and on: steps in the header, the input's own grid recognised, SH coded per
band; format 1, 2 and 3 files still decode."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from codec.scene import GaussianScene, SceneCodec
from codec.scene.codec import color_relax
from codec.scene.frame import canonical_scene
from codec.scene.presets import get_preset
from codec.scene.quantize import fixed_point_step, grid_of

FIXTURE = Path(__file__).parent / "scene_fixtures" / "v1_sh1.gsz"
FIXTURE_V2 = Path(__file__).parent / "scene_fixtures" / "v2_sh3.gsz"


def test_format_1_file_still_decodes():
    """Written by the format-1 encoder (commit 8167e96: 300 Gaussians, SH degree 1, quality 3);
    the hash is of that decoder's output arrays."""
    d = SceneCodec.decode_bytes(FIXTURE.read_bytes())
    assert len(d) == 300 and d.sh_degree == 1
    h = hashlib.sha256(b"".join(a.tobytes() for a in d.arrays().values())).hexdigest()
    assert h == "e4ba0d42b8070176d753c29e8e06cf58c2cbe432bf937ffdcb95dc0d083f0148"


def test_format_2_file_still_decodes():
    """Written by the format-2 encoder (commit 3dca33f: 400 Gaussians of
    ``codec.stream.generator.random_scene(400, seed=11, sh_degree=2)``, quality 1, so its colour
    steps follow the opacity classes); the hash is of that decoder's output arrays."""
    d = SceneCodec.decode_bytes((Path(__file__).parent / "scene_fixtures" / "v2_q1_sh2.gsz").read_bytes())
    assert len(d) == 400 and d.sh_degree == 2
    h = hashlib.sha256(b"".join(a.tobytes() for a in d.arrays().values())).hexdigest()
    assert h == "07ec53ffc514d9cc4cc42573497ffad87c041efef30f5872e2e371cbe5b555cb"


def test_format_2_sh3_file_decodes_to_pinned_arrays():
    """Written at commit 3dca33f (5,000 Gaussians, SH degree 3, quality 3): band 1 channel by
    channel in table mode, band 2 as RGB triples in adaptive mode, band 3 as triples in table
    mode; the hash is of that commit's decoder output, so decoder speed-ups keep every float."""
    d = SceneCodec.decode_bytes(FIXTURE_V2.read_bytes())
    assert len(d) == 5000 and d.sh_degree == 3
    h = hashlib.sha256(b"".join(a.tobytes() for a in d.arrays().values())).hexdigest()
    assert h == "567fc0f260ea5560f6a7c94d2a894731bf17ff4e3a035e94dfe9dd58c3fff770"


def test_format_3_sh3_file_decodes_to_pinned_arrays():
    """Written at commit c71c315 (format 3: ``web_fixtures.sparse_sh_scene(3000, seed=5)``,
    quality 3, SH bands without flags); the hash is of that commit's decoder output, so format 4's
    SH decoder still gives format 3 files their floats."""
    d = SceneCodec.decode_bytes((Path(__file__).parent / "scene_fixtures" / "v3_sparse_sh3.gsz").read_bytes())
    assert len(d) == 3000 and d.sh_degree == 3
    h = hashlib.sha256(b"".join(a.tobytes() for a in d.arrays().values())).hexdigest()
    assert h == "e88888f8a04542d9056d389221f22fba062316595487c99dc47c1d40aef4683c"


def test_format_4_file_decodes_to_pinned_arrays():
    """Written at commit ac4a6c2 (format 4: ``web_fixtures.sparse_sh_scene(3000, seed=6)``,
    quality 2, the input's frame with smallest-three rotations); the hash is of that commit's
    decoder output, so format 5's canonical frame leaves format 4 files their floats."""
    d = SceneCodec.decode_bytes((Path(__file__).parent / "scene_fixtures" / "v4_q2_sh3.gsz").read_bytes())
    assert len(d) == 3000 and d.sh_degree == 3
    h = hashlib.sha256(b"".join(a.tobytes() for a in d.arrays().values())).hexdigest()
    assert h == "212d2759397039edbdd42999dcddb8e920f6cac6b5dcf5ef2c5d1dc9f6b5a317"


def test_grid_recognition():
    rng = np.random.default_rng(0)
    on = (rng.integers(0, 256, 5000) - 127.5) / 38.25  # SPZ's colour grid (offset half a step)
    step, off = grid_of(on.astype(np.float32), 0.035)
    assert step == pytest.approx(1 / 38.25, rel=1e-6) and off == pytest.approx(0.5 / 38.25, rel=1e-4)
    assert grid_of(rng.normal(size=5000), 0.035) == (0.035, 0.0)  # float data: the nominal step
    coarse = rng.integers(-3, 4, 5000) / 4.0
    assert grid_of(coarse, 0.3) == (0.25, 0.0)  # the grid, finer than the step
    assert grid_of(coarse, 0.6) == (0.6, 0.0)  # a grid under half the step: the nominal step
    assert fixed_point_step(rng.integers(-9000, 9000, 100) / 4096) == 2.0 ** -12
    assert fixed_point_step(rng.normal(size=100)) is None


def _spz_like(n=3000, seed=1):
    """Attributes on SPZ's grids: 12-bit fixed-point means, log-scales in 1/16, colours in
    1/38.25 (offset), opacity in 1/255, SH band 1 in 1/16, bands 2-3 in 1/8."""
    rng = np.random.default_rng(seed)
    means = rng.integers(-4000, 4000, (n, 3)) / 4096.0
    log_scales = rng.integers(-100, -40, (n, 3)) / 16.0
    dc = (rng.integers(60, 200, (n, 3)) - 127.5) / 38.25
    alpha = rng.integers(1, 255, n) / 255.0
    rest = np.zeros((n, 15, 3))
    rest[:, :3] = np.round(rng.normal(0, 0.1, (n, 3, 3)) * 16) / 16
    rest[:, 3:] = np.round(rng.normal(0, 0.06, (n, 12, 3)) * 8) / 8
    return GaussianScene(means, log_scales, rng.normal(size=(n, 4)), np.log(alpha / (1 - alpha)), dc, rest)


@pytest.mark.parametrize("quality", [1, 3])
def test_input_on_a_grid_is_kept_exactly(quality):
    s = _spz_like()
    codec = SceneCodec(quality=quality)
    d = codec.decode(codec.encode(s))
    o = canonical_scene(s.subset(codec.last_order))  # axes sorted: the same values, permuted
    assert np.abs(d.sh_rest - o.sh_rest).max() < 1e-5  # grids 1/16 and 1/8 >= every SH step used here
    p = get_preset(quality)
    if quality == 1:  # log-scale step 1/6 is over twice the grid 1/16: the preset's own, its bound
        assert np.abs(d.log_scales - o.log_scales).max() <= p.scale_step / 2 + 1e-6
    else:  # steps 1/24 and 0.035 are finer than the grids 1/16 and 1/38.25: exact
        assert np.abs(d.log_scales - o.log_scales).max() < 1e-5
        small = np.median(o.log_scales, axis=1) < -4.5  # fully refined positions
        assert np.abs(d.means[small] - o.means[small]).max() < 1e-6
    # f_dc: both presets' steps are under twice the grid 1/38.25, so the grid times the importance
    # factor f, exact where f = 1; quality 3's step is under half the grid, so its colours are
    # exact (color_relax); the preset's worst case step x 2^relax_color / 2 holds for both
    err = np.abs(d.sh_dc - o.sh_dc).max(axis=1)
    assert err.max() <= p.color_step * (1 << p.relax_color) / 2 + 1e-5
    assert err.max() <= (1 << color_relax(p, 1 / 38.25)) / 38.25 / 2 + 1e-5
    assert (err < 1e-5).mean() >= p.keep * 0.9


def test_colour_relaxation_is_capped_on_a_coarser_input_grid():
    p = get_preset(3)  # f_dc step 0.0125, relax_color 3
    assert color_relax(p, p.color_step) == 3 and color_relax(p, 0.9 * p.color_step) == 3
    assert color_relax(p, 0.014) == 2  # up to twice the step: one factor of 2 fewer
    assert color_relax(p, 1 / 38.25) == 0  # 2.09x the step: exact colours
    assert color_relax(p, 100.0) == 0
    for g in (0.0125, 0.013, 0.02, 0.026, 0.05, 0.1):
        assert g * (1 << color_relax(p, g)) <= max(p.color_step * (1 << p.relax_color), g) + 1e-12


def test_float_sh_within_the_step_both_symbol_layouts():
    """Narrow SH (joint RGB symbols) and wide SH (a symbol per channel) stay within half a step."""
    rng = np.random.default_rng(2)
    n = 2000
    for spread in (0.05, 2.0):
        rest = rng.normal(0, spread, (n, 8, 3))
        s = GaussianScene(rng.normal(size=(n, 3)), np.full((n, 3), -3.0), rng.normal(size=(n, 4)), rng.normal(0, 1, n),
                          rng.normal(size=(n, 3)), rest)
        codec = SceneCodec(quality=3)
        d = codec.decode(codec.encode(s))
        err = np.abs(d.sh_rest - s.sh_rest[codec.last_order]).max()
        assert err <= get_preset(3).sh_step / 2 + 1e-5


def test_far_shell_does_not_coarsen_the_position_grid():
    """10 % of the Gaussians on a shell at radius 200 around an object of radius ~0.5: the grid
    step follows the object (at most 8 times its bulk's extent / 2^pos_bits), not the shell."""
    from codec.scene.codec import quantization_grid

    rng = np.random.default_rng(4)
    shell = rng.normal(size=(100, 3))
    means = np.vstack([rng.uniform(-0.5, 0.5, (900, 3)), 200 * shell / np.linalg.norm(shell, axis=1, keepdims=True)])
    n = len(means)
    s = GaussianScene(means, np.full((n, 3), -4.0), np.tile([1.0, 0, 0, 0], (n, 1)), np.zeros(n), np.zeros((n, 3)))
    _, step = quantization_grid(s, get_preset(1))
    assert step <= 8 * 1.0 / 2 ** get_preset(1).pos_bits
    codec = SceneCodec(quality=1)
    d = codec.decode(codec.encode(s))
    orig = s.means[codec.last_order]
    inner = np.linalg.norm(orig, axis=1) < 1
    assert np.abs(d.means[inner] - orig[inner]).max() < 0.01  # the shell's extent / 2^12 would be 0.1
