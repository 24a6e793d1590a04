"""Cross-process determinism and a pinned golden hash of the entropy bitstreams.

Rewrite the golden hash only with ``UPDATE_GOLDEN=1`` (it edits this file).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

GOLDEN_SHA256 = "6a1390a121313b10f172eb8667dab43fc6de62eb119b5f355992c12f740d46c2"

# Builds tables from floats and counts, encodes with every coder, and prints hashes; with a
# file argument it also decodes the parent's bytes and checks them.
_SCRIPT = r"""
import hashlib, sys
import numpy as np
import entropy as E

def streams():
    rng = np.random.default_rng(1234)
    t = E.FrequencyTables(E.quantize_pmf(rng.dirichlet(np.full(256, 0.1), size=16)))
    ids = rng.integers(0, 16, 20000)
    sym = rng.integers(0, 256, 20000)
    c = E.FrequencyTables(E.counts_to_freqs(rng.integers(0, 1000, (3, 40))))
    cid = rng.integers(0, 3, 5000); csym = rng.integers(0, 40, 5000)
    # scalar float powers, not np.geomspace (numpy dispatches power by CPU feature)
    fam = E.ScaleFamily("gaussian", np.array([0.2 * 200.0 ** (i / 31) for i in range(32)]), 64)
    sid = rng.integers(0, 32, 20000)
    vals = np.round(rng.laplace(0.0, fam.scales[sid] * 2)).astype(np.int64)
    vals[::997] = 2**62 + 7
    ad = E.AdaptiveCategorical(256)
    parts = [E.encode_symbols(sym, t, ids), E.encode_symbols(csym, c, cid),
             fam.encode(vals, sid), ad.encode(sym), t.to_bytes(), fam.to_bytes()]
    decode = [lambda d: E.decode_symbols(d, t, table_ids=ids),
              lambda d: E.decode_symbols(d, c, table_ids=cid),
              lambda d: fam.decode(d, sid), lambda d: ad.decode(d, sym.size), None, None]
    expect = [sym, csym, vals, sym, None, None]
    return parts, decode, expect

parts, decode, expect = streams()
if len(sys.argv) > 1:
    blob = open(sys.argv[1], "rb").read()
    offs = 0
    for part, dec, exp in zip(parts, decode, expect):
        n = int.from_bytes(blob[offs:offs + 8], "little"); other = blob[offs + 8:offs + 8 + n]
        offs += 8 + n
        if dec is not None:
            assert np.array_equal(dec(other), exp)
print(hashlib.sha256(b"".join(parts)).hexdigest())
"""


def _run(env_threads: str, *args: str) -> str:
    env = dict(os.environ)
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        env[var] = env_threads
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_cross_process_bit_exact_and_golden(tmp_path: Path) -> None:
    ns: dict = {}
    exec(compile(_SCRIPT.replace("if len(sys.argv) > 1:", "if False:"), "<script>", "exec"), ns)
    parts = ns["parts"]
    here = hashlib.sha256(b"".join(parts)).hexdigest()
    blob = tmp_path / "streams.bin"
    blob.write_bytes(b"".join(len(p).to_bytes(8, "little") + p for p in parts))
    # Other process, other thread settings: same bytes, and it decodes ours.
    assert _run("3", str(blob)).splitlines()[-1] == here
    if os.environ.get("UPDATE_GOLDEN") == "1":
        src = Path(__file__).read_text()
        pattern = re.compile(r"^GOLDEN_SHA256 = .*$", re.M)  # only the constant's own line
        Path(__file__).write_text(pattern.sub(f'GOLDEN_SHA256 = "{here}"', src, count=1))
        return
    assert here == GOLDEN_SHA256, "bitstream changed; if intended, rerun with UPDATE_GOLDEN=1"


def test_entropy_never_imports_torch() -> None:
    code = "import sys, entropy; assert 'torch' not in sys.modules, 'entropy imported torch'"
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    src = "".join(
        p.read_text() for p in (Path(__file__).resolve().parents[1] / "entropy").glob("*.py")
    )
    assert not re.search(r"^\s*(import|from)\s+torch", src, re.M)
