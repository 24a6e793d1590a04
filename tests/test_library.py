"""The library as the README shows it (issue 19): paths as input, lazy subpackages after `import codec`."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from codec.errors import InvalidInputError


@pytest.fixture
def png(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(path)
    return path


def test_encode_accepts_a_str_or_path(tiny_weights, png):
    from codec.image.codec import ImageCodec

    enc = ImageCodec(weights_dir=tiny_weights)
    expected = enc.encode(Image.open(png))
    assert enc.encode(str(png)) == expected
    assert enc.encode(png) == expected
    with pytest.raises(InvalidInputError, match="no such file"):
        enc.encode(str(png.with_name("missing.png")))


def test_readme_library_snippet_in_a_fresh_interpreter(run_snippet, tiny_weights, png):
    out = run_snippet("""
        import sys
        import codec
        assert "torch" not in sys.modules, "import codec must stay light"
        enc = codec.ImageCodec(quality=3)
        data = enc.encode(sys.argv[1])
        low = codec.image.codec.reduce_quality(data, 2)
        print(enc.decode(low).size, codec.scene.read.__module__, codec.stream.StreamReader.__name__)
    """, args=[str(png)], env={"GMCODEC_WEIGHTS": str(tiny_weights)})
    assert out.decode().split() == ["(56,", "40)", "codec.scene.io", "StreamReader"]


def test_unknown_attribute_is_still_an_attribute_error():
    import codec

    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        codec.nothing
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        codec.image.nothing
