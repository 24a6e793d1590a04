"""Stream files end to end: seek, append, follow a growing file, damaged files, determinism."""

from __future__ import annotations

import hashlib
import threading
import time

import numpy as np
import pytest

from codec.errors import (
    CodecError,
    InvalidInputError,
    OutputExistsError,
    TruncatedError,
)
from codec.stream import StreamReader, StreamWriter, encode_frames
from codec.stream.generator import moving_sequence, random_scene

N = 1500


@pytest.fixture(scope="module")
def frames():
    return moving_sequence(random_scene(N, seed=11), 10, moving_fraction=0.1, amplitude=0.1, seed=2)


@pytest.fixture(scope="module")
def stream_file(frames, tmp_path_factory):
    path = tmp_path_factory.mktemp("s") / "seq.gss"
    entries = encode_frames(frames, path, fps=25.0, gop=4)
    return path, entries


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values()))


def test_gop_and_index(stream_file):
    path, entries = stream_file
    assert [e.keyframe for e in entries] == [i % 4 == 0 for i in range(10)]
    with StreamReader(path) as r:
        assert r.finished and len(r) == 10 and r.fps == 25.0 and r.info.gop == 4
        assert [e.offset for e in r.entries] == [e.offset for e in entries]
        assert r.entries[3].timestamp == pytest.approx(3 / 25)


def test_seek_matches_sequential_decoding(stream_file, frames):
    path, _ = stream_file
    with StreamReader(path) as r:
        seq = list(r)
    assert len(seq) == 10
    with StreamReader(path) as r:
        for n in (7, 2, 9, 0, 5, 6, 3):
            assert _same(r.read(n), seq[n]), n
        r.seek(8)
        assert _same(next(r), seq[8]) and _same(next(r), seq[9])
        with pytest.raises(StopIteration):
            next(r)
        with pytest.raises(InvalidInputError):
            r.seek(11)
    for got, src in zip(seq, frames):  # lossy but close to the source (keyframe quality 3)
        assert np.median(np.abs(np.sort(got.means[:, 0]) - np.sort(src.means[:, 0]))) < 1e-3


def test_append_to_a_closed_stream(tmp_path, frames):
    path = tmp_path / "a.gss"
    encode_frames(frames[:5], path, gop=0)
    with StreamWriter(path, append=True, gop=99) as w:
        assert len(w.entries) == 5
        for f in frames[5:]:
            w.write(f)
    with StreamReader(path) as r:
        assert len(r) == 10 and r.finished and r.info.gop == 0
        assert [e.keyframe for e in r.entries] == [True, False, False, False, False, True] + [False] * 4
        assert len(list(r)) == 10


def test_append_after_an_interrupted_write(tmp_path, frames):
    path = tmp_path / "b.gss"
    w = StreamWriter(path, gop=0)
    for f in frames[:3]:
        w.write(f)
    w._f.write(b"GMFR\x02 half a record")  # a crash in the middle of a record
    w.abort()
    with pytest.raises(TruncatedError):
        list(StreamReader(path))
    with StreamWriter(path, append=True) as w2:
        w2.write(frames[3])
    with StreamReader(path) as r:
        assert len(list(r)) == 4


def test_follow_a_growing_file(tmp_path, frames):
    path = tmp_path / "live.gss"
    w = StreamWriter(path, fps=50.0, gop=4)
    got = []

    def follow():
        with StreamReader(path, follow=True, timeout=20.0, poll=0.01) as r:
            for scene in r:
                got.append(scene)

    t = threading.Thread(target=follow)
    t.start()
    for f in frames:
        w.write(f)
        time.sleep(0.02)
    w.close()
    t.join(timeout=30)
    assert not t.is_alive()
    with StreamReader(path) as r:
        ref = list(r)
    assert len(got) == 10 and all(_same(a, b) for a, b in zip(got, ref))


def test_follow_stops_after_timeout(tmp_path, frames):
    path = tmp_path / "stall.gss"
    w = StreamWriter(path, gop=4)
    w.write(frames[0])
    t0 = time.monotonic()
    with StreamReader(path, follow=True, timeout=0.3, poll=0.02) as r:
        assert len(list(r)) == 1
    assert time.monotonic() - t0 < 5
    w.abort()


def test_refuses_to_overwrite(tmp_path, frames):
    path = tmp_path / "x.gss"
    encode_frames(frames[:1], path)
    with pytest.raises(OutputExistsError):
        encode_frames(frames[:1], path)
    encode_frames(frames[:2], path, force=True)
    assert len(StreamReader(path)) == 2


def test_truncated_and_corrupt_files_raise_codec_errors(stream_file, tmp_path):
    path, entries = stream_file
    data = path.read_bytes()
    bad = tmp_path / "bad.gss"
    rng = np.random.default_rng(0)
    boundaries = {e.offset for e in entries}
    cuts = sorted(set(rng.integers(0, len(data), 40).tolist()) | {0, 3, 12, 40, len(data) - 1, len(data) - 16})
    for cut in cuts:
        bad.write_bytes(data[:cut])
        try:
            with StreamReader(bad) as r:
                n = len(list(r))
        except CodecError:
            continue
        # a cut exactly at a record boundary reads as a shorter (unindexed) stream
        assert cut in boundaries or cut == entries[-1].offset + entries[-1].record_size, cut
        assert n < 10
    for pos in rng.integers(0, len(data), 60).tolist():
        damaged = bytearray(data)
        damaged[pos] ^= 0x40
        bad.write_bytes(bytes(damaged))
        with pytest.raises(CodecError):
            with StreamReader(bad) as r:
                list(r)
    bad.write_bytes(b"not a stream at all")
    with pytest.raises(CodecError):
        StreamReader(bad)
    with pytest.raises(InvalidInputError):
        StreamReader(tmp_path / "missing.gss")


DECODE_AND_HASH = """
import hashlib, sys
from codec.stream import StreamReader
h = hashlib.sha256()
with StreamReader(sys.argv[1]) as r:
    for scene in r:
        for a in scene.arrays().values():
            h.update(a.tobytes())
print(h.hexdigest())
"""

ENCODE = """
import sys
from codec.stream import encode_frames
from codec.stream.generator import moving_sequence, random_scene
frames = moving_sequence(random_scene(1500, seed=11), 10, moving_fraction=0.1, amplitude=0.1, seed=2)
encode_frames(frames, sys.argv[1], fps=25.0, gop=4)
"""


def test_cross_process_determinism(stream_file, run_snippet, tmp_path):
    path, _ = stream_file
    other = tmp_path / "other.gss"
    run_snippet(ENCODE, threads=2, args=[str(other)])
    assert hashlib.sha256(other.read_bytes()).digest() == hashlib.sha256(path.read_bytes()).digest()
    a = run_snippet(DECODE_AND_HASH, threads=1, args=[str(path)])
    b = run_snippet(DECODE_AND_HASH, threads=2, args=[str(other)])
    h = hashlib.sha256()
    with StreamReader(path) as r:
        for scene in r:
            for arr in scene.arrays().values():
                h.update(arr.tobytes())
    assert a == b == (h.hexdigest() + "\n").encode()


def test_header_records_sh_degree_and_empty_streams(tmp_path):
    frames = moving_sequence(random_scene(300, seed=1, sh_degree=1), 3, amplitude=0.05)
    path = tmp_path / "sh.gss"
    encode_frames(frames, path)
    with StreamReader(path) as r:
        assert r.info.sh_degree == 1 and all(f.sh_degree == 1 for f in r)
    empty = tmp_path / "empty.gss"
    StreamWriter(empty).close()
    with StreamReader(empty) as r:
        assert len(r) == 0 and r.finished and list(r) == []
