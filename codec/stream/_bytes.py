"""Bounds-checked little-endian byte building and parsing for stream payloads.

Every read checks the bytes present first and raises :class:`CorruptDataError` naming the
field, so a truncated or damaged payload can never index out of range or allocate more than
the payload could describe.
"""

from __future__ import annotations

import struct

from codec.errors import CorruptDataError

__all__ = ["ByteWriter", "ByteReader"]

_U8, _U16, _U32, _F32, _F64 = (struct.Struct(f) for f in ("<B", "<H", "<I", "<f", "<d"))


class ByteWriter:
    """Appends fixed-width little-endian integers, floats, varints and length-prefixed blobs."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, v: int) -> None:
        self._parts.append(_U8.pack(v))

    def u16(self, v: int) -> None:
        self._parts.append(_U16.pack(v))

    def u32(self, v: int) -> None:
        self._parts.append(_U32.pack(v))

    def f32(self, v: float) -> None:
        self._parts.append(_F32.pack(v))

    def varint(self, v: int) -> None:
        """Unsigned LEB128."""
        if v < 0:
            raise ValueError("varint must be non-negative")
        out = bytearray()
        while True:
            byte = v & 0x7F
            v >>= 7
            if v:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                break
        self._parts.append(bytes(out))

    def blob(self, data: bytes) -> None:
        """u32 length + bytes."""
        self.u32(len(data))
        self._parts.append(bytes(data))

    def raw(self, data: bytes) -> None:
        self._parts.append(bytes(data))

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class ByteReader:
    """Reads what :class:`ByteWriter` wrote; ``what`` names the payload in error messages."""

    def __init__(self, data: bytes, what: str) -> None:
        self._view = memoryview(data)
        self._pos = 0
        self._what = what

    def _take(self, n: int, field: str) -> memoryview:
        if n < 0 or n > len(self._view) - self._pos:
            raise CorruptDataError(f"corrupt {self._what}: {field} runs past the end of the data")
        out = self._view[self._pos:self._pos + n]
        self._pos += n
        return out

    def u8(self, field: str) -> int:
        return _U8.unpack(self._take(1, field))[0]

    def u16(self, field: str) -> int:
        return _U16.unpack(self._take(2, field))[0]

    def u32(self, field: str) -> int:
        return _U32.unpack(self._take(4, field))[0]

    def f32(self, field: str) -> float:
        return _F32.unpack(self._take(4, field))[0]

    def varint(self, field: str, limit: int = 1 << 40) -> int:
        value, shift = 0, 0
        while True:
            byte = self._take(1, field)[0]
            value |= (byte & 0x7F) << shift
            if value > limit:
                raise CorruptDataError(f"corrupt {self._what}: {field} is larger than {limit}")
            if not byte & 0x80:
                return value
            shift += 7

    def blob(self, field: str) -> bytes:
        n = self.u32(f"{field} length")
        return bytes(self._take(n, field))

    @property
    def remaining(self) -> int:
        return len(self._view) - self._pos

    def expect_end(self) -> None:
        if self.remaining:
            raise CorruptDataError(f"corrupt {self._what}: {self.remaining} unexpected byte(s) at the end")
