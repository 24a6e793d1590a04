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
