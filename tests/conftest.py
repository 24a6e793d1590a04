"""Shared test helpers.

``run_python`` (and the fixture ``run_snippet`` that returns it) runs a Python snippet in a
fresh interpreter with pinned thread counts and returns its stdout bytes. Use it for
cross-process determinism: encode in one process, decode in another with other thread
settings, and compare hashes::

    def test_decode_is_exact_across_processes(run_snippet, tmp_path):
        a = run_snippet(DECODE_AND_HASH, threads=1, args=[str(path)])
        b = run_snippet(DECODE_AND_HASH, threads=2, torch_threads=2, args=[str(path)])
        assert a == b
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def dispatched_simd_features() -> list[str]:
    """The SIMD features numpy's build would dispatch to on this CPU (the value for
    ``NPY_DISABLE_CPU_FEATURES`` that turns all of them off in a child process)."""
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def run_python(code: str, *, threads: int = 1, torch_threads: int | None = None,
               args: Sequence[str] = (), env: Mapping[str, str] | None = None,
               stdin: bytes | None = None, timeout: float = 120.0) -> bytes:
    """Run ``code`` with ``python -c`` in a new process; return its stdout bytes.

    Args:
        code (str): the snippet (dedented); its command-line arguments are ``sys.argv[1:]``.
        threads (int): value for OMP/MKL/OpenBLAS/vecLib/numexpr ``*_NUM_THREADS``.
        torch_threads (int | None): if set, ``torch.set_num_threads(n)`` runs before ``code``.
        args (Sequence[str]): arguments passed to the snippet.
        env (Mapping[str, str] | None): extra environment variables (override the above).
        stdin (bytes | None): bytes fed to the snippet's stdin.
        timeout (float): seconds before the process is killed and the test fails.

    The repository root is the working directory and is first on ``PYTHONPATH``, so
    ``import codec`` works without an installed package. A non-zero exit fails the test
    with the snippet's stderr.
    """
    prelude = ""
    if torch_threads is not None:
        prelude = f"import torch\ntorch.set_num_threads({int(torch_threads)})\n"
    full_env = dict(os.environ)
    full_env.update({name: str(threads) for name in _THREAD_VARS})
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + ([full_env["PYTHONPATH"]] if full_env.get("PYTHONPATH") else []))
    full_env["PYTHONHASHSEED"] = "0"
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code), *args],
                          input=stdin, capture_output=True, cwd=REPO_ROOT, env=full_env,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        pytest.fail(f"snippet exited with {proc.returncode}:\n"
                    f"{proc.stderr.decode(errors='replace')}", pytrace=False)
    return proc.stdout


@pytest.fixture
def run_snippet():
    """The :func:`run_python` function, as a fixture."""
    return run_python


SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
TINY_MODEL_ID = "tiny-test"


def build_tiny_weights(folder: Path) -> Path:
    """A tiny, randomly initialized image model exported like shipped weights into ``folder``
    (codebooks initialized from one training pass, tables from random crops)."""
    import torch

    from codec.image.config import ImageModelConfig
    from codec.image.model import ImageModel
    from codec.image.tables import freeze
    from codec.weights import save_image_model

    torch.manual_seed(0)
    config = ImageModelConfig(hidden=16, latent=32, coarse_latent=16, coarse_groups=2,
                              fine_groups=(2, 4, 8), codebook_size=16, context_classes=4)
    model = ImageModel(config).train()
    x = torch.rand(2, 3, 64, 64)
    model(x, config.num_qualities)
    loaded = freeze(model, TINY_MODEL_ID, [x])
    save_image_model(loaded, folder, {"note": "random weights for tests"})
    return folder


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """Folder with a manifest and the tiny test model (session-wide, read-only use)."""
    return build_tiny_weights(tmp_path_factory.mktemp("weights"))


@contextlib.contextmanager
def running_stream_server(path, **kwargs):
    """Serve ``path`` with the stream server on 127.0.0.1 (a free port) from a background
    thread's event loop; yields ``(base_url, app, loop, port)``. Every wait is bounded."""
    import asyncio
    import threading

    from aiohttp import web

    from codec.stream.server import make_app

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(path, **kwargs))
    started, box = threading.Event(), {}

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        box["port"] = runner.addresses[0][1]
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield f"http://127.0.0.1:{box['port']}", runner.app, loop, box["port"]
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _ws_frame(buf: bytes):
    """``(opcode, payload, rest)`` of the first unmasked WebSocket frame in ``buf``, or None."""
    if len(buf) < 2:
        return None
    n, pos = buf[1] & 0x7F, 2
    if n >= 126:
        pos = 4 if n == 126 else 10
        if len(buf) < pos:
            return None
        n = int.from_bytes(buf[2:pos], "big")
    if len(buf) < pos + n:
        return None
    return buf[0] & 0x0F, buf[pos:pos + n], buf[pos + n:]


def read_live_slowly(port: int, path: str, rate: float, deadline: float = 60.0):
    """A WebSocket client of the stream server on a plain socket that reads ``rate`` bytes/s,
    so the kernel's buffers sit between it and the server as for a real slow client. Returns
    ``(frame numbers, text messages, how it ended)``: "close" when the server's close frame
    arrived, "eof" or "deadline" otherwise."""
    import json
    import socket
    import time

    from codec.stream.format import parse_record_header

    frames, texts = [], []
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(1024)
        buf, got, t0 = buf.split(b"\r\n\r\n", 1)[1], 0, time.monotonic()
        while time.monotonic() - t0 < deadline:
            while (frame := _ws_frame(buf)) is not None:
                opcode, payload, buf = frame
                if opcode == 8:
                    return frames, texts, "close"
                if opcode == 2:
                    frames.append(parse_record_header(payload, 0).number)
                elif opcode == 1:
                    texts.append(json.loads(payload))
            chunk = sock.recv(4096)
            if not chunk:
                return frames, texts, "eof"
            buf, got = buf + chunk, got + len(chunk)
            time.sleep(max(0.0, got / rate - (time.monotonic() - t0)))
    return frames, texts, "deadline"


def stalled_http_requests(port: int, path: str, count: int) -> list:
    """``count`` sockets to 127.0.0.1:``port`` that sent ``GET path`` and will read nothing
    (4 KiB receive buffers). The caller closes them."""
    import socket

    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        socks.append(sock)
    return socks


def http_statuses(socks: list, timeout: float = 20.0) -> list[int]:
    """The HTTP status each socket's response starts with (peeked, nothing read; 0: none
    within ``timeout`` seconds)."""
    import socket
    import time

    found, deadline = {}, time.monotonic() + timeout
    while len(found) < len(socks) and time.monotonic() < deadline:
        for i, sock in enumerate(socks):
            if i not in found:
                try:
                    head = sock.recv(12, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                except BlockingIOError:
                    continue
                if len(head) == 12:
                    found[i] = int(head[9:12])
        time.sleep(0.02)
    return [found.get(i, 0) for i in range(len(socks))]
