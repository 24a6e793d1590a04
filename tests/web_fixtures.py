"""Fixture files for the JavaScript decoder tests (``tests/js/*.test.mjs``), written by the
Python encoder, with the Python decoder's output beside each one.

``write_fixtures(folder)`` writes ``manifest.json`` and, per case, the coded file and one
``.f32`` file per decoded frame: the frame's float32 attributes back to back (means, log_scales,
quats, opacity_logits, sh_dc, sh_rest, each C-order), so the JS side compares bits. Damaged
cases (one byte changed, checksums recomputed so the damage reaches the entropy decoder) record
either the Python decoder's output or ``"error"``; the JS decoder must agree.

``python tests/web_fixtures.py FOLDER`` does the same from the command line (the node tests run
it themselves when ``GMC_FIXTURES`` is not set).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from anywhere: import the checkout's packages
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codec.container import Container, pack, unpack  # noqa: E402
from codec.errors import CodecError  # noqa: E402
from codec.scene.codec import SceneCodec  # noqa: E402
from codec.scene.data import GaussianScene  # noqa: E402
from codec.stream import StreamReader, encode_frames  # noqa: E402
from codec.stream.format import RECORD_HEADER_SIZE, TYPE_DELTA, pack_record, parse_record_header  # noqa: E402
from codec.stream.generator import moving_sequence, random_scene  # noqa: E402
from codec.stream.reader import decode_record, scan_file  # noqa: E402
from codec.stream.residual import DeltaState  # noqa: E402

__all__ = ["write_fixtures", "scene_floats", "sparse_sh_scene"]

# (name, quality, sh degree, Gaussians): every preset, every SH degree, one scene past the
# adaptive-coding limit (2**15 symbols) so the stored-table path is taken too (with clustered
# colours: format 5's colour contexts), one whose
# attributes sit on grids of their own (_on_grids), and one in the input's frame (a stream's
# keyframe: format 5 with frame 0, smallest-three rotations)
SCENES = [("q1_sh0", 1, 0, 2500), ("q2_sh1", 2, 1, 2500), ("q3_sh3", 3, 3, 2000), ("q4_sh2", 4, 2, 2500),
          ("q5_sh0", 5, 0, 2500), ("q3_large", 3, 0, 40000), ("q3_grid_sh2", 3, 2, 2500),
          ("q3_sparse_sh3", 3, 3, 6000), ("q2_inputframe_sh1", 2, 1, 2500)]
# written by formats 1 to 4 (format 2: commit 3dca33f, 400 Gaussians, quality 1, SH degree 2;
# format 3: sparse_sh_scene(3000, seed=5) at quality 3, commit c71c315; format 4:
# sparse_sh_scene(3000, seed=6) at quality 2, commit ac4a6c2)
OLD_SCENES = [Path(__file__).resolve().parent / "scene_fixtures" / name
              for name in ("v1_sh1.gsz", "v2_q1_sh2.gsz", "v3_sparse_sh3.gsz", "v4_q2_sh3.gsz")]


def scene_floats(scene: GaussianScene) -> bytes:
    """The decoded attributes as the JS decoder lays them out (float32, little-endian)."""
    parts = (scene.means, scene.log_scales, scene.quats, scene.opacity_logits, scene.sh_dc, scene.sh_rest)
    return b"".join(np.ascontiguousarray(p, "<f4").tobytes() for p in parts)


def _outliers(scene: GaussianScene) -> GaussianScene:
    """``scene`` with a few far-away Gaussians, so position deltas take the escape path."""
    means = scene.means.copy()
    means[::500] *= 40.0
    return GaussianScene(means, scene.log_scales, scene.quats, scene.opacity_logits, scene.sh_dc, scene.sh_rest)


def _on_grids(scene: GaussianScene) -> GaussianScene:
    """``scene`` with its attributes on offset grids, as a quantized source (SPZ) stores them, so
    format 2 codes on the input's grid (nonzero offsets in the header) and SH band 1 has few
    enough levels for the joint RGB symbol (band 2 too many)."""
    def grid(x, g, off, top):
        return (np.clip(np.round((x - off) / g), -top, top) * g + off).astype(np.float32)

    rest = scene.sh_rest.copy()
    rest[:, :3] = grid(rest[:, :3], 0.05, 0.013, 8)
    rest[:, 3:] = grid(rest[:, 3:], 0.03, 0.011, 15)
    return GaussianScene(np.round(scene.means * 1024) / 1024, grid(scene.log_scales, 0.03, 0.011, 400),
                         scene.quats, scene.opacity_logits, grid(scene.sh_dc, 0.02, 0.007, 200), rest)


def clustered_colours(scene: GaussianScene, seed: int = 0) -> GaussianScene:
    """``scene`` with DC colours drawn around a few palette colours (as a real object's are), so
    format 5's colour contexts (r - g given g, b - g given r - g) pay for their tables."""
    rng = np.random.default_rng(seed)
    palette = rng.normal(0, 1.2, (6, 3))
    dc = palette[rng.integers(0, len(palette), len(scene))] + rng.normal(0, 0.08, (len(scene), 3))
    return GaussianScene(scene.means, scene.log_scales, scene.quats, scene.opacity_logits, dc, scene.sh_rest)


def sparse_sh_scene(n: int, seed: int) -> GaussianScene:
    """A scene of ``n`` Gaussians with SH degree 3 on SPZ-like grids (band 1 step 1/16, bands 2
    and 3 step 1/8) whose bands are all zero for about 10, 40 and 60 % of the Gaussians (a zero
    band mostly followed by zero bands), as in tap: format 4 flags every band."""
    scene = random_scene(n, seed=seed, sh_degree=3)
    rng = np.random.default_rng(seed)
    rest = np.empty((n, 15, 3), np.float32)
    u = rng.random(n)
    for (c0, c1), g, share in (((0, 3), 1 / 16, 0.1), ((3, 8), 1 / 8, 0.4), ((8, 15), 1 / 8, 0.6)):
        q = np.clip(np.round(rng.laplace(0, 0.12, (n, c1 - c0, 3)) / g), -9, 9)
        q[u < share] = 0
        rest[:, c0:c1] = q * g
    return GaussianScene(scene.means, scene.log_scales, scene.quats, scene.opacity_logits, scene.sh_dc, rest)


def _damaged_scenes(data: bytes, count: int, seed: int):
    """Variants of a scene file with one payload byte changed and every CRC recomputed."""
    c = unpack(data, "scene")
    rng = np.random.default_rng(seed)
    names = [n for n, p in c.sections if len(p)]
    for _ in range(count):
        name = names[int(rng.integers(len(names)))]
        sections = []
        for n, p in c.sections:
            if n == name:
                b = bytearray(p)
                b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
                p = bytes(b)
            sections.append((n, p))
        yield name, pack(Container("scene", c.header, tuple(sections), c.version))


def _try(fn):
    try:
        return fn()
    except CodecError:
        return None


def _damaged_case(folder: Path, stem: str, label: str, data: bytes) -> dict:
    """Write a damaged scene file and the Python decoder's answer (its floats, or none for an error)."""
    out = _try(lambda: SceneCodec.decode_bytes(data))
    (folder / f"{stem}.gsz").write_bytes(data)
    expected = None
    if out is not None:
        expected = f"{stem}.f32"
        (folder / expected).write_bytes(scene_floats(out))
    return {"kind": "damaged-scene", "name": label, "file": f"{stem}.gsz", "expected": expected}


def write_fixtures(folder: Path) -> dict:
    """Write every case into ``folder``; returns the manifest (also ``manifest.json``)."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, quality, degree, n in SCENES:
        scene = random_scene(n, seed=quality, sh_degree=degree)
        if name == "q1_sh0":
            scene = _outliers(scene)
        elif name == "q3_grid_sh2":
            scene = _on_grids(scene)
        elif name == "q3_sparse_sh3":
            scene = sparse_sh_scene(n, seed=quality)
        elif name == "q3_large":
            scene = clustered_colours(scene, seed=quality)
        data = SceneCodec(quality=quality, reframe="inputframe" not in name).encode(scene)
        (folder / f"{name}.gsz").write_bytes(data)
        (folder / f"{name}.f32").write_bytes(scene_floats(SceneCodec.decode_bytes(data)))
        cases.append({"kind": "scene", "name": name, "file": f"{name}.gsz", "expected": [f"{name}.f32"]})
    # scene format 1 to 3 files (1: preset steps, k-means SH codebook; 2: opacity classes; 3: no SH
    # band flags), which must still decode
    for path in OLD_SCENES:
        data = path.read_bytes()
        (folder / path.name).write_bytes(data)
        (folder / f"{path.stem}.f32").write_bytes(scene_floats(SceneCodec.decode_bytes(data)))
        cases.append({"kind": "scene", "name": path.stem, "file": path.name, "expected": [f"{path.stem}.f32"]})
    # damaged scenes: the Python decoder's answer (values or an error) is the expected one
    base = (folder / "q2_sh1.gsz").read_bytes()
    for i, (section, bad) in enumerate(_damaged_scenes(base, 24, seed=7)):
        cases.append(_damaged_case(folder, f"damaged_{i}", f"damaged_{i} ({section})", bad))
    # a format 4 SH 3 file with every band flagged: damaged payloads and changed flag fields
    sparse = (folder / "q3_sparse_sh3.gsz").read_bytes()
    c4 = unpack(sparse, "scene")
    assert all(c4.header[f"sh_{b}_flagged"] == 1 for b in (1, 2, 3))
    variants = [(f"sh flags: {s}", bad) for s, bad in _damaged_scenes(sparse, 12, seed=9)]
    for field, value in (("sh_1_flagged", 0), ("sh_3_flagged", 2), ("sh_2_zero", c4.header["sh_2_k"]),
                         ("sh_2_zero", 0), ("sh_2_flagged", 0)):
        variants.append((f"sh flags: {field}={value}",
                         pack(Container("scene", dict(c4.header, **{field: value}), c4.sections, c4.version))))
    cases += [_damaged_case(folder, f"damaged_sh_{i}", label, bad) for i, (label, bad) in enumerate(variants)]
    # format 3 headers that lie (tables too short, caps or bit depths out of range): Python errs, so must JS
    c = unpack(base, "scene")
    for i, (field, value) in enumerate((("importance_area", b"\x80"), ("importance_opacity", b"\x00" * 7),
                                        ("relax", b"\x04\x00\x00"), ("opacity_bits", 9), ("rot_bits", 11))):
        bad = pack(Container("scene", dict(c.header, **{field: value}), c.sections, c.version))
        assert _try(lambda: SceneCodec.decode_bytes(bad)) is None
        file = f"lying_header_{i}.gsz"
        (folder / file).write_bytes(bad)
        cases.append({"kind": "damaged-scene", "name": f"lying header ({field})", "file": file, "expected": None})
    # streams: keyframes and delta frames (motion, a jump that escapes, mask modes)
    for name, quality, degree, n, frames, gop in (("stream_q3", 3, 0, 4000, 9, 5), ("stream_q1_sh1", 1, 1, 3000, 6, 0)):
        seq = moving_sequence(random_scene(n, seed=11, sh_degree=degree), frames, moving_fraction=0.2, seed=3)
        if name == "stream_q3":  # a frame where some Gaussians jump far: residual escapes
            s = seq[6]
            means = s.means.copy()
            means[:40] += 0.9
            seq[6] = GaussianScene(means, s.log_scales, s.quats, s.opacity_logits, s.sh_dc, s.sh_rest)
        else:  # half of the Gaussians change colour at random: a dense mask (all N bits coded)
            s = seq[3]
            dc = s.sh_dc.copy()
            dc[np.random.default_rng(1).random(len(s)) < 0.5] += 0.3
            seq[3] = GaussianScene(s.means, s.log_scales, s.quats, s.opacity_logits, dc, s.sh_rest)
        path = folder / f"{name}.gss"
        encode_frames(seq, path, fps=30, gop=gop, quality=quality, force=True)
        expected = []
        with StreamReader(path) as r:
            for i, frame in enumerate(r):
                expected.append(f"{name}.{i}.f32")
                (folder / expected[-1]).write_bytes(scene_floats(frame))
        cases.append({"kind": "stream", "name": name, "file": path.name, "expected": expected})
    cases += _damaged_deltas(folder, folder / "stream_q3.gss")
    manifest = {"cases": cases}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def _damaged_deltas(folder: Path, path: Path) -> list[dict]:
    """Frame 1 (a delta) of a stream with one payload byte changed and its CRCs recomputed,
    as a keyframe record + damaged delta record; the expected answer is Python's."""
    data = path.read_bytes()
    _, entries, _ = scan_file(path)
    k, d = entries[0], entries[1]
    key_rec = data[k.offset:k.offset + k.record_size]
    head = parse_record_header(data, d.offset)
    assert head.type == TYPE_DELTA
    payload = data[d.offset + RECORD_HEADER_SIZE:d.offset + d.record_size]
    ref, state = decode_record(key_rec, k, SceneCodec(), None, None)
    rng = np.random.default_rng(5)
    cases = []
    for i in range(24):
        b = bytearray(payload)
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        rec = pack_record(TYPE_DELTA, 1, d.timestamp, bytes(b))
        out = _try(lambda: decode_record(rec, d, SceneCodec(), ref, state)[0])
        file = f"damaged_delta_{i}.bin"
        (folder / file).write_bytes(key_rec + rec)
        expected = None
        if out is not None:
            expected = f"damaged_delta_{i}.f32"
            (folder / expected).write_bytes(scene_floats(out))
        cases.append({"kind": "damaged-delta", "name": f"damaged_delta_{i}", "file": file, "expected": expected})
    return cases


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tests/web_fixtures.py FOLDER")
    write_fixtures(Path(sys.argv[1]))
