"""The stream file: a container header, then self-delimiting CRC'd frame records, then an
optional index. Appending never rewrites what is already there.

Byte layout (little-endian; ``docs/streaming.md`` has the full tables)::

    container (kind "stream", magic b"GMCV", no sections): fields
        fps (f64), gop (i64), stream_version (i64), sh_degree (i64), created_by (str)
    record*:                                 RECORD_HEADER_SIZE = 32 bytes, then the payload
        0   4  magic b"GMFR"
        4   1  type: 1 keyframe, 2 delta frame, 3 index
        5   3  reserved, 0
        8   4  u32 frame number (index record: the frame count)
        12  8  f64 timestamp in seconds (index record: 0.0)
        20  4  u32 payload size P (<= MAX_PAYLOAD_BYTES)
        24  4  u32 CRC32 of the payload
        28  4  u32 CRC32 of bytes [0, 28) of this record
        32  P  payload
    trailer (only after an index record):    TRAILER_SIZE = 16 bytes
        0   4  magic b"GMIE"
        4   8  u64 offset of the index record
        12  4  u32 CRC32 of bytes [0, 12)

Frame records are numbered 0, 1, 2, ... in file order; frame 0 is a keyframe; a delta
frame depends on every frame back to the previous keyframe. The index record payload is the
frame count times ``(u64 offset, u32 size, u8 flags (bit 0 keyframe), f64 timestamp)``
(21 bytes each). A writer that closes the file appends index + trailer; one that reopens it
for appending cuts them off first. A reader uses the trailer's index when it is valid and
otherwise scans the records (a live file has no index yet); both give the same
:class:`FrameEntry` list.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass

from codec.container import PREAMBLE_SIZE, Container, pack, unpack_header
from codec.errors import (
    ChecksumError,
    CorruptDataError,
    LimitExceededError,
    TruncatedError,
)

__all__ = [
    "STREAM_VERSION", "RECORD_MAGIC", "TRAILER_MAGIC", "RECORD_HEADER_SIZE", "TRAILER_SIZE",
    "TYPE_KEYFRAME", "TYPE_DELTA", "TYPE_INDEX", "MAX_PAYLOAD_BYTES", "MAX_FRAMES",
    "StreamInfo", "FrameEntry", "Record", "stream_header", "parse_stream_header",
    "pack_record", "parse_record_header", "pack_index", "parse_index", "pack_trailer",
    "parse_trailer", "scan_records",
]

STREAM_VERSION = 1
RECORD_MAGIC = b"GMFR"
TRAILER_MAGIC = b"GMIE"
TYPE_KEYFRAME = 1
TYPE_DELTA = 2
TYPE_INDEX = 3
MAX_PAYLOAD_BYTES = 1 << 28  # 256 MiB per frame
MAX_FRAMES = 1 << 24

_RECORD = struct.Struct("<4sB3sIdII")  # up to and excluding the header CRC
_CRC = struct.Struct("<I")
RECORD_HEADER_SIZE = _RECORD.size + _CRC.size  # 32
_TRAILER = struct.Struct("<4sQ")
TRAILER_SIZE = _TRAILER.size + _CRC.size  # 16
_ENTRY = struct.Struct("<QIBd")  # 21 bytes


def _crc(data) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class StreamInfo:
    """The stream-level header fields."""

    fps: float
    gop: int
    sh_degree: int
    header_size: int
    created_by: str = ""


@dataclass(frozen=True)
class FrameEntry:
    """One frame in the index: where its record starts, its payload size, type, time."""

    number: int
    offset: int
    size: int
    keyframe: bool
    timestamp: float

    @property
    def record_size(self) -> int:
        return RECORD_HEADER_SIZE + self.size


@dataclass(frozen=True)
class Record:
    """A parsed record header (payload not included)."""

    type: int
    number: int
    timestamp: float
    size: int
    payload_crc: int


def stream_header(fps: float, gop: int, sh_degree: int, created_by: str = "gmcodec") -> bytes:
    """The container bytes that open a stream file."""
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and 0 < fps <= 1000):
        raise ValueError(f"fps must be in (0, 1000], got {fps!r}")
    return pack(Container("stream", {"fps": float(fps), "gop": int(gop),
                                     "stream_version": STREAM_VERSION, "sh_degree": int(sh_degree),
                                     "created_by": created_by}))


def parse_stream_header(data: bytes) -> StreamInfo:
    """Parse the container at the start of ``data`` (may be the whole file or a prefix)."""
    info = unpack_header(data, "stream")
    if info.sections:
        raise CorruptDataError("corrupt stream: its container declares sections")
    h = info.header
    try:
        fps, gop, version, sh = h["fps"], h["gop"], h["stream_version"], h["sh_degree"]
    except KeyError as exc:
        raise CorruptDataError(f"corrupt stream: header field {exc.args[0]!r} is missing") from None
    if version != STREAM_VERSION:
        raise CorruptDataError(f"unsupported stream version {version} (this build reads {STREAM_VERSION})")
    if not isinstance(fps, float) or not math.isfinite(fps) or not 0 < fps <= 1000:
        raise CorruptDataError(f"corrupt stream: fps {fps!r} is not in (0, 1000]")
    if not isinstance(gop, int) or not isinstance(sh, int) or gop < 0 or sh not in (0, 1, 2, 3):
        raise CorruptDataError("corrupt stream: bad gop or sh_degree field")
    return StreamInfo(fps, gop, sh, info.header_size, str(h.get("created_by", "")))


def header_size_hint(prefix: bytes) -> int:
    """Bytes needed for the container header, from its first PREAMBLE_SIZE bytes."""
    if len(prefix) < PREAMBLE_SIZE:
        return PREAMBLE_SIZE
    return PREAMBLE_SIZE + int.from_bytes(prefix[8:12], "little") + 4


def pack_record(rtype: int, number: int, timestamp: float, payload: bytes) -> bytes:
    """A complete record: 32-byte header + payload."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise LimitExceededError(f"frame payload is {len(payload)} bytes, the limit is {MAX_PAYLOAD_BYTES}")
    head = _RECORD.pack(RECORD_MAGIC, rtype, b"\0\0\0", number, float(timestamp), len(payload), _crc(payload))
    return head + _CRC.pack(_crc(head)) + payload


def parse_record_header(data: bytes, offset: int) -> Record:
    """Parse and verify the record header at ``offset``; ``data`` must hold its 32 bytes."""
    raw = memoryview(data)[offset:offset + RECORD_HEADER_SIZE]
    if len(raw) < RECORD_HEADER_SIZE:
        raise TruncatedError(f"truncated: a frame record at byte {offset} is cut short")
    magic, rtype, reserved, number, ts, size, pcrc = _RECORD.unpack(raw[:_RECORD.size])
    if magic != RECORD_MAGIC:
        raise CorruptDataError(f"corrupt stream: no frame record at byte {offset}")
    if _CRC.unpack(raw[_RECORD.size:])[0] != _crc(raw[:_RECORD.size]):
        raise ChecksumError(f"checksum mismatch in the frame record header at byte {offset}")
    if rtype not in (TYPE_KEYFRAME, TYPE_DELTA, TYPE_INDEX) or reserved != b"\0\0\0":
        raise CorruptDataError(f"corrupt stream: unknown record type {rtype} at byte {offset}")
    if size > MAX_PAYLOAD_BYTES:
        raise LimitExceededError(f"frame record at byte {offset} claims {size} bytes, "
                                 f"the limit is {MAX_PAYLOAD_BYTES}")
    if not math.isfinite(ts):
        raise CorruptDataError(f"corrupt stream: bad timestamp at byte {offset}")
    return Record(rtype, number, ts, size, pcrc)


def check_payload(record: Record, payload: bytes, number: int) -> None:
    if len(payload) != record.size:
        raise TruncatedError(f"truncated: frame {number} needs {record.size} bytes, got {len(payload)}")
    if _crc(payload) != record.payload_crc:
        raise ChecksumError(f"checksum mismatch in frame {number} (the stream is corrupt)")


def pack_index(entries: list[FrameEntry]) -> bytes:
    body = b"".join(_ENTRY.pack(e.offset, e.size, 1 if e.keyframe else 0, e.timestamp) for e in entries)
    return pack_record(TYPE_INDEX, len(entries), 0.0, body)


def parse_index(record: Record, payload: bytes) -> list[FrameEntry]:
    if record.type != TYPE_INDEX or record.size != record.number * _ENTRY.size:
        raise CorruptDataError("corrupt stream: bad index record")
    out = []
    for i in range(record.number):
        off, size, flags, ts = _ENTRY.unpack_from(payload, i * _ENTRY.size)
        out.append(FrameEntry(i, off, size, bool(flags & 1), ts))
    return out


def pack_trailer(index_offset: int) -> bytes:
    head = _TRAILER.pack(TRAILER_MAGIC, index_offset)
    return head + _CRC.pack(_crc(head))


def parse_trailer(tail: bytes) -> int | None:
    """Offset of the index record from the last TRAILER_SIZE bytes, or None if no trailer."""
    if len(tail) != TRAILER_SIZE or tail[:4] != TRAILER_MAGIC:
        return None
    if _CRC.unpack(tail[_TRAILER.size:])[0] != _crc(tail[:_TRAILER.size]):
        return None
    return _TRAILER.unpack(tail[:_TRAILER.size])[1]


def scan_records(read_at, start: int, end: int, entries: list[FrameEntry], *,
                 complete: bool) -> tuple[int, int | None]:
    """Walk frame records from ``start`` up to ``end`` (the bytes available), appending
    verified-header :class:`FrameEntry` items to ``entries`` (numbered on from its length).

    ``read_at(offset, n) -> bytes`` reads the file. Payload CRCs are not checked here (the
    reader checks each payload when it decodes it). Returns ``(position after the last
    complete frame record, offset of an index record or None)``. With ``complete`` (a
    finished file), bytes that do not form a whole record raise :class:`TruncatedError`;
    otherwise scanning stops there and a later call continues (a growing file).
    """
    pos = start
    while pos < end:
        if end - pos < RECORD_HEADER_SIZE:
            if complete:
                raise TruncatedError(f"truncated: {end - pos} stray byte(s) at the end of the stream")
            break
        head = read_at(pos, RECORD_HEADER_SIZE)
        if head[:4] == TRAILER_MAGIC and end - pos == TRAILER_SIZE and complete:
            raise CorruptDataError("corrupt stream: trailer without an index record")
        rec = parse_record_header(head, 0) if head[:4] == RECORD_MAGIC else _bad(pos)
        if rec.type == TYPE_INDEX:
            return pos, pos
        if pos + RECORD_HEADER_SIZE + rec.size > end:
            if complete:
                raise TruncatedError(f"truncated: frame {len(entries)} needs "
                                     f"{RECORD_HEADER_SIZE + rec.size} bytes, {end - pos} are there")
            break
        number = len(entries)
        if rec.number != number:
            raise CorruptDataError(f"corrupt stream: record at byte {pos} is frame {rec.number}, "
                                   f"expected frame {number}")
        if number >= MAX_FRAMES:
            raise LimitExceededError(f"more than {MAX_FRAMES} frames")
        if number == 0 and rec.type != TYPE_KEYFRAME:
            raise CorruptDataError("corrupt stream: the first frame is not a keyframe")
        entries.append(FrameEntry(number, pos, rec.size, rec.type == TYPE_KEYFRAME, rec.timestamp))
        pos += RECORD_HEADER_SIZE + rec.size
    return pos, None


def _bad(pos: int):
    raise CorruptDataError(f"corrupt stream: no frame record at byte {pos}")
