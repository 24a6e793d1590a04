"""Learning curves of training runs: validation PSNR at fixed rates against training wall time.

    python benchmarks/plot_learning_curve.py checkpoints/v2Q/log.jsonl --label gmq2 \\
        --reference docs/val_gmq-v5.json --out docs/learning-curve.png

Each validation line of a ``train.loop`` log (``OUT/log.jsonl``) holds one rate-distortion point
per quality (``bpp_q*``, ``psnr_q*``: ideal bits under the training prior, float decode, the
loop's fixed validation split). Qualities move in rate while a model trains, so PSNR alone is no
curve: each line's points are interpolated (monotone pchip, PSNR against log bpp) at the rates
``--rates``, and the PSNR there is drawn against the run's accumulated wall time (``elapsed_s``,
which resumed legs continue). Rates outside a line's points are left out rather than extrapolated.
``--reference`` adds a fixed model's points on the same split (a results JSON such as
``codec eval`` writes: ``{"results": {"bpp": [...], "psnr-rgb": [...]}}``) as dashed levels.
Prints the interpolated table too.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codec.errors import InvalidInputError  # noqa: E402
from codec.rd import load_results, png_bytes  # noqa: E402


def psnr_at(bpp: list[float], psnr: list[float], rate: float) -> float:
    """PSNR interpolated at ``rate`` bpp from RD points (NaN outside their range)."""
    from scipy.interpolate import PchipInterpolator

    order = np.argsort(bpp)
    b, p = np.log(np.asarray(bpp, float)[order]), np.asarray(psnr, float)[order]
    keep = np.concatenate([[True], np.diff(b) > 1e-9])
    b, p = b[keep], p[keep]
    if len(b) < 2 or not b[0] <= math.log(rate) <= b[-1]:
        return math.nan
    return float(PchipInterpolator(b, p)(math.log(rate)))


def validation_points(log: Path) -> list[tuple[float, int, list[float], list[float]]]:
    """``(minutes, step, bpp per quality, psnr per quality)`` of every validation line of ``log``."""
    rows = []
    try:
        lines = log.read_text().splitlines()
    except OSError as exc:
        raise InvalidInputError(f"{log}: cannot read ({exc.strerror})") from None
    for line in lines:
        d = json.loads(line)
        val = d.get("val")
        if not val or "elapsed_s" not in d:
            continue
        qualities = sorted(int(k[5:]) for k in val if k.startswith("bpp_q"))
        rows.append((d["elapsed_s"] / 60, d["step"], [val[f"bpp_q{q}"] for q in qualities],
                     [val[f"psnr_q{q}"] for q in qualities]))
    if not rows:
        raise InvalidInputError(f"{log}: no validation lines")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logs", nargs="+", type=Path, help="train.loop log.jsonl files")
    p.add_argument("--label", action="append", default=None, help="one label per log (default: folder name)")
    p.add_argument("--reference", action="append", default=[], type=Path,
                   help="results JSON of a fixed model on the same validation split (repeatable)")
    p.add_argument("--rates", type=lambda v: [float(r) for r in v.split(",")], default=[0.25, 0.5, 1.0],
                   help="comma-separated bpp at which PSNR is read (default: %(default)s)")
    p.add_argument("--out", type=Path, default=None, help="PNG to write (default: only print the table)")
    args = p.parse_args(argv)
    labels = args.label or [log.parent.name for log in args.logs]
    if len(labels) != len(args.logs):
        raise SystemExit("give one --label per log")
    curves = {}
    for label, log in zip(labels, args.logs):
        rows = validation_points(log)
        curves[label] = [(m, s, [psnr_at(b, ps, r) for r in args.rates]) for m, s, b, ps in rows]
        print(f"{label} ({log})")
        print(f"{'minutes':>8} {'step':>7} " + " ".join(f"{f'dB@{r:g}':>9}" for r in args.rates))
        for m, s, at in curves[label]:
            print(f"{m:8.1f} {s:7d} " + " ".join(f"{v:9.2f}" for v in at))
    levels = {}
    for ref in args.reference:
        data = load_results(ref)
        levels[data["name"]] = [psnr_at(data["results"]["bpp"], data["results"]["psnr-rgb"], r) for r in args.rates]
        print(f"{data['name']}: " + " ".join(f"{v:.2f} dB at {r:g}" for v, r in zip(levels[data["name"]], args.rates)))
    if args.out is not None:
        args.out.write_bytes(_plot(curves, levels, args.rates))
        print(f"wrote {args.out}")
    return 0


def _plot(curves: dict, levels: dict, rates: list[float]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rates), figsize=(4 * len(rates), 3.6), dpi=110, squeeze=False)
    for j, (ax, rate) in enumerate(zip(axes[0], rates)):
        for label, rows in curves.items():
            ax.plot([m for m, _, _ in rows], [at[j] for _, _, at in rows], "-o", markersize=3, label=label)
        for name, at in levels.items():
            if not math.isnan(at[j]):
                ax.axhline(at[j], linestyle="--", linewidth=1, color="gray", label=name)
        ax.set_title(f"validation PSNR at {rate:g} bpp")
        ax.set_xlabel("training wall minutes")
        ax.set_ylabel("dB")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    return png_bytes(fig)


if __name__ == "__main__":
    raise SystemExit(main())
