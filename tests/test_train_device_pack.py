"""The training-image pack for a lent GPU machine: exact pixels, within its byte budget."""

from __future__ import annotations

import numpy as np
from PIL import Image

from train.device_pack import _spread, pack


def test_spread_is_a_permutation_whose_prefixes_cover_the_list():
    items = list(range(10))
    order = _spread(items)
    assert sorted(order) == items
    assert order[:2] == [0, 8] and max(order[:4]) - min(order[:4]) >= 6


def test_pack_keeps_pixels_and_budget(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "urban100-subset").mkdir()
    (tmp_path / "bsds500").mkdir()
    urban = rng.integers(0, 256, (80, 100, 3), dtype=np.uint8)
    Image.fromarray(urban).save(tmp_path / "urban100-subset" / "img_001.png")
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(tmp_path / "bsds500" / f"b{i}.jpg")
    jpeg = (tmp_path / "bsds500" / "b0.jpg").stat().st_size
    webp_budget = 80 * 100 * 3 + 4096  # random pixels do not compress
    files, total, left_out = pack(tmp_path, tmp_path / "out", webp_budget + 2 * jpeg + 100, crop=64)
    out = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert total <= webp_budget + 2 * jpeg + 100 and files == len(out) and "urban100-subset-img_001.webp" in out
    assert files + sum(left_out.values()) == 7
    with Image.open(tmp_path / "out" / "urban100-subset-img_001.webp") as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), urban[8:72, 18:82])
    assert (tmp_path / "out" / "b0.jpg").read_bytes() == (tmp_path / "bsds500" / "b0.jpg").read_bytes()
    # a Sun-Hays PNG comes after Urban100's and is what goes first when the budget is short
    (tmp_path / "sunhays80").mkdir()
    Image.fromarray(rng.integers(0, 256, (70, 70, 3), dtype=np.uint8)).save(tmp_path / "sunhays80" / "s.png")
    urban_bytes = (tmp_path / "out" / "urban100-subset-img_001.webp").stat().st_size
    files, total, left_out = pack(tmp_path, tmp_path / "out", urban_bytes + 100, crop=64)
    assert (files, total) == (1, urban_bytes) and left_out == {"sunhays80": 1, "bsds500": 6}
