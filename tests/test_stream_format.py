"""Stream record layout: header, records, index, trailer, scanning; errors are CodecErrors."""

from __future__ import annotations

import struct

import pytest

from codec.errors import (
    ChecksumError,
    CodecError,
    CorruptDataError,
    LimitExceededError,
    TruncatedError,
)
from codec.stream.format import (
    RECORD_HEADER_SIZE,
    TRAILER_SIZE,
    TYPE_DELTA,
    TYPE_KEYFRAME,
    FrameEntry,
    pack_index,
    pack_record,
    pack_trailer,
    parse_index,
    parse_record_header,
    parse_stream_header,
    parse_trailer,
    scan_records,
    stream_header,
)


def test_record_layout_is_pinned():
    rec = pack_record(TYPE_KEYFRAME, 7, 0.25, b"abc")
    assert len(rec) == RECORD_HEADER_SIZE + 3 == 35
    assert rec[:4] == b"GMFR" and rec[4] == TYPE_KEYFRAME
    assert struct.unpack_from("<IdI", rec, 8) == (7, 0.25, 3)
    r = parse_record_header(rec, 0)
    assert (r.type, r.number, r.timestamp, r.size) == (TYPE_KEYFRAME, 7, 0.25, 3)
    assert len(pack_trailer(123)) == TRAILER_SIZE and parse_trailer(pack_trailer(123)) == 123


def test_header_round_trip_and_checks():
    info = parse_stream_header(stream_header(24.0, 12, 2))
    assert (info.fps, info.gop, info.sh_degree) == (24.0, 12, 2)
    with pytest.raises(ValueError):
        stream_header(0.0, 1, 0)
    with pytest.raises(CodecError):
        parse_stream_header(b"GMCS" + stream_header(24.0, 12, 0)[4:])  # a scene file, not a stream


def test_record_header_damage():
    rec = bytearray(pack_record(TYPE_DELTA, 1, 0.0, b"xyz"))
    with pytest.raises(TruncatedError):
        parse_record_header(bytes(rec[:20]), 0)
    for pos in range(RECORD_HEADER_SIZE):
        bad = bytearray(rec)
        bad[pos] ^= 0x10
        with pytest.raises(CodecError):
            parse_record_header(bytes(bad), 0)
    big = pack_record(TYPE_DELTA, 1, 0.0, b"")
    head = bytearray(big[:28])
    head[20:24] = struct.pack("<I", 0xFFFFFFFF)
    import zlib

    forged = bytes(head) + struct.pack("<I", zlib.crc32(bytes(head)))
    with pytest.raises(LimitExceededError):
        parse_record_header(forged, 0)


def test_scan_and_index_agree():
    recs = [pack_record(TYPE_KEYFRAME if i % 3 == 0 else TYPE_DELTA, i, i / 10, bytes(10 + i)) for i in range(6)]
    data = b"".join(recs)
    read_at = lambda off, n: data[off:off + n]  # noqa: E731
    entries: list[FrameEntry] = []
    pos, index_at = scan_records(read_at, 0, len(data), entries, complete=True)
    assert pos == len(data) and index_at is None and [e.keyframe for e in entries] == [True, False, False] * 2
    idx = pack_index(entries)
    parsed = parse_index(parse_record_header(idx, 0), idx[RECORD_HEADER_SIZE:])
    assert parsed == entries
    partial: list[FrameEntry] = []
    pos, _ = scan_records(read_at, 0, len(data) - 5, partial, complete=False)
    assert len(partial) == 5 and pos == entries[5].offset
    with pytest.raises(TruncatedError):
        scan_records(read_at, 0, len(data) - 5, [], complete=True)
    swapped = recs[1] + recs[0]
    with pytest.raises(CorruptDataError):
        scan_records(lambda o, n: swapped[o:o + n], 0, len(swapped), [], complete=True)
    with pytest.raises(ChecksumError):
        bad = bytearray(data)
        bad[9] ^= 1
        scan_records(lambda o, n: bytes(bad[o:o + n]), 0, len(bad), [], complete=True)
