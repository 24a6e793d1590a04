"""Decoder-side tables do not depend on the CPU's SIMD features.

numpy dispatches ``power``, ``exp`` and ``log`` on float64 arrays by CPU feature (AVX-512 builds
use different kernels), so a table computed with them can differ by an ulp between machines:
``np.geomspace`` did, for the residual scales. Here the tables the decoders use (the same bytes
the browser loads, ``codec.web.assets``) are rebuilt in a process with every SIMD feature numpy
would dispatch to on this CPU turned off and must come out byte-identical. On an AVX-512 machine this
covers the kernels that differed; on any machine it covers whatever it dispatches.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from codec.web.assets import table_assets

from tests.conftest import dispatched_simd_features

_SCRIPT = """
import hashlib, json
from numpy.core._multiarray_umath import __cpu_features__
from codec.web.assets import table_assets
on = sorted(k for k, v in __cpu_features__.items() if v)
print(json.dumps({"features": on, "tables": {k: hashlib.sha256(v).hexdigest() for k, v in table_assets().items()}}))
"""


def test_tables_are_the_same_without_simd_dispatch():
    extra = dispatched_simd_features()
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=" ".join(extra))
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    here = {k: hashlib.sha256(v).hexdigest() for k, v in table_assets().items()}
    child = json.loads(res.stdout.strip().splitlines()[-1])
    assert not set(extra) & set(child["features"]), "numpy ignored NPY_DISABLE_CPU_FEATURES"
    assert child["tables"] == here
