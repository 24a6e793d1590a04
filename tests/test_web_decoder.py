"""The browser's JavaScript decoder (codec/web/static) against the Python decoder.

The node tests (tests/js/decoder.test.mjs) decode fixture files that the Python encoder writes
here (every scene preset and SH degree, streams with keyframes and delta frames of every mask
mode, damaged files) and require the Python decoder's bits, or an error where Python errs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from codec.web.assets import TABLES_DIR, table_assets
from web_fixtures import write_fixtures

ROOT = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")


def test_shipped_tables_equal_the_python_decoders():
    for name, data in table_assets().items():
        assert (TABLES_DIR / name).read_bytes() == data, f"{name} is stale: python -m codec.web.assets --write"


@pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs); the JS decoder tests need it")
def test_js_decoder_gives_the_python_decoders_bits(tmp_path):
    write_fixtures(tmp_path)
    env = {**os.environ, "GMC_FIXTURES": str(tmp_path)}
    run = subprocess.run([NODE, "--test", "tests/js/"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
