"""Bounded, deterministic fuzzing of every decoder entry point (targets in ``fuzz_targets.py``).

Each target's seeds (small valid files from our own writers) are mutated with a fixed seed
and a fixed number of iterations, so CI always tries the same inputs. The contract: a decoder
returns or raises its CodecError (EntropyError for ``entropy/``); never another exception, a
hang (over ``CI_SLOW_SECONDS`` here; the long runs flag anything over 2 s), or (memory runs) a
traced peak over the target's bound.
Stored regression inputs in ``tests/fuzz_corpus/<target>/`` run on their own as well.

Longer runs: ``python benchmarks/fuzz.py --seconds 600`` (see docs/guarantees.md).
"""

from __future__ import annotations

import fuzz_targets as ft
import pytest
from fuzz_engine import CI_SLOW_SECONDS

SEED = 20261126
# Iterations per target: about 2-3 s each on the 2-core CI machine (the image decoder model is
# tiny; most mutated files are refused early, which is the point).
ITERATIONS = {
    "container": 15_000, "container-crc": 20_000,
    "entropy-symbols": 12_000, "entropy-family": 10_000, "entropy-adaptive": 3_000,
    "entropy-tables": 20_000, "entropy-family-bytes": 15_000,
    "image": 1_200, "reduce-quality": 10_000,
    "scene-ply": 6_000, "scene-compressed-ply": 3_000, "scene-splat": 10_000,
    "scene-spz": 5_000, "scene-sog": 3_000,
    "scene-codec": 400, "stream": 1_500,
}
MEMORY_SHARE = 10  # a run of ITERATIONS / 10 per target with tracemalloc on (slower)

# Decoders owned by other people while they are being written: their open findings are kept as
# inputs in tests/fuzz_corpus and marked strict xfail here; remove the mark with the fix.
_OPEN: dict[str, str] = {}  # target -> reason (none open now; fixed ones are listed in docs/guarantees.md)
_OPEN_MEMORY: dict[str, str] = dict(_OPEN)
_OPEN_CORPUS: dict[tuple[str, str], str] = {}  # (target, corpus file) -> reason


def _xfail(reason: str | None):
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def _target(name: str) -> ft.Target:
    target = ft.get_target(name)
    reason = target.available()
    if reason:
        pytest.skip(reason)
    return target


@pytest.fixture(scope="module", autouse=True)
def _tiny_model(tiny_weights):
    ft.use_weights(tiny_weights)


def test_every_target_has_a_budget():
    assert set(ITERATIONS) == set(ft.TARGETS)


@pytest.mark.parametrize("name", list(ft.TARGETS))
def test_seeds_are_valid_inputs(name):
    """The fuzzer starts from files our own writers produce: each must decode."""
    target = _target(name)
    for data in target.seeds():
        outcome, finding = ft.run_one(target, target.prepare(data), slow_seconds=CI_SLOW_SECONDS)
        assert outcome == "ok", finding


@pytest.mark.parametrize("name", [pytest.param(n, marks=_xfail(_OPEN.get(n))) for n in ft.TARGETS])
def test_fuzz(name):
    target = _target(name)
    stats = ft.fuzz(target, seed=SEED, iterations=ITERATIONS[name], slow_seconds=CI_SLOW_SECONDS)
    assert not stats.findings, "\n".join(str(f) for f in stats.findings[:5])
    assert stats.executions == ITERATIONS[name]
    assert stats.rejected > 0 and stats.accepted > 0  # both paths were exercised


@pytest.mark.parametrize("name", [pytest.param(n, marks=_xfail(_OPEN_MEMORY.get(n))) for n in ft.TARGETS])
def test_fuzz_memory_bounded(name):
    target = _target(name)
    stats = ft.fuzz(target, seed=SEED + 1, iterations=ITERATIONS[name] // MEMORY_SHARE, check_memory=True,
                    slow_seconds=CI_SLOW_SECONDS)
    assert not stats.findings, "\n".join(str(f) for f in stats.findings[:5])


def _corpus_params():
    params = []
    for name in ft.TARGETS:
        for file, _ in ft.corpus_inputs(name):
            params.append(pytest.param(name, file, marks=_xfail(_OPEN_CORPUS.get((name, file))),
                                       id=f"{name}/{file}"))
    return params


@pytest.mark.parametrize("name,file", _corpus_params())
def test_corpus_regressions(name, file):
    target = _target(name)
    data = dict(ft.corpus_inputs(name))[file]
    _, finding = ft.run_one(target, target.prepare(data), check_memory=True, slow_seconds=CI_SLOW_SECONDS)
    assert finding is None, str(finding)
