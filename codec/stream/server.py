"""Serving streams over HTTP and WebSocket (aiohttp), loopback by default.

Routes (``{id}`` is a stream file's name without ``.gss``)::

    GET /streams                      JSON list: id, available, frames, fps, gop, finished (a
                                      file that could not be opened: id, available false, error)
    GET /streams/{id}/manifest        JSON: fps, gop, sh_degree, finished, frame_count and
                                      per frame [size, keyframe (0/1), timestamp, group start]
    GET /streams/{id}/frames/{n}      the frame's record (32-byte header with CRCs + payload);
                                      headers X-Frame-Number, X-Frame-Keyframe,
                                      X-Frame-Group-Start (the keyframe it depends on),
                                      X-Frame-Timestamp. ``?deps=1`` returns the records from
                                      the group's keyframe to n back to back: all a client
                                      needs to decode frame n on its own.
    WS  /streams/{id}/live?start=N    (N < 0: the newest keyframe, i.e. join a live stream at its edge)
                                      text {"type":"hello",...}, then one binary message per
                                      record at the stream's fps, {"type":"skip","from","to"}
                                      when the client fell behind, {"type":"end",...} last.

Flow control: each client has one sender task and no queue. The socket's kernel send buffer
is set to about ``lag`` seconds of the stream's mean bitrate, and a send counts as done only
when the transport has handed every byte to the kernel, so a client that reads slowly holds
its sender back by what it has not read. When the sender is more than ``lag`` seconds behind
the stream clock it jumps to the next keyframe at or after the frame that is due (a ``skip``
message), so a slow client drops frames instead of buffering them, and still gets ``end``. A
client that disconnects ends its tasks; one whose socket takes no byte for ``send_timeout``
seconds is dropped. Records are read through one shared, size-bounded cache, so memory does
not grow with the number of clients (at most ``max_clients`` WebSockets at a time).

HTTP frame bodies are written in 64 KiB pieces, each waiting for the socket to take the one
before, by at most ``max_http`` responses at a time (more get 503 with ``Retry-After``); a
response whose client takes no byte for ``send_timeout`` seconds is cut off. So clients that
request frames and never read cost a bounded amount of memory.

A file of a served folder that cannot be opened as a stream is skipped with a warning that
names it, listed as unavailable, and answered with 503 and the reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import warnings
from collections import OrderedDict
from pathlib import Path

from aiohttp import WSMsgType, web

from codec.errors import CodecError, InvalidInputError

from .format import RECORD_HEADER_SIZE
from .reader import FileSource

__all__ = ["ServedStream", "make_app", "serve", "STREAM_SUFFIX", "STREAMS", "CLIENTS"]

STREAM_SUFFIX = ".gss"
STREAMS = web.AppKey("streams", dict)  # id -> ServedStream
CLIENTS = web.AppKey("clients", set)  # open live WebSockets
_REFRESH_EVERY = 0.05  # seconds between re-scans of a growing file
_CHUNK = 1 << 16  # bytes of an HTTP body handed to the transport at a time
_SEND_BUFFER = (16 << 10, 4 << 20)  # bounds of a live socket's kernel send buffer, bytes
_POLL_MAX = 0.02  # seconds between checks of a transport's write buffer while it drains


class ServedStream:
    """One stream file on the server: its frame list (re-scanned while it grows) and a
    byte-bounded LRU cache of records shared by every client."""

    def __init__(self, stream_id: str, path: Path, cache_bytes: int = 64 << 20) -> None:
        self.id, self.path = stream_id, path
        self.source = FileSource(path)
        self.source.refresh(complete=False)
        if self.source.info is None:
            raise InvalidInputError(f"{path}: not a stream (no complete header)")
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_size, self._cache_limit = 0, cache_bytes
        self._last_refresh = time.monotonic()

    def refresh(self) -> None:
        if not self.source.finished and time.monotonic() - self._last_refresh >= _REFRESH_EVERY:
            self._last_refresh = time.monotonic()
            self.source.refresh(complete=False)

    @property
    def entries(self):
        return self.source.entries

    def group_start(self, n: int) -> int:
        while n > 0 and not self.entries[n].keyframe:
            n -= 1
        return n

    def next_keyframe(self, n: int) -> int | None:
        for e in self.entries[n:]:
            if e.keyframe:
                return e.number
        return None

    def record(self, n: int) -> bytes:
        data = self._cache.get(n)
        if data is not None:
            self._cache.move_to_end(n)
            return data
        data = self.source.record(self.entries[n])
        self._cache[n] = data
        self._cache_size += len(data)
        while self._cache_size > self._cache_limit and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cache_size -= len(old)
        return data

    def summary(self) -> dict:
        info = self.source.info
        return {"id": self.id, "available": True, "frames": len(self.entries), "fps": info.fps,
                "gop": info.gop, "finished": self.source.finished}

    def bytes_per_second(self) -> float:
        """Mean bitrate of the frames so far at the stream's fps (bytes/s, records with headers)."""
        if not self.entries:
            return 0.0
        total = sum(RECORD_HEADER_SIZE + e.size for e in self.entries)
        return total / len(self.entries) * self.source.info.fps

    def manifest(self) -> dict:
        info, group = self.source.info, 0
        frames = []
        for e in self.entries:
            group = e.number if e.keyframe else group
            frames.append([e.size, int(e.keyframe), e.timestamp, group])
        return {"id": self.id, "fps": info.fps, "gop": info.gop, "sh_degree": info.sh_degree,
                "finished": self.source.finished, "frame_count": len(frames),
                "frame_fields": ["size", "keyframe", "timestamp", "group_start"], "frames": frames}

    def close(self) -> None:
        self.source.close()


def _find_streams(path: Path) -> dict[str, Path]:
    if path.is_dir():
        found = {p.stem: p for p in sorted(path.glob(f"*{STREAM_SUFFIX}")) if p.is_file()}
        if not found:
            raise InvalidInputError(f"no {STREAM_SUFFIX} files in {path}")
        return found
    if not path.exists():
        raise InvalidInputError(f"no such file: {path}")
    return {path.stem: path}


def _named(path: Path, exc: CodecError) -> str:
    """The error's message, starting with the file's name."""
    text = str(exc)
    return text if text.startswith(str(path)) else f"{path}: {text}"


def _open_streams(path: Path) -> tuple[dict[str, ServedStream], dict[str, str]]:
    """``(streams, unavailable)``: the readable streams of ``path`` by id, and the message of
    each file of a folder that could not be opened (warned about). A single file that cannot be
    opened, or a folder with no readable stream, raises a :class:`CodecError` naming them."""
    found = _find_streams(path)
    streams, unavailable = {}, {}
    for sid, p in found.items():
        try:
            streams[sid] = ServedStream(sid, p)
        except CodecError as exc:
            if not path.is_dir():
                raise type(exc)(_named(p, exc)) from None
            unavailable[sid] = _named(p, exc)
            warnings.warn(f"skipping {unavailable[sid]}", RuntimeWarning, stacklevel=3)
    if not streams:
        raise InvalidInputError(f"no readable {STREAM_SUFFIX} file in {path} ({'; '.join(unavailable.values())})")
    return streams, unavailable


def make_app(path: str | Path, *, lag: float = 0.25, send_timeout: float = 10.0,
             idle_timeout: float = 30.0, max_clients: int = 256, max_http: int = 64,
             speed: float = 1.0) -> web.Application:
    """The aiohttp application serving the stream file ``path`` or every ``.gss`` in a folder.

    ``max_http``: frame responses in progress at a time. ``speed`` scales the push rate (tests
    use it to run faster than real time).
    """
    streams, unavailable = _open_streams(Path(path))
    app = web.Application()
    app[STREAMS], app[CLIENTS] = streams, set()
    cfg = {"lag": lag, "send_timeout": send_timeout, "idle_timeout": idle_timeout,
           "max_clients": max_clients, "speed": speed}
    http_slots = asyncio.Semaphore(max_http)

    def stream_of(request) -> ServedStream:
        s = streams.get(request.match_info["id"])
        if s is None:
            if request.match_info["id"] in unavailable:
                raise web.HTTPServiceUnavailable(text=f"stream unavailable: {unavailable[request.match_info['id']]}")
            raise web.HTTPNotFound(text=f"no stream {request.match_info['id']!r}")
        try:
            s.refresh()
        except CodecError as exc:
            raise web.HTTPInternalServerError(text=f"stream {s.id}: {exc}") from None
        return s

    async def list_streams(request):
        for s in streams.values():
            s.refresh()
        listing = [s.summary() for s in streams.values()]
        listing += [{"id": sid, "available": False, "error": msg} for sid, msg in unavailable.items()]
        return web.json_response(sorted(listing, key=lambda item: item["id"]))

    async def manifest(request):
        return web.json_response(stream_of(request).manifest())

    async def frame(request):
        s = stream_of(request)
        try:
            n = int(request.match_info["n"])
        except ValueError:
            raise web.HTTPBadRequest(text="frame number must be an integer") from None
        if not 0 <= n < len(s.entries):
            raise web.HTTPNotFound(text=f"frame {n} is not in stream {s.id} ({len(s.entries)} frames)")
        g = s.group_start(n)
        frames = range(g, n + 1) if request.query.get("deps") == "1" else range(n, n + 1)
        if http_slots.locked():
            raise web.HTTPServiceUnavailable(text="too many frame requests in progress",
                                             headers={"Retry-After": "1"})
        async with http_slots:
            try:
                first = s.record(frames[0])  # a file that fails here still gets a 500
            except CodecError as exc:
                raise web.HTTPInternalServerError(text=f"stream {s.id}: {exc}") from None
            e = s.entries[n]
            resp = web.StreamResponse(headers={
                "X-Frame-Number": str(n), "X-Frame-Keyframe": str(int(e.keyframe)),
                "X-Frame-Group-Start": str(g), "X-Frame-Timestamp": repr(e.timestamp)})
            resp.content_type = "application/x-gmcodec-frame"
            resp.content_length = sum(RECORD_HEADER_SIZE + s.entries[i].size for i in frames)
            await resp.prepare(request)
            try:
                for i in frames:
                    await _write_body(resp, first if i == frames[0] else s.record(i), cfg["send_timeout"])
                await resp.write_eof()
            except (CodecError, asyncio.TimeoutError, ConnectionError):  # the status is out: cut it
                if request.transport is not None:
                    request.transport.abort()
            return resp

    async def live(request):
        s = stream_of(request)
        if len(app[CLIENTS]) >= cfg["max_clients"]:
            raise web.HTTPServiceUnavailable(text="too many live clients")
        try:
            start = int(request.query.get("start", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="start must be an integer") from None
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=1 << 16)
        transport = request.transport
        await ws.prepare(request)
        if transport is None or transport.is_closing():
            return ws
        _limit_send_buffer(transport, s.bytes_per_second() * cfg["speed"] * cfg["lag"])
        app[CLIENTS].add(ws)
        sender = asyncio.ensure_future(_push(ws, s, start, cfg, transport))
        # a sender that fails (client gone, send timed out, bad record) closes the socket,
        # which also ends the receive loop below
        sender.add_done_callback(lambda _t: asyncio.ensure_future(ws.close()) if not ws.closed else None)
        try:
            async for msg in ws:  # the client sends nothing we need; this notices it leaving
                if msg.type == WSMsgType.ERROR:
                    break
                if sender.done():
                    break
        finally:
            sender.cancel()
            try:
                await sender
            except (asyncio.CancelledError, Exception):
                pass
            app[CLIENTS].discard(ws)
            if not ws.closed:
                await ws.close()
        return ws

    app.router.add_get("/streams", list_streams)
    app.router.add_get("/streams/{id}/manifest", manifest)
    app.router.add_get("/streams/{id}/frames/{n}", frame)
    app.router.add_get("/streams/{id}/live", live)

    async def cleanup(app):
        for ws in list(app[CLIENTS]):
            await ws.close()
        for s in streams.values():
            s.close()

    app.on_shutdown.append(cleanup)
    return app


async def _write_body(resp: web.StreamResponse, data: bytes, timeout: float) -> None:
    """Write ``data`` in :data:`_CHUNK` pieces; aiohttp waits for the transport to drain
    between them. Raises TimeoutError when one piece waits ``timeout`` seconds."""
    view = memoryview(data)
    for off in range(0, len(view), _CHUNK):
        await asyncio.wait_for(resp.write(view[off:off + _CHUNK]), timeout)


def _limit_send_buffer(transport: asyncio.Transport, nbytes: float) -> None:
    """Set the socket's kernel send buffer to ``nbytes`` within :data:`_SEND_BUFFER`, so what
    a slow client has not read stays small enough for the lag check to see it."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        lo, hi = _SEND_BUFFER
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(min(max(nbytes, lo), hi)))
        except OSError:
            pass


async def _send_drained(ws: web.WebSocketResponse, record: bytes, transport: asyncio.Transport | None,
                        stall_timeout: float) -> None:
    """Send ``record`` and wait until ``transport`` has handed all of it to the kernel.

    Raises TimeoutError when the transport's write buffer does not shrink for
    ``stall_timeout`` seconds (a client that stopped reading); a slow client that keeps
    reading is waited for. ``transport`` None: only the send is awaited.
    """
    loop = asyncio.get_running_loop()
    send = asyncio.ensure_future(ws.send_bytes(record))
    if transport is None:
        await asyncio.wait_for(send, stall_timeout)
        return
    last, moved, poll = None, loop.time(), 0.001
    try:
        while True:
            queued = 0 if transport.is_closing() else transport.get_write_buffer_size()
            if send.done() and queued == 0:
                send.result()
                return
            if last is None or queued < last:
                moved = loop.time()
            elif loop.time() - moved > stall_timeout:
                raise asyncio.TimeoutError
            last = queued
            await asyncio.wait([send], timeout=poll)
            poll = min(poll * 2, _POLL_MAX)
    finally:
        send.cancel()


async def _push(ws: web.WebSocketResponse, s: ServedStream, start: int, cfg: dict,
                transport: asyncio.Transport | None = None) -> None:
    """Send records at the stream's fps, skipping to a keyframe when behind; ends the socket.
    ``transport``: the socket's, whose draining paces the sender (see :func:`_send_drained`)."""
    fps = s.source.info.fps * cfg["speed"]
    loop = asyncio.get_running_loop()
    last = len(s.entries) - 1
    n = s.group_start(last if start < 0 else min(start, last)) if s.entries else 0  # start < 0: live edge
    sent = dropped = 0
    await ws.send_str(json.dumps({"type": "hello", "id": s.id, "fps": s.source.info.fps, "start": n}))
    t0, first, idle_since, waited = loop.time(), n, loop.time(), False
    while not ws.closed:
        s.refresh()
        if n >= len(s.entries):
            if s.source.finished or loop.time() - idle_since > cfg["idle_timeout"]:
                break
            await asyncio.sleep(_REFRESH_EVERY)
            waited = True
            continue
        if waited:  # the stream, not the client, was late: restart the clock at this frame
            t0, first, waited = loop.time(), n, False
        idle_since = loop.time()
        due = t0 + (n - first) / fps
        now = loop.time()
        if now < due:
            await asyncio.sleep(due - now)
        elif now - due > cfg["lag"]:
            target = first + int((now - t0) * fps)
            k = s.next_keyframe(min(max(target, n + 1), len(s.entries)))
            if k is None and s.source.finished:
                dropped += len(s.entries) - n
                await ws.send_str(json.dumps({"type": "skip", "from": n, "to": len(s.entries)}))
                n = len(s.entries)
                break
            if k is not None:
                await ws.send_str(json.dumps({"type": "skip", "from": n, "to": k}))
                dropped += k - n
                t0, first, n = loop.time(), k, k
        record = s.record(n)
        await _send_drained(ws, record, transport, cfg["send_timeout"])
        sent += 1
        n += 1
    if not ws.closed:
        await ws.send_str(json.dumps({"type": "end", "sent": sent, "dropped": dropped, "next": n}))
        await ws.close()


def serve(path: str | Path, host: str = "127.0.0.1", port: int = 8000, on_ready=None, **kwargs) -> None:
    """Run the server until interrupted (blocking). ``on_ready()`` is called once the streams
    are open and the port is bound; a port that cannot be bound raises InvalidInputError."""
    app = make_app(path, **kwargs)
    try:
        web.run_app(app, host=host, port=port, handle_signals=True,
                    print=(lambda *_args: on_ready()) if on_ready is not None else None)
    except OSError as exc:  # asyncio words a bind failure at length; its errno says it briefly
        reason = os.strerror(exc.errno) if (exc.errno or 0) > 0 else exc.strerror or str(exc)
        raise InvalidInputError(f"cannot listen on {host}:{port}: {reason}") from None
