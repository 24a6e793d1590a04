"""Throughput and overhead of ``entropy`` side by side with ``compressai.ans`` (rANS).

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_entropy.py [--symbols 10000000] [--repeat 1]

For each source the same symbols and the same integer tables go to both coders:

* ours: ``entropy`` over constriction's ``AnsCoder`` with the 24-bit tables.
* compressai: ``RansEncoder.encode_with_indexes`` / ``RansDecoder.decode_with_indexes``.
  Its CDFs are 16-bit, so every 24-bit table is re-quantized to 16 bits with
  ``counts_to_freqs(..., precision=16)`` over ``K + 1`` entries (the extra entry is
  compressai's escape symbol, which every compressai CDF must have). Its timings exclude the
  numpy -> Python list conversion its API needs (reported separately as ``list prep``).

Overhead is coded bits over the cross-entropy under *our* 24-bit integer tables (for
compressai this includes its 16-bit quantization loss). Throughput: Msym/s of input symbols
and MB/s of coded output. Timings are the best of ``--repeat`` runs, on one thread.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import entropy as E  # noqa: E402


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _sample(tables: E.FrequencyTables, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    t, k = tables.freqs.shape
    total = 1 << tables.precision
    flat = (np.cumsum(tables.freqs, axis=1) + np.arange(t)[:, None] * total).ravel()
    out = np.empty(ids.size, dtype=np.int64)
    for lo in range(0, ids.size, 1 << 20):  # chunked to bound memory
        i = ids[lo : lo + (1 << 20)]
        out[lo : lo + i.size] = (
            np.searchsorted(flat, rng.integers(0, total, i.size) + i * total, "right") - i * k
        )
    return out


def _compressai_cdfs(tables: E.FrequencyTables) -> tuple[list[list[int]], list[int], list[int]]:
    """16-bit CDFs (K symbols + compressai's escape symbol) from our 24-bit tables."""
    t, k = tables.freqs.shape
    f16 = E.counts_to_freqs(np.concatenate([tables.freqs, np.zeros((t, 1), np.int64)], axis=1), 16)
    cdf = np.concatenate([np.zeros((t, 1), np.int64), np.cumsum(f16, axis=1)], axis=1)
    return cdf.tolist(), [k + 2] * t, [0] * t


def sources(n: int, rng: np.random.Generator) -> list[dict]:
    """Realistic sources: each gives symbols, tables, table ids and our own codec calls."""
    out = []
    one = E.FrequencyTables(E.quantize_pmf(rng.dirichlet(np.full(256, 0.05))))
    ids0 = np.zeros(n, dtype=np.int64)
    s0 = _sample(one, ids0, rng)
    out.append(
        dict(
            name="categorical K=256, 1 table",
            tables=one,
            ids=ids0,
            sym=s0,
            enc=lambda: E.encode_symbols(s0, one),
            dec=lambda d: E.decode_symbols(d, one, n),
        )
    )
    prior = E.FrequencyTables(E.quantize_pmf(rng.dirichlet(np.full(256, 0.05), size=64)))
    ids1 = rng.integers(0, 64, n)  # i.i.d. contexts, no runs: the worst case for grouping
    s1 = _sample(prior, ids1, rng)
    out.append(
        dict(
            name="indexed 64 tables x K=256, i.i.d. ids",
            tables=prior,
            ids=ids1,
            sym=s1,
            enc=lambda: E.encode_symbols(s1, prior, ids1),
            dec=lambda d: E.decode_symbols(d, prior, table_ids=ids1),
        )
    )
    fam = E.ScaleFamily("laplace", np.geomspace(0.1, 32.0, 64), 255)
    ids2 = np.repeat(rng.integers(0, 64, -(-n // 64)), 64)[:n]  # one scale per block of 64
    vals = np.round(rng.laplace(0.0, fam.scales[ids2])).astype(np.int64)
    s2 = fam._split(vals)[0]  # the same symbols compressai gets
    out.append(
        dict(
            name="Laplace residuals, 64 scales (1 per 64 values), K=513",
            tables=fam.tables,
            ids=ids2,
            sym=s2,
            enc=lambda: fam.encode(vals, ids2),
            dec=lambda d: fam.decode(d, ids2),
            check=vals,
        )
    )
    return out


def run(n: int, repeat: int) -> list[dict]:
    warnings.filterwarnings("ignore")
    from compressai.ans import RansDecoder, RansEncoder

    rng = np.random.default_rng(2024)
    rows = []
    for src in sources(n, rng):
        tables, ids, sym = src["tables"], src["ids"], src["sym"]
        ce = tables.cross_entropy_bits(sym, ids)
        t_enc, data = _best(src["enc"], repeat)
        t_dec, back = _best(functools.partial(src["dec"], data), repeat)
        assert np.array_equal(back, src.get("check", sym)), "our round trip failed"
        rows.append(
            dict(
                source=src["name"],
                coder="ours (constriction ANS, 24-bit)",
                bytes=len(data),
                enc=t_enc,
                dec=t_dec,
                ce=ce,
                n=n,
                prep=0.0,
            )
        )
        cdfs, lengths, offsets = _compressai_cdfs(tables)
        t0 = time.perf_counter()
        sym_l, ids_l = sym.astype(np.int32).tolist(), ids.astype(np.int32).tolist()
        prep = time.perf_counter() - t0
        args = (ids_l, cdfs, lengths, offsets)
        enc = functools.partial(RansEncoder().encode_with_indexes, sym_l, *args)
        t_enc, cdata = _best(enc, repeat)
        dec = functools.partial(RansDecoder().decode_with_indexes, cdata, *args)
        t_dec, cback = _best(dec, repeat)
        assert np.array_equal(np.asarray(cback), sym), "compressai round trip failed"
        rows.append(
            dict(
                source=src["name"],
                coder="compressai.ans (rANS, 16-bit)",
                bytes=len(cdata),
                enc=t_enc,
                dec=t_dec,
                ce=ce,
                n=n,
                prep=prep,
            )
        )
    adaptive = E.AdaptiveCategorical(256)  # no compressai counterpart
    p = rng.dirichlet(np.full(256, 0.05))
    sym = rng.choice(256, size=n, p=p)
    t_enc, data = _best(lambda: adaptive.encode(sym), repeat)
    t_dec, back = _best(lambda: adaptive.decode(data, n), repeat)
    assert np.array_equal(back, sym)
    emp = np.bincount(sym, minlength=256) / n
    h = float(-(emp[emp > 0] * np.log2(emp[emp > 0])).sum() * n)
    rows.append(
        dict(
            source="adaptive K=256 (vs empirical entropy)",
            coder="ours (AdaptiveCategorical)",
            bytes=len(data),
            enc=t_enc,
            dec=t_dec,
            ce=h,
            n=n,
            prep=0.0,
        )
    )
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| source | coder | bytes | overhead vs CE | enc Msym/s | dec Msym/s | enc MB/s | dec MB/s "
        "| list prep s |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['source']} | {r['coder']} | {r['bytes']:,} "
            f"| {100 * (8 * r['bytes'] / r['ce'] - 1):+.4f}% "
            f"| {r['n'] / r['enc'] / 1e6:.1f} | {r['n'] / r['dec'] / 1e6:.1f} "
            f"| {r['bytes'] / r['enc'] / 1e6:.1f} | {r['bytes'] / r['dec'] / 1e6:.1f} "
            f"| {r['prep']:.2f} |"
        )
    lines += [
        "",
        "| source | enc speed ours/compressai | dec speed ours/compressai | size ours/compressai |",
        "|---|---|---|---|",
    ]
    for ours, theirs in zip(rows[0:-1:2], rows[1:-1:2], strict=True):
        lines.append(
            f"| {ours['source']} | {theirs['enc'] / ours['enc']:.2f}x "
            f"| {theirs['dec'] / ours['dec']:.2f}x "
            f"| {ours['bytes'] / theirs['bytes']:.4f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=10_000_000, help="symbols per source")
    ap.add_argument("--repeat", type=int, default=1, help="timing repetitions (best is kept)")
    args = ap.parse_args()
    print(table(run(args.symbols, args.repeat)))


if __name__ == "__main__":
    main()
