"""The player's routes on the stream server: the page, its static files, cacheable frames."""

from __future__ import annotations

import urllib.error
import urllib.request

from codec.stream import encode_frames
from codec.stream.generator import moving_sequence, random_scene
from conftest import running_stream_server


def _get(url: str, headers: dict | None = None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_page_static_files_and_frame_validators(tmp_path):
    encode_frames(moving_sequence(random_scene(300, seed=1), 4), tmp_path / "s.gss", gop=2)
    with running_stream_server(tmp_path) as (base, _app, _loop, _port):
        status, headers, body = _get(f"{base}/")
        assert status == 200 and b'src="/web/player.js"' in body and headers["Cache-Control"] == "no-cache"
        status, headers, body = _get(f"{base}/web/scene.js")
        assert status == 200 and "javascript" in headers["Content-Type"] and b"decodeScene" in body
        assert _get(f"{base}/web/tables/laplace_residual.esf")[0] == 200
        assert _get(f"{base}/web/../codec/__init__.py")[0] == 404
        status, headers, one = _get(f"{base}/streams/s/frames/1")
        etag = headers["ETag"]
        assert status == 200 and "immutable" in headers["Cache-Control"] and "max-age=31536000" in headers["Cache-Control"]
        status, headers, deps = _get(f"{base}/streams/s/frames/1?deps=1")
        assert deps.endswith(one) and headers["ETag"] != etag  # keyframe 0 + frame 1: another body
        assert _get(f"{base}/streams/s/frames/3")[1]["ETag"] != etag
        status, headers, body = _get(f"{base}/streams/s/frames/1", {"If-None-Match": etag})
        assert status == 304 and body == b"" and headers["ETag"] == etag
