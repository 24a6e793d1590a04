"""Fuzz targets: every decoder entry point with its seeds (see ``fuzz_engine.py`` for the loop).

Shared by ``tests/test_fuzz_decoders.py`` and ``benchmarks/fuzz.py``. Each :class:`Target`
names the decoder, how to build its seeds, the errors it may raise, the checksum repair its
inputs need and a memory bound. The engine's API is re-exported here for convenience.
"""

from __future__ import annotations

import functools
import struct
import warnings
from pathlib import Path

import numpy as np
from fuzz_engine import (
    CORPUS_DIR,
    MIB,
    SLOW_SECONDS,
    Finding,
    FuzzStats,
    Target,
    corpus_inputs,
    fix_container_crcs,
    fix_family_crcs,
    fix_stream_crcs,
    fix_trailing_crc,
    fuzz,
    mutate,
    run_one,
)
from fuzz_scene_seeds import (
    compressed_ply_seeds,
    ply_seeds,
    small_scene,
    sog_seeds,
    splat_seeds,
    spz_seeds,
)

__all__ = [
    "CORPUS_DIR",
    "SLOW_SECONDS",
    "TARGETS",
    "Finding",
    "FuzzStats",
    "Target",
    "corpus_inputs",
    "fix_container_crcs",
    "fix_stream_crcs",
    "fuzz",
    "get_target",
    "mutate",
    "run_one",
    "small_scene",
    "target_names",
    "use_weights",
]

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


@functools.cache
def _tables():
    from entropy import FrequencyTables, quantize_pmf

    rng = np.random.default_rng(1)
    return FrequencyTables(quantize_pmf(rng.random((4, 11)) ** 3 + 1e-3))


@functools.cache
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


@functools.cache
def _image_codec():
    """ImageCodecs (quality 1 and 3) on the tiny random test model, tile 64 / overlap 16."""
    import tempfile

    from conftest import build_tiny_weights

    from codec.image.codec import ImageCodec

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

    pixels = max(1 << 22, n * MIB // MIN_BYTES_PER_MPIXEL)
    return 64 * MIB + 64 * pixels


# -- scenes ----------------------------------------------------------------------------------


def _scene_available() -> str | None:
    try:
        import codec.scene.io  # noqa: F401
    except ImportError as exc:  # the scene package is being written
        return f"codec.scene readers not importable ({exc})"
    return None


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
            seeds.append(SceneCodec(quality=quality).encode(small_scene(n, degree, 20 + n)))
        except Exception:  # noqa: BLE001 - a quality the codec does not have
            seeds.append(SceneCodec().encode(small_scene(n, degree, 20 + n)))
    from web_fixtures import sparse_sh_scene  # SH 3 with every band flagged (scene format 4)

    seeds.append(SceneCodec(quality=3).encode(sparse_sh_scene(120, seed=3)))
    return seeds


def _sog_available() -> str | None:
    from PIL import features

    return _scene_available() or (None if features.check("webp") else "Pillow is built without WebP")


def _scene_codec_available() -> str | None:
    try:
        import codec.scene.codec  # noqa: F401
    except ImportError as exc:
        return f"codec.scene.codec not importable ({exc})"
    return None


# -- streams ---------------------------------------------------------------------------------


# -- streams ---------------------------------------------------------------------------------


def _stream_available() -> str | None:
    try:
        import codec.stream.reader
        import codec.stream.writer  # noqa: F401
    except ImportError as exc:
        return f"codec.stream not importable ({exc})"
    return None


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


@functools.cache
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
    return 64 * MIB + 2048 * n


TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("container", _run_container, _container_seeds, _codec_errors()),
    Target("container-crc", _run_container_fixed, _container_seeds, _codec_errors(), prepare=fix_container_crcs,
           structured=True),
    Target("entropy-symbols", _run_decode_symbols, _entropy_seeds, _entropy_errors()),
    Target("entropy-family", _run_family_decode, _family_seeds, _entropy_errors()),
    Target("entropy-adaptive", _run_adaptive_decode, _adaptive_seeds, _entropy_errors()),
    Target("entropy-tables", _run_tables_from_bytes, lambda: [_tables().to_bytes()], _entropy_errors(),
           prepare=fix_trailing_crc),
    Target("entropy-family-bytes", _run_family_from_bytes, lambda: [_family().to_bytes()], _entropy_errors(),
           prepare=fix_family_crcs),
    Target("image", _run_image, _image_seeds, _codec_errors(), prepare=fix_container_crcs,
           memory_bound=_image_memory_bound, structured=True),
    Target("reduce-quality", _run_reduce_quality, _image_seeds, _codec_errors(), prepare=fix_container_crcs,
           structured=True),
    Target("scene-ply", _run_ply, ply_seeds, _codec_errors(), memory_bound=_scene_bound,
           available=_scene_available),
    Target("scene-compressed-ply", _run_compressed_ply, compressed_ply_seeds, _codec_errors(),
           memory_bound=_scene_bound, available=_scene_available),
    Target("scene-splat", _run_splat, splat_seeds, _codec_errors(), memory_bound=_scene_bound,
           available=_scene_available),
    Target("scene-spz", _run_spz, spz_seeds, _codec_errors(), memory_bound=_scene_bound,
           available=_scene_available),
    Target("scene-sog", _run_sog, sog_seeds, _codec_errors(), memory_bound=_scene_bound,
           available=_sog_available),
    Target("scene-codec", _run_scene_codec, _scene_codec_seeds, _codec_errors(), prepare=fix_container_crcs,
           memory_bound=_scene_bound, available=_scene_codec_available, structured=True),
    Target("stream", _run_stream, _stream_seeds, _codec_errors(), prepare=fix_stream_crcs,
           max_len=1 << 18, memory_bound=_scene_bound, available=_stream_available),
]}


def target_names() -> list[str]:
    return list(TARGETS)


def get_target(name: str) -> Target:
    if name not in TARGETS:
        raise KeyError(f"unknown fuzz target {name!r}; known: {', '.join(TARGETS)}")
    return TARGETS[name]
