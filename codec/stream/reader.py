"""Reading streams: :class:`StreamReader` iterates decoded frames from a file or a server.

``StreamReader(path_or_url)`` yields :class:`~codec.scene.GaussianScene` frames in order and
supports ``seek(n)``: it decodes from the nearest keyframe at or before ``n`` (or goes on
from the frame it holds when that is closer). With ``follow=True`` it waits for frames that a
writer is still appending, until the writer closes the stream or nothing new arrives for
``timeout`` seconds. A URL (``http://127.0.0.1:8000/streams/ID``) reads through the server's
manifest and frame endpoints (:mod:`codec.stream.client`).

Every problem with the data is a :class:`~codec.errors.CodecError`.
"""

from __future__ import annotations

import os
import time
from os import PathLike
from pathlib import Path

import numpy as np

from codec.container import MAX_HEADER_BYTES
from codec.errors import CorruptDataError, InvalidInputError, TruncatedError
from codec.scene.data import GaussianScene

from .format import (
    MAX_FRAMES,
    MAX_PAYLOAD_BYTES,
    PREAMBLE_SIZE,
    RECORD_HEADER_SIZE,
    TRAILER_SIZE,
    TYPE_INDEX,
    TYPE_KEYFRAME,
    FrameEntry,
    StreamInfo,
    check_payload,
    header_size_hint,
    parse_index,
    parse_record_header,
    parse_stream_header,
    parse_trailer,
    scan_records,
)
from .keyframe import KeyframeCodec, decode_keyframe, default_keyframe_codec
from .residual import DeltaState, decode_delta

__all__ = ["StreamReader", "FileSource", "scan_file", "decode_record"]


class FileSource:
    """Random access to a (possibly growing) stream file."""

    def __init__(self, path: str | PathLike) -> None:
        self.path = Path(path)
        try:
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            raise InvalidInputError(f"no such file: {self.path}") from None
        except IsADirectoryError:
            raise InvalidInputError(f"{self.path} is a directory, not a file") from None
        except OSError as exc:
            raise InvalidInputError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        if os.path.isdir(self.path):
            os.close(self._fd)
            raise InvalidInputError(f"{self.path} is a directory, not a file")
        self.info: StreamInfo | None = None
        self.entries: list[FrameEntry] = []
        self.finished = False
        self._scan_pos = 0

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def read_at(self, offset: int, n: int) -> bytes:
        try:
            return os.pread(self._fd, n, offset)
        except OSError as exc:
            raise InvalidInputError(f"cannot read {self.path}: {exc.strerror or exc}") from None

    def refresh(self, *, complete: bool) -> None:
        """Learn about frames added since the last call (all of them the first time)."""
        if self.finished:
            return
        size = self.size()
        if self.info is None:
            head = self.read_at(0, PREAMBLE_SIZE)
            if len(head) < PREAMBLE_SIZE and not complete:
                return
            if len(head) == PREAMBLE_SIZE:
                # The length is the file's claim: read no more than the header limit allows and the
                # file holds. A longer claim leaves the container check to raise (limit or truncated).
                need = min(header_size_hint(head), PREAMBLE_SIZE + MAX_HEADER_BYTES + 4, size)
                head = self.read_at(0, max(need, PREAMBLE_SIZE))
            try:
                self.info = parse_stream_header(head)
            except TruncatedError:
                if complete:
                    raise
                return
            self._scan_pos = self.info.header_size
            if self._try_index(size):
                return
        pos, index_at = scan_records(self.read_at, self._scan_pos, size, self.entries, complete=False)
        self._scan_pos = pos
        if index_at is not None:
            if self._try_index(size):
                return
            if complete:  # a writer closing right now shows a half-written index: wait
                raise CorruptDataError("corrupt stream: an index record without a valid trailer")
            return
        if complete and pos != size:
            raise TruncatedError(f"truncated: the stream ends inside a frame record "
                                 f"({size - pos} byte(s) after frame {len(self.entries) - 1})")

    def _try_index(self, size: int) -> bool:
        off = parse_trailer(self.read_at(size - TRAILER_SIZE, TRAILER_SIZE)) if size >= TRAILER_SIZE else None
        if off is None:
            return False
        if not self.info.header_size <= off <= size - TRAILER_SIZE - RECORD_HEADER_SIZE:
            raise CorruptDataError("corrupt stream: the trailer points outside the file")
        rec = parse_record_header(self.read_at(off, RECORD_HEADER_SIZE), 0)
        if rec.type != TYPE_INDEX or off + RECORD_HEADER_SIZE + rec.size != size - TRAILER_SIZE:
            raise CorruptDataError("corrupt stream: the trailer does not point at the index")
        if rec.number > MAX_FRAMES:
            raise CorruptDataError("corrupt stream: the index claims too many frames")
        payload = self.read_at(off + RECORD_HEADER_SIZE, rec.size)
        check_payload(rec, payload, -1)
        entries = parse_index(rec, payload)
        expect = self.info.header_size
        for e in entries:
            if e.offset != expect or e.size > MAX_PAYLOAD_BYTES or not np.isfinite(e.timestamp):
                raise CorruptDataError(f"corrupt stream: index entry {e.number} does not match the records")
            expect += RECORD_HEADER_SIZE + e.size
        if expect != off or (entries and not entries[0].keyframe):
            raise CorruptDataError("corrupt stream: the index does not match the records")
        self.entries[:] = entries
        self._scan_pos = off
        self.finished = True
        return True

    def record(self, entry: FrameEntry) -> bytes:
        data = self.read_at(entry.offset, entry.record_size)
        if len(data) < entry.record_size:
            raise TruncatedError(f"truncated: frame {entry.number} is cut short")
        return data

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def scan_file(path: str | PathLike) -> tuple[StreamInfo, list[FrameEntry], int]:
    """(header, frames, end of the last complete frame record) of a stream file, tolerating
    a half-written last record (used to reopen a stream for appending)."""
    src = FileSource(path)
    try:
        src.refresh(complete=False)
        if src.info is None:
            raise TruncatedError(f"truncated: {path} has no complete stream header")
        return src.info, list(src.entries), src._scan_pos
    finally:
        src.close()


def decode_record(record: bytes, entry: FrameEntry, codec: KeyframeCodec, ref: GaussianScene | None,
                  state: DeltaState | None) -> tuple[GaussianScene, DeltaState]:
    """Verify and decode one record; ``ref``/``state`` are the previous frame and the delta
    state after it (ignored for a keyframe). Returns the frame and the state after it."""
    rec = parse_record_header(record, 0)
    if rec.number != entry.number or rec.size != entry.size or (rec.type == TYPE_KEYFRAME) != entry.keyframe:
        raise CorruptDataError(f"corrupt stream: the record of frame {entry.number} does not match the index")
    payload = record[RECORD_HEADER_SIZE:]
    check_payload(rec, payload, entry.number)
    if rec.type == TYPE_KEYFRAME:
        scene = decode_keyframe(codec, payload, entry.number)
        return scene, DeltaState.initial(len(scene))
    if ref is None or state is None:
        raise CorruptDataError(f"frame {entry.number} is a delta frame without a keyframe before it")
    return decode_delta(payload, ref, state)


class StreamReader:
    """Iterate decoded frames of a stream file or URL; ``seek(n)`` jumps to frame ``n``.

    Args:
        source: a path, or an ``http://`` URL of a stream on ``codec stream serve``.
        keyframe_codec: must match the writer's (default: the scene codec).
        follow: wait for frames still being appended (files) or published (URLs).
        timeout: with ``follow``, stop after this many seconds without a new frame.
        poll: seconds between checks for new data with ``follow``.
    """

    def __init__(self, source: str | PathLike, *, keyframe_codec: KeyframeCodec | None = None,
                 follow: bool = False, timeout: float = 10.0, poll: float = 0.05) -> None:
        text = os.fspath(source)
        if isinstance(text, str) and text.startswith(("http://", "https://")):
            from .client import HttpSource

            self._src = HttpSource(text)
        else:
            self._src = FileSource(source)
        self.follow, self.timeout, self.poll = follow, float(timeout), float(poll)
        self._codec = keyframe_codec
        self._next = 0  # frame the next __next__ returns
        self._held = -1  # index of the frame in self._ref
        self._ref: GaussianScene | None = None
        self._state: DeltaState | None = None
        try:
            self._src.refresh(complete=not follow)
            if self._src.info is None:
                self._wait(lambda: self._src.info is not None)
        except BaseException:
            self._src.close()
            raise

    # -- metadata -------------------------------------------------------------------------
    @property
    def info(self) -> StreamInfo:
        return self._src.info

    @property
    def fps(self) -> float:
        return self._src.info.fps

    @property
    def entries(self) -> list[FrameEntry]:
        """The frames known so far (all of them for a finished stream)."""
        return self._src.entries

    @property
    def finished(self) -> bool:
        """True when the stream has its closing index (no more frames will come)."""
        return self._src.finished

    def __len__(self) -> int:
        return len(self._src.entries)

    def tell(self) -> int:
        return self._next

    # -- navigation -----------------------------------------------------------------------
    def seek(self, n: int) -> None:
        """Make frame ``n`` the next one returned (``0 <= n <= len(self)``)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise InvalidInputError(f"frame number must be a non-negative int, got {n!r}")
        if n > len(self) and not self.follow:
            raise InvalidInputError(f"frame {n} is past the end of the stream ({len(self)} frames)")
        self._next = int(n)

    def read(self, n: int) -> GaussianScene:
        """Frame ``n`` (random access); the next frame returned is then ``n + 1``."""
        self.seek(n)
        try:
            return next(self)
        except StopIteration:
            raise InvalidInputError(f"frame {n} is past the end of the stream ({len(self)} frames)") from None

    def __iter__(self):
        return self

    def __next__(self) -> GaussianScene:
        n = self._next
        if n >= len(self) and not self._wait(lambda: n < len(self)):
            raise StopIteration
        entries = self._src.entries
        if not (self._held < n and self._held >= 0 and
                not any(e.keyframe for e in entries[self._held + 1:n + 1])):
            k = n
            while k > 0 and not entries[k].keyframe:
                k -= 1
            start = k
        else:
            start = self._held + 1
        for i in range(start, n + 1):
            self._decode(entries[i])
        self._next = n + 1
        return self._ref

    def _decode(self, entry: FrameEntry) -> None:
        if self._codec is None:
            self._codec = default_keyframe_codec()
        ref = self._ref if self._held == entry.number - 1 else None
        self._ref, self._state = decode_record(self._src.record(entry), entry, self._codec, ref, self._state)
        self._held = entry.number

    def _wait(self, ready) -> bool:
        """With ``follow``, poll for new data until ``ready()`` or the stream ends or times out."""
        if not self.follow:
            return ready()
        deadline = time.monotonic() + self.timeout
        while True:
            if ready():
                return True
            if self._src.finished or time.monotonic() >= deadline:
                return False
            time.sleep(self.poll)
            before = len(self._src.entries)
            self._src.refresh(complete=False)
            if len(self._src.entries) > before:
                deadline = time.monotonic() + self.timeout

    def close(self) -> None:
        self._src.close()

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
