"""The container every file of this codec uses: magic, version, typed header, named sections.

Byte layout (all integers little-endian; ``docs/format.md`` has the full tables)::

    offset  size  type  meaning
    0       4     -     magic: b"GMCI" image, b"GMCS" scene, b"GMCV" stream
    4       2     u16   format version (FORMAT_VERSION)
    6       2     u16   flags, reserved, must be 0
    8       4     u32   H: length of the header body
    12      H     -     header body: typed fields, then the section table (name, size, crc32)
    12+H    4     u32   CRC32 of bytes [0, 12+H)
    16+H    ...   -     section payloads, back to back, in table order

The section table lives in the checksummed header, so a reader knows every section's size and
CRC32 before touching a payload: ``unpack_header`` reads only the first ``16+H`` bytes, and a
file cut short anywhere, even exactly at a section boundary, is reported as truncated.
``unpack(data, allow_partial=True)`` instead returns the complete sections of a prefix (for
serving a lower quality from the first sections of an image).

Every length is checked against the bytes present and against the ``MAX_*`` limits before
anything is sliced or allocated; every failure is a :class:`codec.errors.CodecError` subclass.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from os import PathLike

from codec.fileio import atomic_write, read_bytes, read_prefix
from codec.errors import (
    ChecksumError,
    CorruptDataError,
    LimitExceededError,
    NotACodecFileError,
    TruncatedError,
    UnsupportedVersionError,
    WrongKindError,
)

__all__ = [
    "FORMAT_VERSION", "KIND_IMAGE", "KIND_SCENE", "KIND_STREAM",
    "MAGIC_IMAGE", "MAGIC_SCENE", "MAGIC_STREAM", "MAGIC_BY_KIND",
    "TAG_I64", "TAG_F64", "TAG_STR", "TAG_BYTES", "TYPE_NAMES",
    "MAX_HEADER_BYTES", "MAX_HEADER_FIELDS", "MAX_NAME_BYTES", "MAX_SECTIONS",
    "MAX_SECTION_BYTES", "MAX_TOTAL_BYTES", "PREAMBLE_SIZE",
    "Container", "ContainerHeader", "pack", "unpack", "unpack_header", "detect_kind",
    "field_type", "read_container", "read_container_header", "write_container",
]

FORMAT_VERSION = 1

KIND_IMAGE = "image"
KIND_SCENE = "scene"
KIND_STREAM = "stream"

MAGIC_IMAGE = b"GMCI"
MAGIC_SCENE = b"GMCS"
MAGIC_STREAM = b"GMCV"
MAGIC_BY_KIND: dict[str, bytes] = {
    KIND_IMAGE: MAGIC_IMAGE,
    KIND_SCENE: MAGIC_SCENE,
    KIND_STREAM: MAGIC_STREAM,
}
_KIND_BY_MAGIC = {magic: kind for kind, magic in MAGIC_BY_KIND.items()}

# Header field type tags (u8). Fixed numbers: never derive them from an enumeration order.
TAG_I64 = 0x01  # signed 64-bit integer
TAG_F64 = 0x02  # IEEE 754 binary64
TAG_STR = 0x03  # u32 length + UTF-8 text
TAG_BYTES = 0x04  # u32 length + raw bytes
TYPE_NAMES: dict[int, str] = {TAG_I64: "i64", TAG_F64: "f64", TAG_STR: "str", TAG_BYTES: "bytes"}

# Hard limits. A reader rejects anything beyond them before allocating.
MAX_HEADER_BYTES = 1 << 20  # header body (fields + section table)
MAX_HEADER_FIELDS = 256
MAX_NAME_BYTES = 64  # UTF-8 bytes of a field or section name
MAX_SECTIONS = 4096
MAX_SECTION_BYTES = 1 << 32  # one section's payload
MAX_TOTAL_BYTES = 1 << 32  # header + all payloads

_PREAMBLE = struct.Struct("<4sHHI")  # magic, version, flags, header body length
PREAMBLE_SIZE = _PREAMBLE.size  # 12
_CRC = struct.Struct("<I")
_COUNTS = struct.Struct("<HH")  # field count, section count
_SECTION_ENTRY = struct.Struct("<QI")  # payload size, payload crc32
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
_U32 = struct.Struct("<I")

HeaderValue = int | float | str | bytes


def _crc32(data: bytes | memoryview) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def field_type(value: HeaderValue) -> str:
    """Type name (``"i64"``, ``"f64"``, ``"str"``, ``"bytes"``) a header value is stored as."""
    return TYPE_NAMES[_tag_of("value", value)]


def _tag_of(name: str, value: object) -> int:
    if isinstance(value, bool):  # bool is an int subclass; storing it would not round-trip
        raise TypeError(f"header field {name!r}: bool is not a header type, store int(value)")
    if isinstance(value, int):
        return TAG_I64
    if isinstance(value, float):
        return TAG_F64
    if isinstance(value, str):
        return TAG_STR
    if isinstance(value, bytes):
        return TAG_BYTES
    raise TypeError(f"header field {name!r}: unsupported type {type(value).__name__}"
                    " (use int, float, str or bytes)")


def _check_name(what: str, name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be str, got {type(name).__name__}")
    size = len(name.encode("utf-8"))
    if not 1 <= size <= MAX_NAME_BYTES:
        raise ValueError(f"{what} name {name!r} must be 1 to {MAX_NAME_BYTES} UTF-8 bytes")


@dataclass(frozen=True)
class Container:
    """One codec file in memory.

    Args:
        kind (str): ``"image"``, ``"scene"`` or ``"stream"``; selects the magic number.
        header (dict[str, int | float | str | bytes]): typed fields, insertion order kept.
            ``int`` is stored as i64, ``float`` as f64, ``str`` as UTF-8, ``bytes`` as is.
        sections (tuple[tuple[str, bytes], ...]): ordered, uniquely named payloads.
        version (int): format version written to the file.

    The constructor copies its inputs (``bytearray``/``memoryview`` payloads become ``bytes``)
    and validates names, types and limits, so a ``Container`` always packs.
    """

    kind: str
    header: dict[str, HeaderValue]
    sections: tuple[tuple[str, bytes], ...] = ()
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.kind not in MAGIC_BY_KIND:
            raise ValueError(f"unknown container kind {self.kind!r}; expected one of "
                             f"{', '.join(MAGIC_BY_KIND)}")
        if isinstance(self.version, bool) or not isinstance(self.version, int) \
                or not 1 <= self.version <= 0xFFFF:
            raise ValueError(f"format version must be an int in 1..65535, got {self.version!r}")
        header = dict(self.header)
        if len(header) > MAX_HEADER_FIELDS:
            raise LimitExceededError(f"{len(header)} header fields, the limit is {MAX_HEADER_FIELDS}")
        for name, value in header.items():
            _check_name("header field", name)
            if _tag_of(name, value) == TAG_I64 and not -(1 << 63) <= value < (1 << 63):
                raise ValueError(f"header field {name!r}: {value} does not fit in i64")
        sections = []
        for item in self.sections:
            name, payload = item
            _check_name("section", name)
            if not isinstance(payload, (bytes, bytearray, memoryview)):
                raise TypeError(f"section {name!r}: payload must be bytes, "
                                f"got {type(payload).__name__}")
            sections.append((name, bytes(payload)))
        names = [name for name, _ in sections]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate section names in {names}")
        if len(sections) > MAX_SECTIONS:
            raise LimitExceededError(f"{len(sections)} sections, the limit is {MAX_SECTIONS}")
        for name, payload in sections:
            if len(payload) > MAX_SECTION_BYTES:
                raise LimitExceededError(f"section {name!r} is {len(payload)} bytes, "
                                         f"the limit is {MAX_SECTION_BYTES}")
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "sections", tuple(sections))

    def section(self, name: str) -> bytes:
        """Payload of the section called ``name``.

        Raises:
            CorruptDataError: there is no such section (a decoder asking for a section the
                file must have; check ``section_names`` for optional or partial ones).
        """
        for key, payload in self.sections:
            if key == name:
                return payload
        raise CorruptDataError(f"the {self.kind} file has no section {name!r} "
                               f"(it has: {', '.join(self.section_names) or 'none'})")

    @property
    def section_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.sections)


@dataclass(frozen=True)
class ContainerHeader:
    """What ``unpack_header`` learns from the first ``header_size`` bytes of a file.

    ``sections`` lists ``(name, size, crc32)`` for every section the file declares, whether or
    not its bytes are present; ``total_size`` is the size of the complete file.
    """

    kind: str
    version: int
    header: dict[str, HeaderValue]
    sections: tuple[tuple[str, int, int], ...]
    header_size: int

    @property
    def total_size(self) -> int:
        return self.header_size + sum(size for _, size, _ in self.sections)


def pack(container: Container) -> bytes:
    """Serialize ``container`` to bytes (layout in the module docstring)."""
    body = [_COUNTS.pack(len(container.header), len(container.sections))]
    for name, value in container.header.items():
        tag = _tag_of(name, value)
        body.append(_name_bytes(name) + bytes([tag]))
        if tag == TAG_I64:
            body.append(_I64.pack(value))
        elif tag == TAG_F64:
            body.append(_F64.pack(value))
        else:
            raw = value.encode("utf-8") if tag == TAG_STR else value
            body.append(_U32.pack(len(raw)) + raw)
    for name, payload in container.sections:
        body.append(_name_bytes(name) + _SECTION_ENTRY.pack(len(payload), _crc32(payload)))
    body_bytes = b"".join(body)
    if len(body_bytes) > MAX_HEADER_BYTES:
        raise LimitExceededError(f"header is {len(body_bytes)} bytes, the limit is {MAX_HEADER_BYTES}")
    head = _PREAMBLE.pack(MAGIC_BY_KIND[container.kind], container.version, 0, len(body_bytes))
    head += body_bytes
    total = len(head) + _CRC.size + sum(len(p) for _, p in container.sections)
    if total > MAX_TOTAL_BYTES:
        raise LimitExceededError(f"container would be {total} bytes, the limit is {MAX_TOTAL_BYTES}")
    return b"".join([head, _CRC.pack(_crc32(head))] + [p for _, p in container.sections])


def _name_bytes(name: str) -> bytes:
    raw = name.encode("utf-8")
    return bytes([len(raw)]) + raw


def detect_kind(data: bytes) -> str:
    """Kind (``"image"``, ...) of the codec file starting with ``data``; raises if none."""
    magic = bytes(data[:4])
    if magic in _KIND_BY_MAGIC:
        return _KIND_BY_MAGIC[magic]
    if not magic:
        raise NotACodecFileError("not a codec file (it is empty)")
    if len(magic) < 4 and any(m.startswith(magic) for m in _KIND_BY_MAGIC):
        raise TruncatedError(f"truncated: expected at least 4 bytes, got {len(magic)}")
    raise NotACodecFileError(f"not a codec file (it starts with {magic!r}, expected one of "
                             f"{', '.join(repr(m) for m in _KIND_BY_MAGIC)})")


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def unpack_header(data: bytes, kind: str | None = None) -> ContainerHeader:
    """Parse and verify the header of a codec file; ``data`` may be just its first bytes.

    Needs only ``ContainerHeader.header_size`` bytes; payloads are neither read nor checked.
    With ``kind`` given, a file of another kind raises :class:`WrongKindError`.
    """
    if kind is not None and kind not in MAGIC_BY_KIND:
        raise ValueError(f"unknown container kind {kind!r}")
    view = memoryview(data).cast("B")
    found = detect_kind(view[:4])
    if kind is not None and found != kind:
        raise WrongKindError(f"this is {_a(found)} file, not {_a(kind)} file")
    if len(view) >= 6:
        version = int.from_bytes(view[4:6], "little")
        if version != FORMAT_VERSION:
            raise UnsupportedVersionError(
                f"unsupported format version {version} (this build reads version "
                f"{FORMAT_VERSION}; a newer codec may read it)")
    if len(view) < PREAMBLE_SIZE:
        raise TruncatedError(f"truncated: expected at least {PREAMBLE_SIZE} bytes, got {len(view)}")
    _, version, flags, body_len = _PREAMBLE.unpack(view[:PREAMBLE_SIZE])
    if flags != 0:
        raise CorruptDataError(f"corrupt header: reserved flags are {flags:#06x}, expected 0")
    if body_len > MAX_HEADER_BYTES:
        raise LimitExceededError(f"header claims {body_len} bytes, the limit is {MAX_HEADER_BYTES}"
                                 " (the file is corrupt or not from this codec)")
    header_end = PREAMBLE_SIZE + body_len
    header_size = header_end + _CRC.size
    if len(view) < header_size:
        raise TruncatedError(f"truncated: expected at least {header_size} bytes for the header, "
                             f"got {len(view)}")
    (stored_crc,) = _CRC.unpack(view[header_end:header_size])
    if _crc32(view[:header_end]) != stored_crc:
        raise ChecksumError("checksum mismatch in header (the file is corrupt)")
    fields, sections = _parse_body(view[PREAMBLE_SIZE:header_end])
    return ContainerHeader(found, version, fields, sections, header_size)


class _Cursor:
    """Bounds-checked reader over the (already checksummed) header body."""

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.pos = 0

    def take(self, n: int, what: str) -> memoryview:
        if n > len(self.view) - self.pos:
            raise CorruptDataError(f"corrupt header: {what} runs past the end of the header")
        out = self.view[self.pos:self.pos + n]
        self.pos += n
        return out

    def name(self, what: str) -> str:
        size = self.take(1, f"{what} name length")[0]
        if not 1 <= size <= MAX_NAME_BYTES:
            raise CorruptDataError(f"corrupt header: {what} name length {size} is not in "
                                   f"1..{MAX_NAME_BYTES}")
        return _utf8(self.take(size, f"{what} name"), f"{what} name")


def _utf8(raw: memoryview, what: str) -> str:
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptDataError(f"corrupt header: {what} is not valid UTF-8") from None


def _parse_body(body: memoryview):
    cur = _Cursor(body)
    n_fields, n_sections = _COUNTS.unpack(cur.take(_COUNTS.size, "field and section counts"))
    if n_fields > MAX_HEADER_FIELDS:
        raise LimitExceededError(f"header claims {n_fields} fields, the limit is {MAX_HEADER_FIELDS}")
    if n_sections > MAX_SECTIONS:
        raise LimitExceededError(f"header claims {n_sections} sections, the limit is {MAX_SECTIONS}")
    fields: dict[str, HeaderValue] = {}
    for _ in range(n_fields):
        name = cur.name("field")
        if name in fields:
            raise CorruptDataError(f"corrupt header: field {name!r} appears twice")
        tag = cur.take(1, f"type of field {name!r}")[0]
        if tag == TAG_I64:
            (fields[name],) = _I64.unpack(cur.take(8, f"field {name!r}"))
        elif tag == TAG_F64:
            (fields[name],) = _F64.unpack(cur.take(8, f"field {name!r}"))
        elif tag in (TAG_STR, TAG_BYTES):
            (size,) = _U32.unpack(cur.take(4, f"length of field {name!r}"))
            raw = cur.take(size, f"field {name!r}")  # bounded by the header body, never allocates
            fields[name] = _utf8(raw, f"field {name!r}") if tag == TAG_STR else bytes(raw)
        else:
            raise CorruptDataError(f"corrupt header: field {name!r} has unknown type tag {tag:#04x}"
                                   " (written by a newer codec?)")
    sections = []
    seen = set()
    total = PREAMBLE_SIZE + len(body) + _CRC.size
    for _ in range(n_sections):
        name = cur.name("section")
        if name in seen:
            raise CorruptDataError(f"corrupt header: section {name!r} appears twice")
        seen.add(name)
        size, crc = _SECTION_ENTRY.unpack(cur.take(_SECTION_ENTRY.size, f"entry of section {name!r}"))
        if size > MAX_SECTION_BYTES:
            raise LimitExceededError(f"section {name!r} claims {size} bytes, the limit is "
                                     f"{MAX_SECTION_BYTES}")
        total += size
        if total > MAX_TOTAL_BYTES:
            raise LimitExceededError(f"file claims at least {total} bytes, the limit is "
                                     f"{MAX_TOTAL_BYTES}")
        sections.append((name, size, crc))
    if cur.pos != len(body):
        raise CorruptDataError(f"corrupt header: {len(body) - cur.pos} unexpected bytes at its end")
    return fields, tuple(sections)


def unpack(data: bytes, kind: str | None = None, *, allow_partial: bool = False) -> Container:
    """Parse and verify a whole codec file.

    Args:
        data (bytes): the file's bytes (``bytes``, ``bytearray`` or ``memoryview``).
        kind (str | None): expected kind; another kind raises :class:`WrongKindError`.
        allow_partial (bool): if False (default), a file shorter than its header declares
            raises :class:`TruncatedError`, even when cut exactly between sections. If True,
            return only the sections whose bytes are all present (a prefix of the table);
            compare with ``unpack_header(data).sections`` to see what is missing.

    Every returned section has passed its CRC32 check. Bytes after the last declared section
    raise :class:`CorruptDataError` (use ``unpack_header(data).total_size`` to split
    concatenated containers).
    """
    info = unpack_header(data, kind)
    view = memoryview(data).cast("B")
    if len(view) < info.total_size and not allow_partial:
        present = _complete_sections(info, len(view))
        raise TruncatedError(f"truncated: expected {info.total_size} bytes, got {len(view)} "
                             f"({present} of {len(info.sections)} sections complete; "
                             "the file is incomplete, copy or encode it again)")
    if len(view) > info.total_size:
        raise CorruptDataError(f"corrupt file: {len(view) - info.total_size} unexpected byte(s) "
                               "after the last section")
    sections = []
    pos = info.header_size
    for name, size, crc in info.sections:
        if pos + size > len(view):
            break  # only reachable with allow_partial
        payload = view[pos:pos + size]
        if _crc32(payload) != crc:
            raise ChecksumError(f"checksum mismatch in section {name!r} (the file is corrupt)")
        sections.append((name, bytes(payload)))
        pos += size
    return Container(info.kind, info.header, tuple(sections), info.version)


def _complete_sections(info: ContainerHeader, available: int) -> int:
    pos, count = info.header_size, 0
    for _, size, _ in info.sections:
        pos += size
        if pos > available:
            break
        count += 1
    return count


def read_container(path: str | PathLike, kind: str | None = None, *,
                   allow_partial: bool = False) -> Container:
    """Read and verify the codec file at ``path`` (see :func:`unpack`)."""
    return unpack(read_bytes(path, max_size=MAX_TOTAL_BYTES), kind, allow_partial=allow_partial)


def read_container_header(path: str | PathLike, kind: str | None = None) -> ContainerHeader:
    """Read only the header of the codec file at ``path`` (payloads are not read)."""
    head = read_prefix(path, PREAMBLE_SIZE)
    if len(head) >= PREAMBLE_SIZE and head[:4] in _KIND_BY_MAGIC:
        body_len = int.from_bytes(head[8:12], "little")
        if body_len <= MAX_HEADER_BYTES:
            head = read_prefix(path, PREAMBLE_SIZE + body_len + _CRC.size)
    return unpack_header(head, kind)


def write_container(path: str | PathLike, container: Container, *, force: bool = False) -> int:
    """Pack ``container`` and write it atomically to ``path``; returns the bytes written."""
    data = pack(container)
    atomic_write(path, data, force=force)
    return len(data)
