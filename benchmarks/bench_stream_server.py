"""The stream server under two kinds of slow client, on 127.0.0.1 (bounded in count and time).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_stream_server.py            # both checks
    OMP_NUM_THREADS=1 python benchmarks/bench_stream_server.py --clients 400 --only http

1. ``http``: ``--clients`` sockets each ask for ``/frames/2?deps=1`` of a 3-frame stream of
   ``--gaussians`` Gaussians (the keyframe and two deltas, 555,012 B at 40,000) and never read
   (4 KiB receive buffers). Reports how much the process grew (the server runs in a thread of
   this process; the clients hold no data) and the status codes they got.
2. ``live``: one WebSocket client on a plain socket reads a 90-frame, 30 fps stream of 4,000
   Gaussians (GOP 10) at ``--rate`` times the stream's mean bitrate. Reports frames received,
   ``skip`` messages, the ``end`` message, and the wall time.

Both use the server's defaults and the helpers of ``tests/conftest.py``, so the script runs
unchanged against an older ``codec/`` (copy ``benchmarks/`` and ``tests/`` beside it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import (  # noqa: E402
    http_statuses,
    read_live_slowly,
    running_stream_server,
    stalled_http_requests,
)

from codec.stream import encode_frames  # noqa: E402
from codec.stream.format import RECORD_HEADER_SIZE  # noqa: E402
from codec.stream.generator import moving_sequence, random_scene  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) << 10 for line in f if line.startswith("VmRSS:"))


def bench_http(folder: Path, clients: int, gaussians: int) -> dict:
    path = folder / "big.gss"
    entries = encode_frames(moving_sequence(random_scene(gaussians, seed=2), 3, moving_fraction=0.2,
                                            amplitude=0.1), path, fps=30.0, gop=8)
    with running_stream_server(path) as (_base, _app, _loop, port):
        before = rss_bytes()
        socks = stalled_http_requests(port, "/streams/big/frames/2?deps=1", clients)
        try:
            codes = http_statuses(socks, 30.0)
            time.sleep(1.0)
            grown = rss_bytes() - before
        finally:
            for sock in socks:
                sock.close()
    return {"clients": clients, "body_bytes": sum(RECORD_HEADER_SIZE + e.size for e in entries),
            "rss_growth_mb": round(grown / 2**20, 1),
            "status_counts": {str(c): codes.count(c) for c in sorted(set(codes))}}


def bench_live(folder: Path, rate_ratio: float) -> dict:
    path = folder / "slow.gss"
    encode_frames(moving_sequence(random_scene(4000, seed=3), 90, moving_fraction=0.1, amplitude=0.1),
                  path, fps=30.0, gop=10)
    rate = path.stat().st_size / 3.0 * rate_ratio
    with running_stream_server(path) as (_base, _app, _loop, port):
        t0 = time.monotonic()
        frames, texts, how = read_live_slowly(port, "/streams/slow/live", rate)
        wall = time.monotonic() - t0
    return {"read_rate_bytes_s": round(rate), "frames_received": len(frames),
            "skips": [[t["from"], t["to"]] for t in texts if t["type"] == "skip"],
            "end": next((t for t in texts if t["type"] == "end"), None), "ended_by": how,
            "wall_s": round(wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=300)
    ap.add_argument("--gaussians", type=int, default=40000)
    ap.add_argument("--rate", type=float, default=0.25, help="live reader's rate / stream bitrate")
    ap.add_argument("--only", choices=("http", "live"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "live":
            print(json.dumps({"http": bench_http(Path(tmp), args.clients, args.gaussians)}), flush=True)
        if args.only != "http":
            print(json.dumps({"live": bench_live(Path(tmp), args.rate)}), flush=True)


if __name__ == "__main__":
    main()
