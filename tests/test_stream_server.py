"""The stream server on loopback: HTTP endpoints, 20 live WebSocket clients, slow and vanished
clients. Every socket is on 127.0.0.1 and every loop is bounded by a timeout."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

aiohttp = pytest.importorskip("aiohttp")


from codec.stream import StreamReader, encode_frames  # noqa: E402
from codec.stream.format import RECORD_HEADER_SIZE, parse_record_header  # noqa: E402
from codec.stream.generator import moving_sequence, random_scene  # noqa: E402
from codec.stream.server import CLIENTS, ServedStream, _push  # noqa: E402
from conftest import read_live_slowly  # noqa: E402
from conftest import running_stream_server as running_server  # noqa: E402

FRAMES = 24


@pytest.fixture(scope="module")
def stream_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    frames = moving_sequence(random_scene(1200, seed=3), FRAMES, moving_fraction=0.1, amplitude=0.1)
    encode_frames(frames, folder / "demo.gss", fps=30.0, gop=8)
    return folder


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read(), resp.headers


def test_http_endpoints_and_reader_over_http(stream_dir):
    with running_server(stream_dir) as (base, _, _, _):
        listing = json.loads(_get(base + "/streams")[0])
        assert listing == [{"id": "demo", "available": True, "frames": FRAMES, "fps": 30.0, "gop": 8, "finished": True}]
        manifest = json.loads(_get(base + "/streams/demo/manifest")[0])
        assert manifest["frame_count"] == FRAMES and manifest["frames"][9][3] == 8
        body, headers = _get(base + "/streams/demo/frames/10")
        rec = parse_record_header(body, 0)
        assert rec.number == 10 and len(body) == RECORD_HEADER_SIZE + rec.size
        assert headers["X-Frame-Group-Start"] == "8" and headers["X-Frame-Keyframe"] == "0"
        deps, _ = _get(base + "/streams/demo/frames/10?deps=1")
        assert deps.endswith(body) and parse_record_header(deps, 0).number == 8
        for bad in ("/streams/nope/manifest", "/streams/demo/frames/99", "/streams/demo/frames/x"):
            with pytest.raises(urllib.error.HTTPError):
                _get(base + bad)
        with StreamReader(base + "/streams/demo") as remote, StreamReader(stream_dir / "demo.gss") as local:
            assert len(remote) == FRAMES
            a, b = remote.read(13), local.read(13)
            assert np.array_equal(a.means, b.means) and np.array_equal(a.quats, b.quats)


async def _client(ws_url, received, kill_after=None):
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws_url, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
            while True:
                msg = await ws.receive(timeout=20)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    received.append(parse_record_header(msg.data, 0).number)
                    if kill_after is not None and len(received) >= kill_after:
                        ws._response.connection.transport.abort()  # vanish without a close frame
                        return
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    if json.loads(msg.data)["type"] == "end":
                        return
                else:
                    return


def test_twenty_live_clients_one_killed(stream_dir):
    with running_server(stream_dir, speed=2.0, lag=2.0) as (base, app, loop, _):
        ws_url = base.replace("http://", "ws://") + "/streams/demo/live"
        results = [[] for _ in range(20)]

        async def main():
            tasks = [_client(ws_url, results[i], kill_after=5 if i == 7 else None) for i in range(20)]
            await asyncio.wait_for(asyncio.gather(*tasks), 60)

        asyncio.run(main())
        for i, got in enumerate(results):
            if i == 7:
                assert got == list(range(5))
            else:
                assert got == list(range(FRAMES)), i

        async def clients_left():
            for _ in range(100):
                if not app[CLIENTS]:
                    return 0
                await asyncio.sleep(0.05)
            return len(app[CLIENTS])

        assert asyncio.run_coroutine_threadsafe(clients_left(), loop).result(10) == 0


class _SlowSocket:
    """Stands in for a WebSocketResponse whose client drains slowly."""

    def __init__(self, delay):
        self.delay, self.closed, self.binary, self.text, self.pending, self.max_pending = delay, False, [], [], 0, 0

    async def send_bytes(self, data):
        self.pending += 1
        self.max_pending = max(self.max_pending, self.pending)
        await asyncio.sleep(self.delay)
        self.pending -= 1
        self.binary.append(parse_record_header(data, 0).number)

    async def send_str(self, text):
        self.text.append(json.loads(text))

    async def close(self):
        self.closed = True


def test_slow_client_skips_to_keyframes(stream_dir):
    stream = ServedStream("demo", stream_dir / "demo.gss")
    ws = _SlowSocket(delay=0.1)  # 10 frames/s for a 120 frames/s push
    cfg = {"lag": 0.05, "send_timeout": 5, "idle_timeout": 1, "speed": 4.0}
    asyncio.run(asyncio.wait_for(_push(ws, stream, 0, cfg), 30))
    stream.close()
    skips = [m for m in ws.text if m["type"] == "skip"]
    assert skips and ws.max_pending == 1  # dropped frames, never a queue
    keyframes = {e.number for e in stream.entries if e.keyframe}
    for s in skips:
        assert s["to"] in keyframes or s["to"] == FRAMES
    assert ws.binary[0] == 0 and ws.binary == sorted(ws.binary)
    end = ws.text[-1]
    assert end["type"] == "end" and end["sent"] + end["dropped"] == FRAMES and ws.closed


def test_client_limit_bounds_resources(stream_dir):
    with running_server(stream_dir, speed=0.1, max_clients=2) as (base, app, loop, _):
        ws_url = base.replace("http://", "ws://") + "/streams/demo/live"

        async def main():
            async with aiohttp.ClientSession() as session:
                a = await session.ws_connect(ws_url)
                b = await session.ws_connect(ws_url)
                for ws in (a, b):  # hello, then the first frame
                    assert (await ws.receive(timeout=10)).type == aiohttp.WSMsgType.TEXT
                with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                    await session.ws_connect(ws_url)
                assert info.value.status == 503
                await a.close()
                await b.close()

        asyncio.run(asyncio.wait_for(main(), 30))


def test_live_push_follows_a_growing_file(tmp_path):
    from codec.stream import StreamWriter

    frames = moving_sequence(random_scene(600, seed=9), 8, amplitude=0.05)
    path = tmp_path / "growing.gss"
    w = StreamWriter(path, fps=60.0, gop=4)
    for f in frames[:3]:
        w.write(f)
    with running_server(path, idle_timeout=20) as (base, _app, _loop, _):
        got = []

        async def main():
            task = asyncio.ensure_future(_client(base.replace("http://", "ws://") + "/streams/growing/live", got))
            for f in frames[3:]:
                await asyncio.sleep(0.1)
                await asyncio.to_thread(w.write, f)
            await asyncio.to_thread(w.close)
            await asyncio.wait_for(task, 30)

        asyncio.run(main())
        assert got == list(range(8))
        manifest = json.loads(_get(base + "/streams/growing/manifest")[0])
        assert manifest["finished"] and manifest["frame_count"] == 8


def test_join_at_the_live_edge(stream_dir):
    with running_server(stream_dir, speed=8.0) as (base, _app, _loop, _):
        got = []
        asyncio.run(asyncio.wait_for(_client(base.replace("http://", "ws://") + "/streams/demo/live?start=-1", got), 30))
        assert got == list(range(16, FRAMES))  # keyframes every 8 frames: the newest is 16


def test_unreadable_files_are_skipped_named_and_listed(stream_dir, tmp_path):
    from codec.errors import CodecError
    from codec.stream.server import make_app

    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "demo.gss").write_bytes((stream_dir / "demo.gss").read_bytes())
    (folder / "bad.gss").write_bytes(b"GMCVgarbage-garbage")  # stream magic, nonsense after it
    (folder / "short.gss").write_bytes(b"GM")
    with pytest.warns(RuntimeWarning) as caught:
        with running_server(folder) as (base, _, _, _):
            listing = {s["id"]: s for s in json.loads(_get(base + "/streams")[0])}
            assert listing["demo"]["available"] and listing["demo"]["frames"] == FRAMES
            for sid in ("bad", "short"):
                assert not listing[sid]["available"] and f"{sid}.gss" in listing[sid]["error"]
                with pytest.raises(urllib.error.HTTPError) as err:
                    _get(base + f"/streams/{sid}/manifest")
                assert err.value.code == 503 and f"{sid}.gss" in err.value.read().decode()
            assert len(_get(base + "/streams/demo/frames/3")[0]) > RECORD_HEADER_SIZE
    assert sorted(str(w.message).split(":")[0] for w in caught) == [
        f"skipping {folder / 'bad.gss'}", f"skipping {folder / 'short.gss'}"]
    with pytest.raises(CodecError, match="bad.gss"):  # one file: an error that names it
        make_app(folder / "bad.gss")
    (folder / "demo.gss").unlink()
    with pytest.warns(RuntimeWarning), pytest.raises(CodecError, match="no readable .*bad.gss"):
        make_app(folder)


def test_a_stream_called_live(stream_dir, tmp_path):
    from codec.stream.client import play, stream_url_parts

    assert stream_url_parts("http://h:1/streams/live") == ("http://h:1/streams/live", "ws://h:1/streams/live/live")
    assert stream_url_parts("ws://h:1/streams/live/live/") == ("http://h:1/streams/live", "ws://h:1/streams/live/live")
    assert stream_url_parts("http://h:1/streams/demo/live")[0] == "http://h:1/streams/demo"
    from codec.errors import InvalidInputError

    for bad in ("http://h:1/streams", "http://h:1/streams/", "http://h:1/streams/a/b", "http://h:1/x/a"):
        with pytest.raises(InvalidInputError):
            stream_url_parts(bad)
    path = tmp_path / "live.gss"
    path.write_bytes((stream_dir / "demo.gss").read_bytes())
    with running_server(path, speed=8.0) as (base, _, _, _):
        stats = asyncio.run(asyncio.wait_for(play(base + "/streams/live"), 60))
        assert [f[0] for f in stats.frames] == list(range(FRAMES)) and stats.ended
        with StreamReader(base + "/streams/live") as remote:
            assert len(remote) == FRAMES


def test_unknown_stream_is_one_clear_error(stream_dir):
    from codec.errors import InvalidInputError
    from codec.stream.client import play

    with running_server(stream_dir) as (base, _, _, _):
        with pytest.raises(InvalidInputError, match=r"no such stream on the server \(HTTP 404\)"):
            asyncio.run(asyncio.wait_for(play(base + "/streams/nope"), 30))


def test_a_slow_reader_skips_to_keyframes_and_gets_the_end(tmp_path):
    """A real socket read at a quarter of the stream's bitrate (the kernel buffers in between,
    unlike the stand-in socket above): skips to keyframes, then the end summary and a close."""
    frames = moving_sequence(random_scene(4000, seed=3), 90, moving_fraction=0.1, amplitude=0.1)
    path = tmp_path / "slow.gss"
    entries = encode_frames(frames, path, fps=30.0, gop=10)
    rate = path.stat().st_size / 3.0 / 4  # the stream lasts 3 s
    with running_server(path) as (_base, _app, _loop, port):
        t0 = time.monotonic()
        got, texts, how = read_live_slowly(port, "/streams/slow/live", rate)
        wall = time.monotonic() - t0
    skips, end = [t for t in texts if t["type"] == "skip"], texts[-1]
    assert how == "close" and end["type"] == "end", texts
    assert skips and end["sent"] == len(got) and end["sent"] + end["dropped"] == len(entries)
    keyframes = {e.number for e in entries if e.keyframe} | {len(entries)}
    expected, n = [], 0
    for s in skips:  # frames arrive in order, from 0, each skip ending at a keyframe
        assert s["to"] in keyframes and s["from"] >= n
        expected += range(n, s["from"])
        n = s["to"]
    assert got == expected + list(range(n, len(entries)))
    assert wall < 30  # bounded: the backlog in the socket buffers is small
