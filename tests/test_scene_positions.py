"""Scene positions (format 5): every coarse cell size decodes, the encoder keeps the smallest, and
a smaller cell never gives a Gaussian a coarser step."""

import numpy as np
import pytest

from codec.scene.positions import LEVEL_CHOICES, REFINE, decode_positions, encode_positions, median3, refine_table
from codec.scene.presets import get_preset
from codec.scene.quantize import positions_to_int

STEP = 1e-3


@pytest.fixture(scope="module")
def grid():
    """Morton-free but sorted fine-grid positions of clustered points, with quantized log-scales
    from tiny (full refinement) to large (none)."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 2, (40, 3))
    means = centres[rng.integers(0, 40, 4000)] + rng.normal(0, 0.01, (4000, 3))
    q = positions_to_int(means - means.min(0), np.zeros(3), STEP)
    order = np.lexsort(q.T[::-1])
    scales = rng.integers(-60, 0, (4000, 3))  # log-scale steps of 1/12
    return means[order] - means.min(0), q[order], median3(*scales[order].T)


def _decode(fields, sections, mid, n):
    parts = dict(sections)
    return decode_positions(fields, parts.__getitem__, n, fields["refine_levels"], mid, np.zeros(n, np.int64),
                            np.zeros(3), STEP)


def test_every_cell_size_round_trips_and_finer_cells_are_never_worse(grid):
    means, q, mid = grid
    preset, relax = get_preset(2), np.zeros(len(q), np.int64)
    errors = {}
    for levels in LEVEL_CHOICES:
        fields, sections = encode_positions(q, mid, relax, preset, STEP, 1 / 12, 0.0, choices=(levels,))
        assert fields["refine_levels"] == levels
        dec = _decode(fields, sections, mid, len(q))
        errors[levels] = np.abs(dec - means).max(axis=1)
        assert (errors[levels] <= STEP / 2 + np.maximum(STEP / 2, preset.pos_rel / 2 * np.exp(mid / 12)) + 1e-6).all()
    # a smaller cell never gives a Gaussian a coarser step: every error stays within half of its
    # step at L = 6 (plus the fine grid's rounding)
    r6 = refine_table(int(mid.min()), int(mid.max()) + 1, preset, STEP, 1 / 12, 0.0)[mid - mid.min()]
    half_step6 = STEP * (1 << REFINE) / (1 << r6.astype(np.int64)) / 2
    for levels in LEVEL_CHOICES:
        assert (errors[levels] <= half_step6 + STEP / 2 + 1e-6).all()
    assert errors[2].mean() < errors[REFINE].mean()  # and on average they get more precise


def test_the_encoder_keeps_the_smallest_cell_size(grid):
    means, q, mid = grid
    preset, relax = get_preset(2), np.zeros(len(q), np.int64)

    def size(levels):
        fields, sections = encode_positions(q, mid, relax, preset, STEP, 1 / 12, 0.0, choices=(levels,))
        return sum(len(b) for _, b in sections) + len(fields["refine_lut"])

    fields, sections = encode_positions(q, mid, relax, preset, STEP, 1 / 12, 0.0)
    sizes = {levels: size(levels) for levels in LEVEL_CHOICES}
    assert fields["refine_levels"] == min(sizes, key=sizes.get)
    assert np.abs(_decode(fields, sections, mid, len(q)) - means).max() < 0.05
