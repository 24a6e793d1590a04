"""Time-bounded fuzzing of every decoder entry point (the long version of tests/test_fuzz_*.py).

    python benchmarks/fuzz.py --seconds 600                      # all targets, time split evenly
    python benchmarks/fuzz.py --seconds 600 --target image       # one target
    python benchmarks/fuzz.py --seconds 60 --engine builtin --memory --json out/fuzz.json
    python benchmarks/fuzz.py --list

Targets and seeds live in ``tests/fuzz_targets.py``, the loop and the contract in
``tests/fuzz_engine.py``. Engines:

* ``builtin``: the seeded mutation loop of ``tests/fuzz_engine.py`` (reproducible with
  ``--seed``); ``--memory`` also traces allocations (tracemalloc, numpy included) and flags an
  input whose peak exceeds the target's bound. Slower, so off by default.
* ``atheris`` (coverage-guided libFuzzer, if installed): one subprocess per target, started
  from the same seeds and stored corpus, instrumenting ``codec`` and ``entropy`` only. libFuzzer
  stops at the first crash, so findings still open in ``tests/fuzz_corpus`` (same exception
  type at the same line) are skipped and only new ones stop it. ``auto`` (default) picks
  atheris when it imports.

Every finding (an exception that is not the target's CodecError/EntropyError, a run over
``SLOW_SECONDS``, a memory overrun) is printed with its traceback's last frame and, with
``--save DIR``, written as ``DIR/<target>/<kind>-<sha1>.bin``: copy the smallest of each kind
into ``tests/fuzz_corpus/<target>/`` to keep it as a regression input. Exit code 1 if anything
was found.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import fuzz_targets as ft


def _where(target: ft.Target, data: bytes) -> str:
    """``Type at file:line`` of the innermost project frame raising on ``data``."""
    try:
        target.run(data)
    except Exception as exc:  # noqa: BLE001
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(ROOT) in f.filename]
        last = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
        return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno}"
    return "no exception on rerun"


def run_builtin(names: list[str], seconds: float, seed: int, memory: bool, save: Path | None) -> list[dict]:
    results = []
    per_target = seconds / len(names)
    for name in names:
        target = ft.get_target(name)
        reason = target.available()
        if reason:
            print(f"{name}: skipped ({reason})")
            continue
        groups: dict[str, ft.Finding] = {}

        def keep(f: ft.Finding, target: ft.Target = target, groups: dict = groups) -> None:
            key = f"{f.kind}: {_where(target, f.data)}" if f.kind == "exception" else f.kind
            if key not in groups or len(f.data) < len(groups[key].data):
                groups[key] = f

        stats = ft.fuzz(target, seed=seed, seconds=per_target, check_memory=memory, on_finding=keep)
        print(f"{name}: {stats.executions:,} executions in {stats.seconds:.0f} s "
              f"({stats.accepted:,} decoded, {stats.rejected:,} refused with the expected error), "
              f"{len(stats.findings)} findings in {len(groups)} groups")
        for key, f in sorted(groups.items()):
            print(f"  {key}  [{f.detail[:100]}]  smallest input {len(f.data)} bytes")
            if save:
                folder = save / name
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{f.kind}-{hashlib.sha1(f.data).hexdigest()[:12]}.bin").write_bytes(f.data)
        results.append({"target": name, "engine": "builtin", "executions": stats.executions,
                        "decoded": stats.accepted, "refused": stats.rejected, "seconds": round(stats.seconds, 1),
                        "findings": len(stats.findings), "groups": sorted(groups)})
    return results


_ATHERIS_CHILD = """
import importlib, sys, traceback, atheris
sys.path[:0] = [{root!r}, {tests!r}]
with atheris.instrument_imports(include=["codec", "entropy"]):  # coverage of our code only
    for module in ("codec.container", "entropy", "codec.image.codec", "codec.scene.io",
                   "codec.scene.codec", "codec.stream.reader"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass
import fuzz_targets as ft
target = ft.get_target({name!r})

def signature(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if {root!r} in f.filename]
    last = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
    return type(exc).__name__, last.filename, last.lineno

# findings still open in the stored corpus are skipped, so that libFuzzer goes on looking for
# new ones (it stops at the first crash)
KNOWN = set()
for _, data in ft.corpus_inputs(target.name):
    try:
        target.run(target.prepare(data))
    except target.expected:
        pass
    except Exception as exc:
        KNOWN.add(signature(exc))
print("known open findings skipped:", len(KNOWN), flush=True)

def one(data):
    try:
        target.run(target.prepare(bytes(data)))
    except target.expected:
        pass
    except Exception as exc:
        if signature(exc) not in KNOWN:
            raise

atheris.Setup(sys.argv, one)
atheris.Fuzz()
"""


def run_atheris(names: list[str], seconds: float, save: Path | None) -> list[dict]:
    results = []
    per_target = max(1, int(seconds / len(names)))
    for name in names:
        target = ft.get_target(name)
        reason = target.available()
        if reason:
            print(f"{name}: skipped ({reason})")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "corpus"
            corpus.mkdir()
            for i, s in enumerate(target.seeds() + [d for _, d in ft.corpus_inputs(name)]):
                (corpus / f"seed{i}").write_bytes(s)
            crashes = (save / name) if save else Path(tmp) / "crashes"
            crashes.mkdir(parents=True, exist_ok=True)
            script = Path(tmp) / "child.py"
            script.write_text(_ATHERIS_CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), name=name))
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, str(script), str(corpus), f"-max_total_time={per_target}",
                 f"-artifact_prefix={crashes}/", f"-timeout={int(ft.SLOW_SECONDS) + 1}", "-rss_limit_mb=4096",
                 f"-max_len={target.max_len}", "-print_final_stats=1"],
                capture_output=True, text=True, check=False, env=dict(os.environ, OMP_NUM_THREADS="1"))
            elapsed = time.perf_counter() - start
            out = proc.stdout + proc.stderr
        runs = next((int(line.rsplit(":", 1)[1]) for line in out.splitlines()
                     if line.startswith("stat::number_of_executed_units")), 0)
        if not runs:  # stopped by a crash: the last status line "#N ..." has the count
            status = [m.group(1) for m in re.finditer(r"^#(\d+)\s", out, re.MULTILINE)]
            runs = int(status[-1]) if status else 0
        known = next((line for line in out.splitlines() if line.startswith("known open findings")), "")
        found = proc.returncode != 0
        print(f"{name}: atheris {runs:,} executions in {elapsed:.0f} s, "
              f"{'FINDING (see ' + str(crashes) + ')' if found else 'no new findings'} ({known or 'no corpus'})")
        if found:
            print("\n".join(out.splitlines()[-30:]))
        results.append({"target": name, "engine": "atheris", "executions": runs, "seconds": round(elapsed, 1),
                        "findings": int(found), "known_open": known})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="total wall time (split over targets)")
    parser.add_argument("--target", action="append", help="target name (repeatable; default: all)")
    parser.add_argument("--engine", choices=("auto", "builtin", "atheris"), default="auto")
    parser.add_argument("--seed", type=int, default=0, help="seed of the builtin engine")
    parser.add_argument("--memory", action="store_true", help="builtin: trace allocations (slower)")
    parser.add_argument("--save", type=Path, help="write findings under this folder")
    parser.add_argument("--json", type=Path, help="write the counts as JSON")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, t in ft.TARGETS.items():
            print(name, f"(unavailable: {t.available()})" if t.available() else "")
        return 0
    names = args.target or ft.target_names()
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris"
        except ImportError:
            engine = "builtin"
    if engine == "atheris":
        results = run_atheris(names, args.seconds, args.save)
    else:
        results = run_builtin(names, args.seconds, args.seed, args.memory, args.save)
    total = sum(r["executions"] for r in results)
    print(f"total: {total:,} executions over {len(results)} targets ({engine})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"engine": engine, "seconds": args.seconds, "seed": args.seed,
                                         "total_executions": total, "targets": results}, indent=2) + "\n")
    return 1 if any(r["findings"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
