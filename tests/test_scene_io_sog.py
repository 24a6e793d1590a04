"""SOG v2: decode a bundle written here with Pillow (lossless WebP), SH palette, malformed bundles."""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from codec.errors import CodecError
from codec.scene.io_sog import read_sog, read_sog_bytes


def _webp(rgba, w, h):
    img = np.zeros((w * h, 4), np.uint8)
    img[:len(rgba)] = rgba
    buf = io.BytesIO()
    Image.fromarray(img.reshape(h, w, 4), "RGBA").save(buf, format="WEBP", lossless=True)
    return buf.getvalue()


def _bundle(n=5, shn=False, meta_patch=None):
    u = np.array([0, 65535, 32768, 1, 40000][:n], np.int64)
    means_l = np.stack([u & 255] * 3 + [np.full(n, 255)], 1)
    means_u = np.stack([u >> 8] * 3 + [np.full(n, 255)], 1)
    quats = np.tile([128, 128, 128, 252], (n, 1))  # w largest, others 0
    scales = np.tile([0, 1, 2, 255], (n, 1))
    sh0 = np.tile([10, 20, 30, 200], (n, 1))
    meta = {"version": 2, "count": n, "means": {"mins": [-1, -1, -1], "maxs": [1, 1, 1],
                                                  "files": ["means_l.webp", "means_u.webp"]},
            "scales": {"codebook": list(np.linspace(-8, -1, 256)), "files": ["scales.webp"]},
            "quats": {"files": ["quats.webp"]}, "sh0": {"codebook": list(np.linspace(-2, 2, 256)),
                                                       "files": ["sh0.webp"]}}
    files = {"means_l.webp": _webp(means_l, n, 1), "means_u.webp": _webp(means_u, n, 1),
             "quats.webp": _webp(quats, n, 1), "scales.webp": _webp(scales, n, 1), "sh0.webp": _webp(sh0, n, 1)}
    if shn:
        cent = np.zeros((64 * 3, 4), np.uint8)
        cent[:, 3] = 255
        cent[3:6, :3] = 255  # centroid 1: all coefficients = codebook[255]
        labels = np.tile([1, 0, 0, 255], (n, 1))
        meta["shN"] = {"count": 2, "bands": 1, "codebook": list(np.linspace(-1, 1, 256)),
                       "files": ["shN_centroids.webp", "shN_labels.webp"]}
        files["shN_centroids.webp"] = _webp(cent, 64 * 3, 1)
        files["shN_labels.webp"] = _webp(labels, n, 1)
    if meta_patch:
        meta_patch(meta)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("meta.json", json.dumps(meta))
        for k, v in files.items():
            z.writestr(k, v)
    return buf.getvalue()


def test_decode_bundle():
    s = read_sog_bytes(_bundle())
    t = -1 + 2 * np.array([0, 65535, 32768, 1, 40000]) / 65535
    np.testing.assert_allclose(s.means[:, 0], np.sign(t) * np.expm1(np.abs(t)), atol=1e-5)
    np.testing.assert_allclose(s.quats, np.tile([1, 0, 0, 0], (5, 1)), atol=1e-2)
    np.testing.assert_allclose(s.log_scales[0], np.linspace(-8, -1, 256)[[0, 1, 2]], atol=1e-5)
    np.testing.assert_allclose(s.opacities, 200 / 255, atol=1e-4)


def test_sh_palette(tmp_path):
    p = tmp_path / "x.sog"
    p.write_bytes(_bundle(shn=True))
    s = read_sog(p)
    assert s.sh_degree == 1
    np.testing.assert_allclose(s.sh_rest, 1.0, atol=1e-6)


@pytest.mark.parametrize("data", [
    b"PK\x03\x04 not really a zip",
    _bundle(meta_patch=lambda m: m.update(version=1)),
    _bundle(meta_patch=lambda m: m.update(count=10 ** 6)),
    _bundle(meta_patch=lambda m: m["scales"].update(codebook=[0.0])),
    _bundle(meta_patch=lambda m: m.pop("quats")),
])
def test_malformed(data):
    with pytest.raises(CodecError):
        read_sog_bytes(data)
