"""Tests for codec.container: round trips, exact bytes, and every way a file can be damaged."""

from __future__ import annotations

import hashlib
import struct
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec import container as C
from codec.errors import (
    ChecksumError,
    CodecError,
    CorruptDataError,
    LimitExceededError,
    NotACodecFileError,
    TruncatedError,
    UnsupportedVersionError,
    WrongKindError,
)

SMALL = C.Container(
    kind="image",
    header={"width": 768, "height": -512, "lambda": 0.0125, "model": "mcquic-v1", "tab": b"\x00\xff"},
    sections=(("level0", b"\x01\x02\x03\x04\x05"), ("level1", b""), ("level2", b"xyz" * 4)),
)
# The exact bytes of SMALL: changing them means a format change (bump FORMAT_VERSION).
SMALL_HEX = (
    "474d4349010000008b000000050003000577696474680100030000000000000668656967687401"
    "00feffffffffffff066c616d626461029a9999999999893f056d6f64656c03090000006d637175"
    "69632d763103746162040200000000ff066c6576656c300500000000000000f4990b47066c6576"
    "656c31000000000000000000000000066c6576656c320c00000000000000ce02158e1404ef6b01"
    "0203040578797a78797a78797a78797a"
)


def reseal(data: bytes) -> bytes:
    """Recompute the header CRC after a test edits header bytes on purpose."""
    body_len = int.from_bytes(data[8:12], "little")
    end = C.PREAMBLE_SIZE + body_len
    return data[:end] + struct.pack("<I", zlib.crc32(data[:end])) + data[end + 4:]


def section_entry_offset(data: bytes, name: str) -> int:
    """Offset of the u64 size of section ``name`` in the section table."""
    raw = bytes([len(name)]) + name.encode()
    return data.index(raw) + len(raw)


def same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)  # NaN-safe, -0.0-exact
    return type(a) is type(b) and a == b


# --- round trips -------------------------------------------------------------------------

names = st.text(min_size=1, max_size=16).filter(lambda s: len(s.encode()) <= C.MAX_NAME_BYTES)
values = st.one_of(st.integers(-(1 << 63), (1 << 63) - 1), st.floats(), st.text(max_size=40),
                   st.binary(max_size=40))


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(C.MAGIC_BY_KIND)),
       header=st.dictionaries(names, values, max_size=8),
       sections=st.lists(st.tuples(names, st.binary(max_size=100)), max_size=6,
                         unique_by=lambda s: s[0]))
def test_round_trip(kind, header, sections):
    packed = C.pack(C.Container(kind, header, tuple(sections)))
    out = C.unpack(packed, kind)
    assert out.kind == kind and out.version == C.FORMAT_VERSION
    assert list(out.header) == list(header)  # insertion order kept
    assert all(same_value(out.header[k], v) for k, v in header.items())
    assert out.sections == tuple(sections)
    info = C.unpack_header(packed[:C.unpack_header(packed).header_size])
    assert info.total_size == len(packed)
    assert [(n, s) for n, s, _ in info.sections] == [(n, len(p)) for n, p in sections]


def test_exact_bytes_are_pinned():
    assert C.pack(SMALL).hex() == SMALL_HEX
    assert C.unpack(bytes.fromhex(SMALL_HEX)) == SMALL


def test_round_trip_across_processes(run_snippet, tmp_path):
    path = tmp_path / "small.gmc"
    run_snippet("""
        import sys
        from codec.container import Container, write_container
        c = Container("scene", {"n": 152746, "sh": 0, "note": "biker"},
                      (("pos", bytes(range(256)) * 3), ("rot", b"q" * 100)))
        write_container(sys.argv[1], c)
        """, threads=1, args=[str(path)])
    digest = run_snippet("""
        import hashlib, sys
        from codec.container import read_container
        c = read_container(sys.argv[1], "scene")
        h = hashlib.sha256(repr(c.header).encode())
        for name, payload in c.sections:
            h.update(name.encode() + payload)
        sys.stdout.write(h.hexdigest())
        """, threads=2, torch_threads=2, args=[str(path)])
    c = C.read_container(path)
    h = hashlib.sha256(repr(c.header).encode())
    for name, payload in c.sections:
        h.update(name.encode() + payload)
    assert digest.decode() == h.hexdigest()


def test_file_round_trip_and_header_only_read(tmp_path):
    path = tmp_path / "a.gmc"
    n = C.write_container(path, SMALL)
    assert n == path.stat().st_size
    assert C.read_container(path, "image") == SMALL
    info = C.read_container_header(path)
    path.write_bytes(path.read_bytes()[:info.header_size])  # payloads gone: header still reads
    assert C.read_container_header(path, "image") == info
    with pytest.raises(TruncatedError):
        C.read_container(path)


def test_inputs_are_copied_not_aliased():
    header = {"a": 1}
    payload = bytearray(b"abc")
    c = C.Container("image", header, (("s", payload),))
    header["a"] = 2
    payload[0] = 0
    assert c.header == {"a": 1} and c.section("s") == b"abc"


def test_missing_section_is_a_codec_error():
    with pytest.raises(CorruptDataError, match="has no section 'level9' .*level0, level1, level2"):
        SMALL.section("level9")


@pytest.mark.parametrize("bad, exc", [
    (dict(kind="video"), ValueError),
    (dict(header={"flag": True}), TypeError),
    (dict(header={"x": [1]}), TypeError),
    (dict(header={"": 1}), ValueError),
    (dict(header={"n" * 65: 1}), ValueError),
    (dict(header={"big": 1 << 63}), ValueError),
    (dict(sections=(("a", b""), ("a", b""))), ValueError),
    (dict(sections=(("a", "text"),)), TypeError),
    (dict(version=0), ValueError),
    (dict(header={f"f{i}": i for i in range(C.MAX_HEADER_FIELDS + 1)}), LimitExceededError),
    (dict(sections=tuple((f"s{i}", b"") for i in range(C.MAX_SECTIONS + 1))), LimitExceededError),
])
def test_invalid_containers_are_rejected(bad, exc):
    kwargs = dict(kind="image", header={}, sections=())
    kwargs.update(bad)
    with pytest.raises(exc):
        C.Container(**kwargs)


# --- damaged files -----------------------------------------------------------------------

def test_every_truncation_is_a_codec_error():
    data = C.pack(SMALL)
    for n in range(len(data)):
        with pytest.raises(CodecError):
            C.unpack(data[:n])
    for n in range(C.PREAMBLE_SIZE, len(data)):
        with pytest.raises(TruncatedError, match=r"^truncated: expected"):
            C.unpack(data[:n])


def test_truncation_message_names_both_sizes():
    data = C.pack(SMALL)
    with pytest.raises(TruncatedError, match=rf"expected {len(data)} bytes, got {len(data) - 3}"):
        C.unpack(data[:-3])


@pytest.mark.parametrize("mask", [0xFF, 0x01, 0x80, 0x5A])
@pytest.mark.parametrize("allow_partial", [False, True])
def test_every_byte_flip_is_a_codec_error(mask, allow_partial):
    data = C.pack(SMALL)
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= mask
        with pytest.raises(CodecError):
            C.unpack(bytes(bad), allow_partial=allow_partial)


def test_payload_flip_names_the_section():
    data = bytearray(C.pack(SMALL))
    data[-1] ^= 1
    with pytest.raises(ChecksumError, match="checksum mismatch in section 'level2'"):
        C.unpack(bytes(data))


def test_header_flip_is_a_header_checksum_error():
    data = bytearray(C.pack(SMALL))
    data[20] ^= 1
    with pytest.raises(ChecksumError, match="checksum mismatch in header"):
        C.unpack(bytes(data))


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + bytes(40), b"GMCX" + bytes(40),
                                  b"gmci" + bytes(40)])
def test_not_a_codec_file(data):
    with pytest.raises(NotACodecFileError, match="^not a codec file"):
        C.unpack(data)


def test_unsupported_version_is_reported_before_anything_else():
    data = C.pack(C.Container("image", {}, (), version=7))
    with pytest.raises(UnsupportedVersionError, match="^unsupported format version 7"):
        C.unpack(data)
    with pytest.raises(UnsupportedVersionError, match="version 7"):
        C.unpack(data[:6])  # even a 6-byte prefix


def test_wrong_kind():
    data = C.pack(SMALL)
    assert C.detect_kind(data) == "image"
    assert C.unpack(data, "image") == SMALL
    with pytest.raises(WrongKindError, match="this is an image file, not a scene file"):
        C.unpack(data, "scene")
    with pytest.raises(ValueError):
        C.unpack(data, "video")


def test_trailing_bytes_are_corrupt():
    with pytest.raises(CorruptDataError, match="after the last section"):
        C.unpack(C.pack(SMALL) + b"\x00")


def test_reserved_flags_and_unknown_tag_are_corrupt():
    data = bytearray(C.pack(SMALL))
    data[6] = 1
    with pytest.raises(CorruptDataError, match="reserved flags"):
        C.unpack(bytes(data))
    data = bytearray(C.pack(SMALL))
    tag_at = data.index(b"\x05width") + 6
    data[tag_at] = 0x09
    with pytest.raises(CorruptDataError, match="unknown type tag 0x09"):
        C.unpack(reseal(bytes(data)))


# --- limits and allocation ---------------------------------------------------------------

def peak_bytes(fn):
    """Run ``fn``; return (peak bytes traced while it ran, its result or the CodecError)."""
    tracemalloc.start()
    try:
        try:
            out = fn()
        except CodecError as exc:
            out = exc
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("claim", [1 << 40, (1 << 64) - 1, C.MAX_SECTION_BYTES + 1])
@pytest.mark.parametrize("allow_partial", [False, True])
def test_section_claim_over_the_limit_allocates_nothing(claim, allow_partial):
    data = C.pack(SMALL)
    at = section_entry_offset(data, "level1")
    crafted = reseal(data[:at] + struct.pack("<Q", claim) + data[at + 8:])
    peak, out = peak_bytes(lambda: C.unpack(crafted, allow_partial=allow_partial))
    assert isinstance(out, LimitExceededError), out
    assert "section 'level1' claims" in str(out)
    assert peak < 64 * 1024, peak


def test_section_claim_under_the_limit_is_truncated_not_allocated():
    data = C.pack(SMALL)
    at = section_entry_offset(data, "level1")
    claim = C.MAX_TOTAL_BYTES - len(data) - 1
    crafted = reseal(data[:at] + struct.pack("<Q", claim) + data[at + 8:])
    peak, out = peak_bytes(lambda: C.unpack(crafted))
    assert isinstance(out, TruncatedError), out
    assert peak < 64 * 1024, peak
    peak, out = peak_bytes(lambda: C.unpack(crafted, allow_partial=True))
    assert out.section_names == ("level0",)  # level1 incomplete, level2 after it
    assert peak < 64 * 1024, peak


def test_huge_header_claims_allocate_nothing():
    data = C.pack(SMALL)
    cases = [
        data[:8] + struct.pack("<I", 0xFFFFFFFF) + data[12:],                 # header length
        reseal(data[:12] + struct.pack("<HH", 0xFFFF, 3) + data[16:]),        # field count
        reseal(data[:12] + struct.pack("<HH", 5, 0xFFFF) + data[16:]),        # section count
    ]
    model_at = data.index(b"\x05model\x03") + 7                               # str length
    cases.append(reseal(data[:model_at] + struct.pack("<I", 0xFFFFFFFF) + data[model_at + 4:]))
    for crafted in cases:
        peak, err = peak_bytes(lambda: C.unpack(crafted))
        assert isinstance(err, (LimitExceededError, CorruptDataError)), err
        assert peak < 64 * 1024, peak


def test_pack_refuses_an_oversized_header():
    big = C.Container("image", {"blob": b"\x00" * C.MAX_HEADER_BYTES})
    with pytest.raises(LimitExceededError, match="header is"):
        C.pack(big)


# --- partial files -------------------------------------------------------------------------

def test_allow_partial_returns_complete_sections_only():
    data = C.pack(SMALL)
    info = C.unpack_header(data)
    ends = [info.header_size]
    for _, size, _ in info.sections:
        ends.append(ends[-1] + size)
    for n in range(info.header_size, len(data) + 1):
        got = C.unpack(data[:n], allow_partial=True)
        complete = sum(1 for end in ends[1:] if end <= n)
        assert got.sections == SMALL.sections[:complete]
        assert got.header == SMALL.header
        if n < len(data):
            with pytest.raises(TruncatedError):
                C.unpack(data[:n])
