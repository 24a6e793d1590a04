"""Start-up time of the ``codec`` command, side by side with ``python -c pass`` and ``import torch``.

    python benchmarks/bench_startup.py [--repeats 5] [--image samples/kodim23.png]

Each command runs ``--repeats`` times in fresh interpreters, round-robin (so a busy machine
slows every command alike), with ``OMP_NUM_THREADS=1``, from the repository root; the table
gives the median wall seconds. For ``encode`` and ``decode`` the start-up is the wall time
minus the coding seconds the command prints for the file: interpreter, imports, argument
parsing, loading the model and reading the input. One more run of the encode under
``python -X importtime`` gives the import seconds of the heavy packages it loads and says
whether ``compressai`` (which pulls in torch_geometric and pandas) is among them.

Timings on a shared machine only mean something as ratios to the peers of the same run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CODING_SECONDS = re.compile(r"([0-9.]+) s\s*$")
HEAVY = ("torch", "compressai", "torch_geometric", "pandas", "scipy", "numpy", "PIL", "matplotlib")


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, proc.stdout


def _heavy_imports(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Cumulative import seconds of the heavy packages ``cmd`` loads, under ``-X importtime``."""
    proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True)
    found: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| *(\S+)$", line)
        if m and m.group(2) in HEAVY:
            found[m.group(2)] = int(m.group(1)) / 1e6
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--image", type=Path, default=ROOT / "samples" / "kodim23.png")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        gmc, png = str(Path(tmp) / "start.gmc"), str(Path(tmp) / "start.png")
        codec = [py, "-m", "cli.main"]
        _run([*codec, "encode", str(args.image), "-o", gmc, "--force"], env)  # warm caches, make the .gmc
        commands = {
            "python -c pass": ([py, "-c", "pass"], False),
            "python -c 'import torch'": ([py, "-c", "import torch"], False),
            "codec --help": ([*codec, "--help"], False),
            f"codec encode {args.image.name}": ([*codec, "encode", str(args.image), "-o", gmc, "--force"], True),
            "codec decode": ([*codec, "decode", gmc, "-o", png, "--force"], True),
        }
        walls: dict[str, list[float]] = {k: [] for k in commands}
        starts: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.repeats):
            for name, (cmd, coded) in commands.items():
                wall, out = _run(cmd, env)
                walls[name].append(wall)
                if coded:
                    m = _CODING_SECONDS.search(out.strip().splitlines()[-1])
                    starts[name].append(wall - float(m.group(1)) if m else float("nan"))
        heavy = _heavy_imports(commands[f"codec encode {args.image.name}"][0], env)
    torch_s = statistics.median(walls["python -c 'import torch'"])
    print(f"{args.repeats} runs each, median wall seconds, OMP_NUM_THREADS=1\n")
    print("| command | wall s | start-up s | start-up / `import torch` |")
    print("|---|---:|---:|---:|")
    for name in commands:
        wall = statistics.median(walls[name])
        start = statistics.median(starts[name]) if starts[name] else wall
        print(f"| `{name}` | {wall:.3f} | {start:.3f} | {start / torch_s:.2f} |")
    print("\nheavy packages the encode imports (python -X importtime, cumulative s, nested ones counted "
          "in their importer too):", ", ".join(f"{name} {sec:.2f}" for name, sec in heavy.items()) or "none")
    print("compressai imported by the encode:", "yes" if "compressai" in heavy else "no")
    return 0


if __name__ == "__main__":
    sys.exit(main())
