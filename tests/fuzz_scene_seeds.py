"""Small valid 3D Gaussian scene files for the fuzzer, made with our writers or by hand.

PLY, .splat and SPZ v3 come from ``codec.scene``'s writers; SPZ v4 (zstd streams), PlayCanvas
compressed PLY and SOG have no writer here, so they are assembled byte by byte following the
layouts in the reader modules' docstrings.
"""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile

import numpy as np

__all__ = ["compressed_ply_seeds", "ply_seeds", "small_scene", "sog_seeds", "splat_seeds", "spz_seeds"]


def small_scene(n: int, degree: int, seed: int):
    from codec.scene.data import SH_COEFFS, GaussianScene

    rng = np.random.default_rng(seed)
    return GaussianScene(rng.normal(0, 2, (n, 3)), rng.normal(-3, 1, (n, 3)), rng.normal(size=(n, 4)),
                         rng.normal(0, 2, n), rng.normal(0, 1, (n, 3)),
                         rng.normal(0, 0.3, (n, SH_COEFFS[degree], 3)))


def ply_seeds() -> list[bytes]:
    from codec.scene.io_ply import write_inria_ply

    return [write_inria_ply(small_scene(5, 0, 6)), write_inria_ply(small_scene(3, 1, 7), normals=True)]


def _compressed_ply(n: int, seed: int, color_box: bool = True, sh: bool = True) -> bytes:
    """A PlayCanvas compressed PLY with ``n`` splats (random packed values), hand-built."""
    rng = np.random.default_rng(seed)
    chunks = (n + 255) // 256
    names = ["min_x", "min_y", "min_z", "max_x", "max_y", "max_z", "min_scale_x", "min_scale_y",
             "min_scale_z", "max_scale_x", "max_scale_y", "max_scale_z"]
    if color_box:
        names += ["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"]
    head = ["ply", "format binary_little_endian 1.0", f"element chunk {chunks}"]
    head += [f"property float {p}" for p in names]
    head += [f"element vertex {n}"] + [f"property uint {p}" for p in
                                       ("packed_position", "packed_rotation", "packed_scale", "packed_color")]
    if sh:
        head += [f"element sh {n}"] + [f"property uchar f_rest_{i}" for i in range(9)]
    head.append("end_header")
    box = np.empty((chunks, len(names)), "<f4")
    for i in range(0, len(names), 6):
        mins = rng.normal(0, 1, (chunks, 3)).astype("<f4")
        box[:, i:i + 3], box[:, i + 3:i + 6] = mins, mins + 1
    body = box.tobytes() + rng.integers(0, 1 << 32, (n, 4), dtype=np.uint64).astype("<u4").tobytes()
    if sh:
        body += rng.integers(0, 256, (n, 9), dtype=np.uint8).tobytes()
    return ("\n".join(head) + "\n").encode("ascii") + body


def compressed_ply_seeds() -> list[bytes]:
    return [_compressed_ply(5, 8), _compressed_ply(3, 9, color_box=False, sh=False)]


def splat_seeds() -> list[bytes]:
    from codec.scene.io_splat import write_splat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [write_splat(small_scene(4, 0, 10)), write_splat(small_scene(1, 1, 11))]


def _spz_v4(scene) -> bytes:
    """SPZ v4 (zstd streams) from our v3 writer's streams, hand-assembled."""
    import gzip

    import zstandard

    from codec.scene.io_spz import SPZ_MAGIC, _sizes, write_spz

    raw = gzip.decompress(write_spz(scene))
    n, degree = len(scene), scene.sh_degree
    sizes = _sizes(n, 4, degree)
    streams, off = [], 16
    for s in sizes:
        streams.append(raw[off:off + s])
        off += s
    streams = streams if degree else streams[:5]
    frames = [zstandard.ZstdCompressor().compress(s) for s in streams]
    head = struct.pack("<IIIBBBBI", SPZ_MAGIC, 4, n, degree, 12, 0, len(frames), 32).ljust(32, b"\0")
    toc = b"".join(struct.pack("<QQ", len(f), len(s)) for f, s in zip(frames, streams))
    return head + toc + b"".join(frames)


def spz_seeds() -> list[bytes]:
    from codec.scene.io_spz import write_spz

    seeds = [write_spz(small_scene(4, 0, 12)), write_spz(small_scene(3, 2, 13))]
    try:
        seeds.append(_spz_v4(small_scene(3, 1, 14)))
    except ImportError:  # zstandard is optional for our tests
        pass
    return seeds


def _webp(rgba: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="WEBP", lossless=True, exact=True)
    return buf.getvalue()


def _sog(n: int, seed: int, shn: bool) -> bytes:
    """A PlayCanvas SOG v2 bundle (zip of meta.json + lossless WebP), hand-built."""
    rng = np.random.default_rng(seed)
    w = 4
    h = max(1, -(-n // w))
    img = lambda: rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    quats = img()
    quats[..., 3] = 252 + rng.integers(0, 4, (h, w))
    files = {"means_l.webp": img(), "means_u.webp": img(), "quats.webp": quats,
             "scales.webp": img(), "sh0.webp": img()}
    cb = np.linspace(-5, 2, 256).round(4).tolist()
    meta = {"version": 2, "count": n, "means": {"mins": [-1, -1, -1], "maxs": [1, 1, 1],
                                                "files": ["means_l.webp", "means_u.webp"]},
            "scales": {"codebook": cb, "files": ["scales.webp"]}, "quats": {"files": ["quats.webp"]},
            "sh0": {"codebook": cb, "files": ["sh0.webp"]}}
    if shn:
        files["shN_centroids.webp"] = rng.integers(0, 256, (1, 64 * 3, 4), dtype=np.uint8)
        labels = img()
        labels[..., 1] = 0
        labels[..., 0] %= 40
        files["shN_labels.webp"] = labels
        meta["shN"] = {"count": 40, "bands": 1, "codebook": cb,
                       "files": ["shN_centroids.webp", "shN_labels.webp"]}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo("meta.json", (2020, 1, 1, 0, 0, 0)), json.dumps(meta))
        for name, arr in files.items():
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), _webp(arr))
    return out.getvalue()


def sog_seeds() -> list[bytes]:
    return [_sog(5, 15, shn=False), _sog(6, 16, shn=True)]
