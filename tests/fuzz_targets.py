"""Fuzz targets and a deterministic mutation engine, shared by the tests and ``benchmarks/fuzz.py``.

A :class:`Target` is one decoder entry point: ``run(data)`` feeds it one byte string, and
``seeds()`` returns small valid inputs written by our own encoders and writers. The contract
checked for every input is the one in ``docs/guarantees.md``: the decoder returns, or raises
one of ``target.expected`` (a :class:`codec.errors.CodecError`; ``entropy.EntropyError`` for the
entropy layer). Anything else is a finding: another exception, a run slower than
:data:`SLOW_SECONDS`, or (``check_memory``) a traced peak above ``target.memory_bound(len(data))``.

Targets behind a CRC (the container, the entropy table formats) get a ``prepare`` step that
recomputes the checksums of a mutated input, so that mutations reach the parser behind the
CRC instead of stopping at "checksum mismatch"; the ``container`` target itself keeps the
CRCs as they are, because the CRC check is what it tests.

:func:`fuzz` is the built-in engine: seeded ``random.Random``, so a given ``(target, seed,
iterations)`` always tries the same inputs (the tests rely on that). ``benchmarks/fuzz.py``
runs it (or atheris) for longer.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import random
import struct
import time
import tracemalloc
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["Target", "Finding", "FuzzStats", "TARGETS", "target_names", "get_target", "mutate",
           "fuzz", "run_one", "fix_container_crcs", "fix_stream_crcs", "use_weights", "CORPUS_DIR", "SLOW_SECONDS", "corpus_inputs"]

CORPUS_DIR = Path(__file__).resolve().parent / "fuzz_corpus"
SLOW_SECONDS = 2.0  # one decode of a fuzz input (all of them are tiny) must finish within this
_MIB = 1 << 20

# --------------------------------------------------------------------------------------------
# mutation engine

_INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF,
                0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]


def _put_int(buf: bytearray, rng: random.Random) -> None:
    size = rng.choice((1, 2, 4, 8))
    if len(buf) < size:
        return
    value = rng.choice(_INTERESTING) if rng.random() < 0.7 else rng.getrandbits(8 * size)
    if rng.random() < 0.3:
        value = -value
    value &= (1 << (8 * size)) - 1
    pos = rng.randrange(len(buf) - size + 1)
    buf[pos:pos + size] = value.to_bytes(size, rng.choice(("little", "big")))


def _arith(buf: bytearray, rng: random.Random) -> None:
    size = rng.choice((1, 2, 4, 8))
    if len(buf) < size:
        return
    pos = rng.randrange(len(buf) - size + 1)
    value = int.from_bytes(buf[pos:pos + size], "little") + rng.randint(-35, 35)
    buf[pos:pos + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def mutate(data: bytes, rng: random.Random, others: list[bytes] = (), max_len: int = 1 << 16) -> bytes:
    """One to four random edits of ``data``: bit/byte flips, interesting integers, small
    arithmetic, truncation, deletion, insertion, duplication, splicing with ``others``."""
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        op = rng.randrange(10)
        n = len(buf)
        if op == 0 and n:  # flip one bit
            pos = rng.randrange(n)
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # set one byte
            buf[rng.randrange(n)] = rng.randrange(256)
        elif op == 2:
            _put_int(buf, rng)
        elif op == 3:
            _arith(buf, rng)
        elif op == 4 and n:  # truncate
            del buf[rng.randrange(n):]
        elif op == 5 and n:  # delete a run
            pos = rng.randrange(n)
            del buf[pos:pos + rng.randint(1, 16)]
        elif op == 6:  # insert random bytes
            pos = rng.randint(0, n)
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 7 and n:  # duplicate a run
            pos = rng.randrange(n)
            chunk = buf[pos:pos + rng.randint(1, 64)]
            at = rng.randint(0, n)
            buf[at:at] = chunk
        elif op == 8 and others:  # splice with another input
            other = rng.choice(others)
            cut_a = rng.randint(0, n)
            cut_b = rng.randint(0, len(other))
            buf = buf[:cut_a] + bytearray(other[cut_b:])
        elif op == 9 and n:  # overwrite a run with a repeated byte
            pos = rng.randrange(n)
            length = rng.randint(1, 32)
            buf[pos:pos + length] = bytes([rng.choice((0, 0xFF, rng.randrange(256)))]) * min(length, n - pos)
    return bytes(buf[:max_len])


# --------------------------------------------------------------------------------------------
# container checksum repair (so mutations get past the CRCs)


def fix_container_crcs(data: bytes) -> bytes:
    """Recompute the header CRC and every complete section's CRC of a (damaged) container.

    Walks the layout of ``docs/format.md`` without validating anything; where the structure
    cannot be followed the bytes are returned with whatever was fixed so far.
    """
    buf = bytearray(data)
    if len(buf) < 12:
        return bytes(buf)
    body_len = int.from_bytes(buf[8:12], "little")
    end = 12 + body_len
    if end + 4 > len(buf):
        return bytes(buf)
    # section table: parse the body loosely to find (size) entries
    sizes, table = [], []
    try:
        pos = 12
        n_fields, n_sections = struct.unpack_from("<HH", buf, pos)
        pos += 4
        for _ in range(n_fields):
            pos += 1 + buf[pos]
            tag = buf[pos]
            pos += 1
            if tag in (1, 2):
                pos += 8
            else:
                pos += 4 + int.from_bytes(buf[pos:pos + 4], "little")
        for _ in range(n_sections):
            pos += 1 + buf[pos]
            size = int.from_bytes(buf[pos:pos + 8], "little")
            table.append(pos + 8)
            sizes.append(size)
            pos += 12
        if pos > end:
            raise IndexError
    except (IndexError, struct.error):
        sizes, table = [], []
    offset = end + 4
    for size, crc_at in zip(sizes, table):
        if offset + size > len(buf):
            break
        crc = zlib.crc32(buf[offset:offset + size]) & 0xFFFFFFFF
        buf[crc_at:crc_at + 4] = crc.to_bytes(4, "little")
        offset += size
    buf[end:end + 4] = (zlib.crc32(buf[:end]) & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(buf)


def _fix_trailing_crc(data: bytes) -> bytes:
    if len(data) < 4:
        return data
    return data[:-4] + struct.pack("<I", zlib.crc32(data[:-4]) & 0xFFFFFFFF)


def _fix_family_crcs(data: bytes) -> bytes:
    """ScaleFamily bytes: fix the inner FrequencyTables CRC, then the outer one."""
    if len(data) >= 16:
        s = int.from_bytes(data[12:16], "little")
        at = 16 + 8 * s
        if at < len(data) - 4:
            inner = _fix_trailing_crc(data[at:-4])
            data = data[:at] + inner + data[-4:]
    return _fix_trailing_crc(data)


# --------------------------------------------------------------------------------------------
# targets


@dataclasses.dataclass(frozen=True)
class Target:
    """One decoder entry point under fuzzing (see the module docstring)."""

    name: str
    run: Callable[[bytes], object]
    seeds: Callable[[], list[bytes]]
    expected: tuple[type[BaseException], ...]
    prepare: Callable[[bytes], bytes] = staticmethod(lambda data: data)
    max_len: int = 1 << 16
    # traced-allocation bound for one input (bytes): fixed slack + a multiple of its size
    memory_bound: Callable[[int], int] = staticmethod(lambda n: 64 * _MIB + 256 * n)
    available: Callable[[], str | None] = staticmethod(lambda: None)  # reason it cannot run


def _codec_errors() -> tuple[type[BaseException], ...]:
    from codec.errors import CodecError

    return (CodecError,)


def _entropy_errors() -> tuple[type[BaseException], ...]:
    from entropy import EntropyError

    return (EntropyError,)


# -- container -------------------------------------------------------------------------------


def _container_seeds() -> list[bytes]:
    from codec.container import Container, pack

    return [
        pack(Container("image", {"width": 3, "height": 2, "mode": "RGB", "gain": 0.5, "raw": b"\x00\x01"},
                       (("L0", b"abcd"), ("L1", bytes(range(40)))))),
        pack(Container("scene", {}, ())),
        pack(Container("stream", {"frames": 2}, (("index", b"\x01" * 16), ("f0", b""), ("f1", b"xy")))),
    ]


def _run_container(data: bytes) -> None:
    from codec.container import unpack, unpack_header

    for partial in (False, True):
        try:
            unpack(data, allow_partial=partial)
        except _codec_errors():
            pass
    unpack_header(data)


def _run_container_fixed(data: bytes) -> None:
    from codec.container import unpack

    unpack(data)


# -- entropy ---------------------------------------------------------------------------------
# Fixed small models; the first bytes of an input choose the count / ids, the rest is the stream.


@functools.lru_cache(maxsize=None)
def _tables():
    from entropy import FrequencyTables, quantize_pmf

    rng = np.random.default_rng(1)
    return FrequencyTables(quantize_pmf(rng.random((4, 11)) ** 3 + 1e-3))


@functools.lru_cache(maxsize=None)
def _family():
    from entropy import ScaleFamily

    return ScaleFamily("laplace", np.array([0.3, 1.0, 4.0, 20.0]), support=6)


def _split_ids(data: bytes, num_tables: int) -> tuple[np.ndarray, bytes]:
    """``u8 n | n bytes of ids (mod num_tables) | stream``."""
    if not data:
        return np.zeros(0, np.int32), b""
    n = data[0]
    ids = np.frombuffer(data[1:1 + n], np.uint8).astype(np.int32) % num_tables
    return ids, data[1 + n:]


def _entropy_seeds() -> list[bytes]:
    from entropy import encode_symbols

    rng = np.random.default_rng(2)
    out = []
    for n in (0, 1, 7, 61, 8):  # odd: indexed tables only; 8 (all table 0): also the count path
        ids = rng.integers(0, 4 if n % 2 else 1, n).astype(np.uint8)
        symbols = rng.integers(0, 11, n)
        out.append(bytes([n]) + ids.tobytes() + encode_symbols(symbols, _tables(), ids))
    return out


def _run_decode_symbols(data: bytes) -> None:
    from entropy import decode_symbols

    ids, stream = _split_ids(data, _tables().num_tables)
    decode_symbols(stream, _tables(), table_ids=ids)
    if ids.size and ids.size % 2 == 0:  # also the count-without-ids path on a one-table model
        from entropy import FrequencyTables

        decode_symbols(stream, FrequencyTables(_tables().freqs[:1]), count=ids.size)


def _family_seeds() -> list[bytes]:
    rng = np.random.default_rng(3)
    fam = _family()
    out = []
    for n in (0, 3, 40):
        ids = rng.integers(0, 4, n).astype(np.uint8)
        values = np.round(rng.laplace(0, 3, n)).astype(np.int64)
        if n:
            values[0] = 1 << 40  # an escape
            values[-1] = -(1 << 62)
        out.append(bytes([n]) + ids.tobytes() + fam.encode(values, ids))
    return out


def _run_family_decode(data: bytes) -> None:
    ids, stream = _split_ids(data, _family().num_scales)
    _family().decode(stream, ids)


def _adaptive_seeds() -> list[bytes]:
    from entropy import AdaptiveCategorical

    rng = np.random.default_rng(4)
    out = []
    for k, n in ((2, 5), (5, 300), (200, 40)):
        symbols = rng.integers(0, k, n)
        out.append(struct.pack("<HH", k, n) + AdaptiveCategorical(k, update_interval=16).encode(symbols))
    return out


def _run_adaptive_decode(data: bytes) -> None:
    from entropy import AdaptiveCategorical

    if len(data) < 4:
        raise _entropy_errors()[0]("short")
    k, n = struct.unpack_from("<HH", data)
    AdaptiveCategorical(max(k % 300, 1), update_interval=16).decode(data[4:], n % 2048)


def _run_tables_from_bytes(data: bytes) -> None:
    from entropy import FrequencyTables

    FrequencyTables.from_bytes(data)


def _run_family_from_bytes(data: bytes) -> None:
    from entropy import ScaleFamily

    ScaleFamily.from_bytes(data)


# -- image -----------------------------------------------------------------------------------


_weights_dir: list[Path] = []  # set by use_weights(); else a temporary folder is built once


def use_weights(folder: Path) -> None:
    """Use the tiny test model already exported in ``folder`` (the ``tiny_weights`` fixture)."""
    if not _weights_dir:
        _weights_dir.append(Path(folder))


@functools.lru_cache(maxsize=None)
def _image_codec():
    """ImageCodecs (quality 1 and 3) on the tiny random test model, tile 64 / overlap 16."""
    import tempfile

    from codec.image.codec import ImageCodec
    from conftest import build_tiny_weights

    if not _weights_dir:
        use_weights(build_tiny_weights(Path(tempfile.mkdtemp(prefix="gmcodec-fuzz-weights-"))))
    folder = _weights_dir[0]
    return {q: ImageCodec(quality=q, weights_dir=folder, tile=64, overlap=16) for q in (1, 3)}


def _image_seeds() -> list[bytes]:
    codecs = _image_codec()
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (20, 27, 3), dtype=np.uint8)
    rgba = np.dstack([rng.integers(0, 256, (9, 70, 3), dtype=np.uint8),
                      rng.integers(0, 256, (9, 70), dtype=np.uint8)])
    return [codecs[1].encode(rgb), codecs[3].encode(rgba), codecs[1].encode(rgb[:3, :5, 0].copy())]


def _run_image(data: bytes) -> None:
    _image_codec()[1].decode_arrays(data)


def _run_reduce_quality(data: bytes) -> None:
    from codec.image.codec import reduce_quality

    reduce_quality(data, 1 + len(data) % 2)


def _image_memory_bound(n: int) -> int:
    # a decoded image is bounded by the header check: pixels <= max(2**22, n * 2**20 / 32);
    # the decoder holds a few float32 planes of it
    from codec.image.codec import MIN_BYTES_PER_MPIXEL

    pixels = max(1 << 22, n * _MIB // MIN_BYTES_PER_MPIXEL)
    return 64 * _MIB + 64 * pixels


# -- scenes ----------------------------------------------------------------------------------


def _scene_available() -> str | None:
    try:
        import codec.scene.io  # noqa: F401
    except ImportError as exc:  # the scene package is being written
        return f"codec.scene readers not importable ({exc})"
    return None


def _small_scene(n: int, degree: int, seed: int):
    from codec.scene.data import SH_COEFFS, GaussianScene

    rng = np.random.default_rng(seed)
    return GaussianScene(rng.normal(0, 2, (n, 3)), rng.normal(-3, 1, (n, 3)), rng.normal(size=(n, 4)),
                         rng.normal(0, 2, n), rng.normal(0, 1, (n, 3)),
                         rng.normal(0, 0.3, (n, SH_COEFFS[degree], 3)))


def _ply_seeds() -> list[bytes]:
    from codec.scene.io_ply import write_inria_ply

    return [write_inria_ply(_small_scene(5, 0, 6)), write_inria_ply(_small_scene(3, 1, 7), normals=True)]


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


def _compressed_ply_seeds() -> list[bytes]:
    return [_compressed_ply(5, 8), _compressed_ply(3, 9, color_box=False, sh=False)]


def _splat_seeds() -> list[bytes]:
    from codec.scene.io_splat import write_splat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [write_splat(_small_scene(4, 0, 10)), write_splat(_small_scene(1, 1, 11))]


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


def _spz_seeds() -> list[bytes]:
    from codec.scene.io_spz import write_spz

    seeds = [write_spz(_small_scene(4, 0, 12)), write_spz(_small_scene(3, 2, 13))]
    try:
        seeds.append(_spz_v4(_small_scene(3, 1, 14)))
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
    img = lambda: rng.integers(0, 256, (h, w, 4), dtype=np.uint8)  # noqa: E731
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


def _sog_seeds() -> list[bytes]:
    return [_sog(5, 15, shn=False), _sog(6, 16, shn=True)]


def _quiet(fn):
    @functools.wraps(fn)
    def run(data: bytes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(data)
    return run


@_quiet
def _run_ply(data: bytes) -> None:
    from codec.scene.io_compressed_ply import is_compressed_ply, read_compressed_ply
    from codec.scene.io_ply import parse_ply, read_inria_ply

    elements, _ = parse_ply(data, "fuzz.ply")
    if is_compressed_ply(elements):
        read_compressed_ply(data, "fuzz.ply")
    else:
        read_inria_ply(data, "fuzz.ply")


@_quiet
def _run_compressed_ply(data: bytes) -> None:
    from codec.scene.io_compressed_ply import read_compressed_ply

    read_compressed_ply(data, "fuzz.compressed.ply")


@_quiet
def _run_splat(data: bytes) -> None:
    from codec.scene.io_splat import read_splat

    read_splat(data, "fuzz.splat")


@_quiet
def _run_spz(data: bytes) -> None:
    from codec.scene.io_spz import read_spz

    read_spz(data, "fuzz.spz")


@_quiet
def _run_sog(data: bytes) -> None:
    from codec.scene.io_sog import read_sog_bytes

    read_sog_bytes(data, "fuzz.sog")


@_quiet
def _run_scene_codec(data: bytes) -> None:
    from codec.scene.codec import decode_scene

    decode_scene(data)


def _scene_codec_seeds() -> list[bytes]:
    from codec.scene.codec import SceneCodec

    seeds = []
    for n, degree, quality in ((40, 0, 1), (300, 1, 3), (7, 0, 5)):
        try:
            seeds.append(SceneCodec(quality=quality).encode(_small_scene(n, degree, 20 + n)))
        except Exception:  # noqa: BLE001 - a quality the codec does not have
            seeds.append(SceneCodec().encode(_small_scene(n, degree, 20 + n)))
    return seeds


def _scene_codec_available() -> str | None:
    try:
        import codec.scene.codec  # noqa: F401
    except ImportError as exc:
        return f"codec.scene.codec not importable ({exc})"
    return None


# -- streams ---------------------------------------------------------------------------------


def _stream_available() -> str | None:
    try:
        import codec.stream.reader  # noqa: F401
        import codec.stream.writer  # noqa: F401
    except ImportError as exc:
        return f"codec.stream not importable ({exc})"
    return None


def fix_stream_crcs(data: bytes) -> bytes:
    """Recompute the container CRC, every record's header and payload CRC and the trailer CRC."""
    buf = bytearray(data)
    if len(buf) < 12:
        return bytes(buf)
    start = 12 + int.from_bytes(buf[8:12], "little") + 4
    buf[:start] = fix_container_crcs(bytes(buf[:start]))
    pos = start
    while pos + 32 <= len(buf) and buf[pos:pos + 4] == b"GMFR":
        size = int.from_bytes(buf[pos + 20:pos + 24], "little")
        payload = buf[pos + 32:pos + 32 + size]
        if len(payload) == size:
            buf[pos + 24:pos + 28] = (zlib.crc32(payload) & 0xFFFFFFFF).to_bytes(4, "little")
        buf[pos + 28:pos + 32] = (zlib.crc32(buf[pos:pos + 28]) & 0xFFFFFFFF).to_bytes(4, "little")
        pos += 32 + size
    if len(buf) >= 16 and buf[-16:-12] == b"GMIE":
        buf[-4:] = (zlib.crc32(buf[-16:-4]) & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(buf)


def _stream_seeds() -> list[bytes]:
    import tempfile

    from codec.stream import encode_frames
    from codec.stream.generator import moving_sequence, random_scene

    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (n, frames, gop) in enumerate(((60, 4, 2), (25, 3, 0))):
            path = Path(tmp) / f"s{i}.gss"
            encode_frames(moving_sequence(random_scene(n, seed=i), frames, moving_fraction=0.3,
                                          amplitude=0.1, seed=i), path, fps=25.0, gop=gop)
            seeds.append(path.read_bytes())
    return seeds


@functools.lru_cache(maxsize=None)
def _scratch_file() -> Path:
    import atexit
    import os
    import tempfile

    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    fd, name = tempfile.mkstemp(prefix="gmcodec-fuzz-", suffix=".gss", dir=base)
    os.close(fd)
    atexit.register(lambda: os.path.exists(name) and os.unlink(name))
    return Path(name)


@_quiet
def _run_stream(data: bytes) -> None:
    from codec.stream import StreamReader

    path = _scratch_file()
    path.write_bytes(data)
    with StreamReader(path) as reader:
        for _ in reader:
            pass
        if len(reader):
            reader.seek(len(reader) - 1)
            next(reader)


def _scene_bound(n: int) -> int:
    # a scene reader's output is bounded by its input: at most ~1032x for gzip/zstd payloads
    # (SPZ) and the per-Gaussian float attributes of what is present
    return 64 * _MIB + 2048 * n


TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("container", _run_container, _container_seeds, _codec_errors()),
    Target("container-crc", _run_container_fixed, _container_seeds, _codec_errors(), prepare=fix_container_crcs),
    Target("entropy-symbols", _run_decode_symbols, _entropy_seeds, _entropy_errors()),
    Target("entropy-family", _run_family_decode, _family_seeds, _entropy_errors()),
    Target("entropy-adaptive", _run_adaptive_decode, _adaptive_seeds, _entropy_errors()),
    Target("entropy-tables", _run_tables_from_bytes, lambda: [_tables().to_bytes()], _entropy_errors(),
           prepare=_fix_trailing_crc),
    Target("entropy-family-bytes", _run_family_from_bytes, lambda: [_family().to_bytes()], _entropy_errors(),
           prepare=_fix_family_crcs),
    Target("image", _run_image, _image_seeds, _codec_errors(), prepare=fix_container_crcs,
           memory_bound=_image_memory_bound),
    Target("reduce-quality", _run_reduce_quality, _image_seeds, _codec_errors(), prepare=fix_container_crcs),
    Target("scene-ply", _run_ply, _ply_seeds, _codec_errors(), memory_bound=_scene_bound,
           available=_scene_available),
    Target("scene-compressed-ply", _run_compressed_ply, _compressed_ply_seeds, _codec_errors(),
           memory_bound=_scene_bound, available=_scene_available),
    Target("scene-splat", _run_splat, _splat_seeds, _codec_errors(), memory_bound=_scene_bound,
           available=_scene_available),
    Target("scene-spz", _run_spz, _spz_seeds, _codec_errors(), memory_bound=_scene_bound,
           available=_scene_available),
    Target("scene-sog", _run_sog, _sog_seeds, _codec_errors(), memory_bound=_scene_bound,
           available=_scene_available),
    Target("scene-codec", _run_scene_codec, _scene_codec_seeds, _codec_errors(), prepare=fix_container_crcs,
           memory_bound=_scene_bound, available=_scene_codec_available),
    Target("stream", _run_stream, _stream_seeds, _codec_errors(), prepare=fix_stream_crcs,
           max_len=1 << 18, memory_bound=_scene_bound, available=_stream_available),
]}


def target_names() -> list[str]:
    return list(TARGETS)


def get_target(name: str) -> Target:
    if name not in TARGETS:
        raise KeyError(f"unknown fuzz target {name!r}; known: {', '.join(TARGETS)}")
    return TARGETS[name]


def corpus_inputs(target: str) -> list[tuple[str, bytes]]:
    """Regression inputs stored under ``tests/fuzz_corpus/<target>/`` (name, bytes)."""
    folder = CORPUS_DIR / target
    if not folder.is_dir():
        return []
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]


# --------------------------------------------------------------------------------------------
# running


@dataclasses.dataclass
class Finding:
    """An input that broke the contract: ``kind`` is "exception", "slow" or "memory"."""

    target: str
    kind: str
    detail: str
    data: bytes

    def __str__(self) -> str:
        return f"{self.target}: {self.kind}: {self.detail} (input {len(self.data)} bytes: {self.data[:64].hex()}...)"


@dataclasses.dataclass
class FuzzStats:
    target: str
    executions: int = 0
    accepted: int = 0  # inputs that decoded without error
    rejected: int = 0  # inputs refused with an expected error
    seconds: float = 0.0
    findings: list[Finding] = dataclasses.field(default_factory=list)


def run_one(target: Target, data: bytes, check_memory: bool = False) -> tuple[str, Finding | None]:
    """Feed one (already prepared) input; returns ("ok" | "rejected" | "finding", finding)."""
    if check_memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
    start = time.perf_counter()
    outcome, finding = "ok", None
    try:
        target.run(data)
    except target.expected:
        outcome = "rejected"
    except MemoryError as exc:
        outcome, finding = "finding", Finding(target.name, "memory", f"MemoryError: {exc}", data)
    except Exception as exc:  # noqa: BLE001 - the point: anything else is a finding
        outcome, finding = "finding", Finding(target.name, "exception", f"{type(exc).__name__}: {exc}", data)
    seconds = time.perf_counter() - start
    if check_memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if finding is None and peak > target.memory_bound(len(data)):
            outcome, finding = "finding", Finding(target.name, "memory", f"traced peak {peak} bytes", data)
    if finding is None and seconds > SLOW_SECONDS:
        outcome, finding = "finding", Finding(target.name, "slow", f"{seconds:.2f} s", data)
    return outcome, finding


def fuzz(target: Target, *, seed: int = 0, iterations: int | None = None, seconds: float | None = None,
         check_memory: bool = False, stop_on_finding: bool = False,
         on_finding: Callable[[Finding], None] | None = None) -> FuzzStats:
    """Mutate the target's seeds (and its stored corpus) and run each input.

    Deterministic for a given ``seed`` and ``iterations``; ``seconds`` bounds wall time
    instead (for long runs, not for tests). The seeds and stored corpus run first, unmutated.
    """
    assert iterations is not None or seconds is not None
    rng = random.Random(seed)
    seeds = list(target.seeds()) + [data for _, data in corpus_inputs(target.name)]
    pool = list(seeds)  # inputs that decoded fine are kept as mutation material
    stats = FuzzStats(target.name)
    start = time.perf_counter()
    queue = list(seeds)
    while True:
        if iterations is not None and stats.executions >= iterations:
            break
        if seconds is not None and time.perf_counter() - start >= seconds:
            break
        if queue:
            data = target.prepare(queue.pop(0))
        else:
            data = target.prepare(mutate(rng.choice(pool), rng, seeds, target.max_len))
        outcome, finding = run_one(target, data, check_memory)
        stats.executions += 1
        if outcome == "ok":
            stats.accepted += 1
            if len(pool) < 256 and data not in pool:
                pool.append(data)
        elif outcome == "rejected":
            stats.rejected += 1
        if finding is not None:
            stats.findings.append(finding)
            if on_finding:
                on_finding(finding)
            if stop_on_finding:
                break
    stats.seconds = time.perf_counter() - start
    return stats
