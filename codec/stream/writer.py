"""Writing stream files: live appending, a closing index, atomic one-shot encoding.

:class:`StreamWriter` writes the container header, then one record per frame, each with a
single ``write`` + ``flush`` so a reader following the file sees whole records or nothing
new (a half-written record is simply "not there yet" to :class:`~codec.stream.StreamReader`
with ``follow=True``). :meth:`StreamWriter.close` appends the index record and the trailer.
``StreamWriter(path, append=True)`` reopens a finished or interrupted stream: it cuts off
the old index (and any half-written record) and continues with a keyframe.

With ``atomic=True`` (the CLI's ``encode``) the frames go to a temporary file next to
``path`` that replaces ``path`` only on a successful :meth:`close`.
"""

from __future__ import annotations

import os
import time
from os import PathLike
from pathlib import Path

from codec.errors import InvalidInputError, OutputError, OutputExistsError
from codec.fileio import _create_temp, _write_error
from codec.scene.data import GaussianScene

from .encoder import EncodedFrame, StreamEncoder
from .format import (
    RECORD_HEADER_SIZE,
    TYPE_DELTA,
    TYPE_KEYFRAME,
    FrameEntry,
    pack_index,
    pack_record,
    pack_trailer,
    parse_stream_header,
    stream_header,
)
from .keyframe import KeyframeCodec

__all__ = ["StreamWriter", "encode_frames"]


class StreamWriter:
    """Append frames to a stream file.

    Args:
        path: the stream file (``.gss``).
        fps: playback rate stored in the header; frame ``n`` has timestamp ``n / fps`` unless
            :meth:`write` is given one.
        gop, quality, keyframe_codec: see :class:`StreamEncoder`.
        force: overwrite an existing file.
        append: continue an existing stream (its fps and GOP are kept).
        atomic: write to a temporary file, renamed over ``path`` by :meth:`close`.
    """

    def __init__(self, path: str | PathLike, *, fps: float = 30.0, gop: int = 30, quality: int = 3,
                 keyframe_codec: KeyframeCodec | None = None,
                 force: bool = False, append: bool = False, atomic: bool = False) -> None:
        self.path = Path(path)
        self.entries: list[FrameEntry] = []
        self._closed = False
        self._tmp: Path | None = None
        if append and atomic:
            raise ValueError("append and atomic cannot be combined")
        if append and self.path.exists():
            self._open_append()
            fps, gop = self.info.fps, self.info.gop
        else:
            self._open_new(fps, gop, force, atomic)
        self.fps = fps
        self.encoder = StreamEncoder(gop=gop, quality=quality, keyframe_codec=keyframe_codec)

    # -- opening ----------------------------------------------------------------------
    def _open_new(self, fps: float, gop: int, force: bool, atomic: bool) -> None:
        stream_header(fps, gop, 0)  # validates fps and gop before touching the file system
        if self.path.is_dir():
            raise OutputError(f"output path is a directory: {self.path} (give a file name)")
        if not force and (self.path.exists() or self.path.is_symlink()):
            raise OutputExistsError(f"{self.path} already exists (use --force to overwrite it)")
        try:
            if atomic:
                fd, self._tmp = _create_temp(self.path.parent, self.path.name)
                self._f = os.fdopen(fd, "wb")
            else:
                self._f = open(self.path, "wb")
        except OSError as exc:
            raise _write_error(self.path, exc) from exc
        self.info, self._pos, self._new = None, 0, (fps, gop)

    def _write_header(self, sh_degree: int) -> None:
        """The container header goes out with the first frame (it records that frame's SH degree)."""
        fps, gop = self._new
        header = stream_header(fps, gop, sh_degree)
        try:
            self._f.write(header)
            self._f.flush()
        except OSError as exc:
            raise _write_error(self.path, exc) from exc
        self.info, self._pos = parse_stream_header(header), len(header)

    def _open_append(self) -> None:
        from .reader import scan_file

        info, entries, end = scan_file(self.path)
        try:
            self._f = open(self.path, "r+b")
            self._f.truncate(end)
            self._f.seek(end)
        except OSError as exc:
            raise _write_error(self.path, exc) from exc
        self.info, self.entries, self._pos = info, entries, end

    # -- writing ----------------------------------------------------------------------
    def write(self, scene: GaussianScene, timestamp: float | None = None) -> FrameEntry:
        """Encode ``scene`` as the next frame and append its record; returns its entry."""
        if self._closed:
            raise ValueError("the stream writer is closed")
        frame: EncodedFrame = self.encoder.encode(scene)
        if self.info is None:
            self._write_header(scene.sh_degree)
        number = len(self.entries)
        ts = number / self.fps if timestamp is None else float(timestamp)
        rtype = TYPE_KEYFRAME if frame.keyframe else TYPE_DELTA
        record = pack_record(rtype, number, ts, frame.payload)
        try:
            self._f.write(record)
            self._f.flush()
        except OSError as exc:
            raise _write_error(self.path, exc) from exc
        entry = FrameEntry(number, self._pos, len(frame.payload), frame.keyframe, ts)
        self._pos += RECORD_HEADER_SIZE + len(frame.payload)
        self.entries.append(entry)
        self.last_frame = frame
        return entry

    def close(self) -> None:
        """Append the index and trailer, fsync, and (atomic mode) rename into place."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.info is None:
                self._write_header(0)
            self._f.write(pack_index(self.entries) + pack_trailer(self._pos))
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            if self._tmp is not None:
                os.replace(self._tmp, self.path)
                self._tmp = None
        except OSError as exc:
            self.abort()
            raise _write_error(self.path, exc) from exc

    def abort(self) -> None:
        """Stop without an index (a temporary file is removed)."""
        self._closed = True
        try:
            self._f.close()
        except OSError:
            pass
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def encode_frames(frames, path: str | PathLike, *, fps: float = 30.0, gop: int = 30, quality: int = 3,
                  keyframe_codec: KeyframeCodec | None = None,
                  force: bool = False, on_frame=None) -> list[FrameEntry]:
    """Encode an iterable of :class:`GaussianScene` into a new stream file (atomically).

    ``on_frame(entry, encoded_frame, seconds)`` is called after each frame when given.
    """
    with StreamWriter(path, fps=fps, gop=gop, quality=quality,
                      keyframe_codec=keyframe_codec, force=force, atomic=True) as w:
        count = 0
        for scene in frames:
            t0 = time.perf_counter()
            entry = w.write(scene)
            if on_frame is not None:
                on_frame(entry, w.last_frame, time.perf_counter() - t0)
            count += 1
        if count == 0:
            raise InvalidInputError("no frames to encode")
    return w.entries
