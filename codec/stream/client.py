"""Clients of ``codec stream serve``: random access over HTTP and live play over WebSocket.

* :class:`HttpSource` gives :class:`~codec.stream.StreamReader` the frames of
  ``http://HOST:PORT/streams/ID`` through the manifest and frame endpoints (stdlib
  ``urllib``, synchronous).
* :func:`play` connects to ``/streams/ID/live`` (aiohttp), decodes every frame it receives
  and reports per-frame bytes, decode time and dropped frames.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import numpy as np

from codec.errors import (
    CodecError,
    CorruptDataError,
    InvalidInputError,
    LimitExceededError,
)

from .format import (
    MAX_FRAMES,
    MAX_PAYLOAD_BYTES,
    RECORD_HEADER_SIZE,
    TYPE_KEYFRAME,
    FrameEntry,
    StreamInfo,
    parse_record_header,
)
from .keyframe import KeyframeCodec, default_keyframe_codec
from .reader import decode_record

__all__ = ["HttpSource", "PlayStats", "play", "stream_url_parts"]

_MAX_MANIFEST = 64 << 20


def stream_url_parts(url: str) -> tuple[str, str]:
    """``(http base of the stream, ws url of its live endpoint)`` for
    ``http://HOST:PORT/streams/ID`` (``ws://`` and a trailing ``/`` or ``/live`` are accepted;
    the id is the path segment after ``/streams/``, so a stream may be called ``live``)."""
    parts = urllib.parse.urlsplit(url)
    segments = parts.path.strip("/").split("/")
    if (parts.scheme not in ("http", "ws") or not parts.netloc or len(segments) not in (2, 3)
            or segments[0] != "streams" or not segments[1] or segments[2:] not in ([], ["live"])):
        raise InvalidInputError(f"not a stream URL: {url} (expected http://HOST:PORT/streams/ID)")
    path = f"/streams/{segments[1]}"
    return f"http://{parts.netloc}{path}", f"ws://{parts.netloc}{path}/live"


class HttpSource:
    """The frame list and records of a served stream (the file source's interface)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.base, _ = stream_url_parts(url)
        self.timeout = timeout
        self.info: StreamInfo | None = None
        self.entries: list[FrameEntry] = []
        self.finished = False

    def _get(self, path: str, limit: int) -> bytes:
        try:
            with urllib.request.urlopen(self.base + path, timeout=self.timeout) as resp:
                data = resp.read(limit + 1)
        except urllib.error.HTTPError as exc:
            raise InvalidInputError(f"{self.base}{path}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise InvalidInputError(f"cannot reach {self.base}{path}: {exc}") from None
        if len(data) > limit:
            raise LimitExceededError(f"{self.base}{path}: response larger than {limit} bytes")
        return data

    def refresh(self, *, complete: bool = False) -> None:
        if self.finished:
            return
        try:
            m = json.loads(self._get("/manifest", _MAX_MANIFEST))
            info = StreamInfo(float(m["fps"]), int(m["gop"]), int(m["sh_degree"]), 0)
            frames = m["frames"]
            if len(frames) > MAX_FRAMES:
                raise LimitExceededError("the manifest lists too many frames")
            entries = [FrameEntry(i, -1, int(f[0]), bool(f[1]), float(f[2])) for i, f in enumerate(frames)]
            finished = bool(m["finished"])
        except CodecError:
            raise
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise CorruptDataError(f"{self.base}: bad manifest ({exc})") from None
        if entries and not entries[0].keyframe or any(e.size > MAX_PAYLOAD_BYTES for e in entries):
            raise CorruptDataError(f"{self.base}: bad manifest (frame list)")
        self.info, self.entries, self.finished = info, entries, finished

    def record(self, entry: FrameEntry) -> bytes:
        return self._get(f"/frames/{entry.number}", RECORD_HEADER_SIZE + entry.size)

    def close(self) -> None:
        pass


@dataclass
class PlayStats:
    """What :func:`play` measured. ``frames``: list of (number, bytes, keyframe, decode ms)."""

    frames: list = field(default_factory=list)
    dropped: int = 0
    wall_s: float = 0.0
    ended: bool = False

    @property
    def fps(self) -> float:
        return len(self.frames) / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> dict:
        ms = [f[3] for f in self.frames]
        return {"frames": len(self.frames), "bytes": int(sum(f[1] for f in self.frames)),
                "mean_decode_ms": float(np.mean(ms)) if ms else 0.0, "fps": self.fps,
                "dropped": self.dropped, "ended": self.ended}


async def play(url: str, *, frames: int | None = None, start: int = 0,
               keyframe_codec: KeyframeCodec | None = None, on_frame=None,
               timeout: float = 30.0) -> PlayStats:
    """Receive and decode the live stream at ``url``; stops after ``frames`` frames, at the
    end of the stream, or after ``timeout`` seconds without a message.

    ``on_frame(number, nbytes, keyframe, decode_ms, scene)`` is called for every frame.
    """
    import aiohttp

    _, ws_url = stream_url_parts(url)
    codec = keyframe_codec or default_keyframe_codec()
    stats, ref, state, expect = PlayStats(), None, None, None
    t0 = time.perf_counter()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{ws_url}?start={int(start)}", max_msg_size=MAX_PAYLOAD_BYTES + 64) as ws:
                while frames is None or len(stats.frames) < frames:
                    msg = await ws.receive(timeout=timeout)
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        info = json.loads(msg.data)
                        if info.get("type") == "end":
                            stats.ended = True
                            break
                        continue
                    if msg.type != aiohttp.WSMsgType.BINARY:
                        break
                    data = msg.data
                    rec = parse_record_header(data, 0)
                    entry = FrameEntry(rec.number, -1, rec.size, rec.type == TYPE_KEYFRAME, rec.timestamp)
                    if expect is not None and rec.number > expect:
                        stats.dropped += rec.number - expect
                    t = time.perf_counter()
                    scene, state = decode_record(data, entry, codec, ref if expect == rec.number else None, state)
                    ms = (time.perf_counter() - t) * 1e3
                    ref, expect = scene, rec.number + 1
                    stats.frames.append((rec.number, len(data), entry.keyframe, ms))
                    if on_frame is not None:
                        on_frame(rec.number, len(data), entry.keyframe, ms, scene)
    except aiohttp.WSServerHandshakeError as exc:
        reason = {404: "no such stream on the server",
                  503: "the server cannot serve it now (too many live clients, or its file is unavailable)"}
        raise InvalidInputError(f"cannot play {url}: {reason.get(exc.status, 'the server refused it')} "
                                f"(HTTP {exc.status})") from None
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        if not stats.frames:
            raise InvalidInputError(f"cannot play {url}: {type(exc).__name__}: {exc}") from None
    stats.wall_s = time.perf_counter() - t0
    return stats
