"""Start-up cost (issue 19): `codec --help` loads no torch, nothing loads compressai at import time.

Times are measured by ``benchmarks/bench_startup.py`` against peers; these tests pin what is
imported, which is what the time comes from.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "compressai", "torch_geometric", "pandas", "scipy", "matplotlib", "PIL", "aiohttp")
PROJECT_DIRS = ("codec", "cli", "train", "benchmarks", "entropy")

_LOADED = """
import json, sys
from cli.main import main
codes = [main(argv) for argv in {argvs!r}]
print(json.dumps({{"codes": codes, "heavy": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


def _loaded(run_snippet, argvs: list[list[str]]) -> dict:
    out = run_snippet(_LOADED.format(argvs=argvs, heavy=HEAVY))
    return json.loads(out.decode().strip().splitlines()[-1])


def test_help_loads_no_heavy_package(run_snippet):
    helps = [["--help"], ["--version"], *([cmd, "--help"] for cmd in ("encode", "decode", "info", "eval", "plot",
                                                                       "bdrate", "scene", "stream"))]
    result = _loaded(run_snippet, helps)
    assert result["codes"] == [0] * len(helps)
    assert result["heavy"] == []


def _module_level_compressai_imports() -> set[str]:
    """Project files that import compressai outside any function or class body."""
    found = set()
    for folder in PROJECT_DIRS:
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            stack = list(tree.body)
            while stack:
                node = stack.pop()
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    continue
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                if any(n == "compressai" or n.startswith("compressai.") for n in names):
                    found.add(str(path.relative_to(REPO)))
                stack.extend(ast.iter_child_nodes(node))
    return found


def test_compressai_is_imported_only_where_it_is_used():
    """The hyperprior peer (train/, benchmarks/) imports it inside the functions that need it."""
    assert _module_level_compressai_imports() == set()


def test_image_command_imports_no_compressai(run_snippet, tiny_weights, tmp_path):
    from PIL import Image

    src = tmp_path / "a.png"
    Image.new("RGB", (40, 24), (10, 200, 30)).save(src)
    out = run_snippet(_LOADED.format(argvs=[["encode", str(src)], ["decode", str(tmp_path / "a.gmc"), "-o", str(tmp_path / "b.png")]], heavy=HEAVY),
                      env={"GMCODEC_WEIGHTS": str(tiny_weights)})
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["codes"] == [0, 0]
    assert set(result["heavy"]) <= {"torch", "PIL"}
