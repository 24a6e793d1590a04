"""``codec eval``, ``codec plot``, ``codec bdrate``: rate-distortion measurement and comparison."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

from cli import common
from codec.rd import METRICS

__all__ = ["register"]


def register(subparsers) -> None:
    ev = common.add_command(
        subparsers, "eval", help="measure rate-distortion on an image folder",
        description="Encode and decode every image of DATASET_DIR at each quality and write "
                    "CompressAI eval_model JSON: means of psnr-rgb, ms-ssim-rgb, bpp (whole file, "
                    "header included), encoding_time and decoding_time, plus a per-image CSV.")
    ev.add_argument("dataset", type=Path, metavar="DATASET_DIR")
    ev.add_argument("-q", "--qualities", default=None, metavar="LIST", help="comma-separated qualities (default: all)")
    ev.add_argument("-Q", dest="qualities", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # the old spelling
    ev.add_argument("--out", type=Path, required=True, help="results JSON to write")
    ev.add_argument("--csv", type=Path, default=None, help="per-image CSV (default: OUT with .csv)")
    ev.add_argument("--model", default=None, help="model id (default: the manifest's default)")
    ev.add_argument("--name", default=None, help="curve name in the JSON (default: the model id)")
    common.add_refine_option(ev)
    ev.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    ev.set_defaults(func=_run_eval)

    pl = common.add_command(subparsers, "plot", help="draw RD curves into a PNG",
                            description="Plot quality against bpp for results JSON files (the first in bold), "
                                        "e.g. ours against ../shared/anchors/compressai-results/kodak/*.json.")
    pl.add_argument("results", nargs="+", type=Path, help="results JSON files")
    pl.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    pl.add_argument("--metric", choices=METRICS, default="psnr-rgb",
                    help="psnr-rgb (default) or MS-SSIM in dB (ms-ssim-db, same as ms-ssim-db-rgb); "
                         "a file without it is left out with a warning")
    pl.add_argument("--title", default="Kodak")
    pl.add_argument("-f", "--force", action="store_true", help="overwrite an existing PNG")
    pl.set_defaults(func=_run_plot)

    bd = common.add_command(subparsers, "bdrate", help="Bjontegaard delta rate against anchors",
                            description="BD-rate (percent; negative = TEST needs fewer bits) of TEST "
                                        "against each ANCHOR, over the quality range both cover. An anchor "
                                        "without the metric is skipped with a warning, and a warning says when "
                                        "the two files cover different numbers of images.")
    bd.add_argument("test", type=Path, metavar="TEST.json")
    bd.add_argument("anchors", nargs="+", type=Path, metavar="ANCHOR.json")
    bd.add_argument("--metric", choices=METRICS, default="psnr-rgb",
                    help="psnr-rgb (default) or MS-SSIM in dB (ms-ssim-db, same as ms-ssim-db-rgb)")
    bd.add_argument("--json", action="store_true", help="print JSON")
    bd.set_defaults(func=_run_bdrate)


def _run_eval(args: argparse.Namespace) -> int:
    from codec.errors import InvalidInputError
    from codec.fileio import atomic_write
    from codec.image.codec import ImageCodec
    from codec.image.evaluate import evaluate_folder

    base = ImageCodec(model_id=args.model)
    n = base.models[base.model_id].model.config.num_qualities
    try:
        qualities = [int(q) for q in args.qualities.split(",")] if args.qualities else list(range(1, n + 1))
    except ValueError:
        raise InvalidInputError(f"--qualities must be comma-separated integers, got {args.qualities!r}") from None
    csv_path = args.csv or args.out.with_suffix(".csv")
    for path in (args.out, csv_path):
        common.refuse_existing(path, args.force)
    codecs = {q: ImageCodec(quality=q, model_id=base.model_id, models=base.models, refine=args.refine) for q in qualities}
    results, rows = evaluate_folder(args.dataset, qualities, codecs.__getitem__,
                                    progress=lambda it: common.progress_bar(it, desc="eval", unit="img", quiet=args.quiet))
    doc = {"name": args.name or base.model_id, "description": f"gmcodec {base.model_id}, whole-file bpp, CPU"
           + (f", encoder refinement {args.refine} steps" if args.refine else ""),
           "images": len({r["image"] for r in rows}), "qualities": qualities, "results": results}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(csv_path, buf.getvalue().encode(), force=args.force)
    atomic_write(args.out, (json.dumps(doc, indent=2) + "\n").encode(), force=args.force)
    for i, q in enumerate(qualities):
        print(f"q{q}: {results['bpp'][i]:.4f} bpp  {results['psnr-rgb'][i]:.2f} dB  "
              f"ms-ssim {results['ms-ssim-rgb'][i]:.4f}  enc {results['encoding_time'][i]:.3f} s  "
              f"dec {results['decoding_time'][i]:.3f} s")
    return 0


def _run_plot(args: argparse.Namespace) -> int:
    from codec.fileio import atomic_write
    from codec.rd import load_results, plot_rd

    png = plot_rd([load_results(p) for p in args.results], metric=args.metric, title=args.title)
    atomic_write(args.output, png, force=args.force)
    print(f"wrote {args.output}")
    return 0


def _run_bdrate(args: argparse.Namespace) -> int:
    import warnings

    from codec.errors import InvalidInputError
    from codec.rd import bd_rate, has_metric, image_count, load_results

    test = load_results(args.test)
    if not has_metric(test, args.metric):
        raise InvalidInputError(f"{args.test}: no {args.metric} values")
    rows = []
    for path in args.anchors:
        anchor = load_results(path)
        if not has_metric(anchor, args.metric):
            warnings.warn(f"{path}: no {args.metric} values, skipped")
            continue
        n_test, n_anchor = image_count(test), image_count(anchor)
        if n_test is not None and n_anchor is not None and n_test != n_anchor:
            warnings.warn(f"{args.test} covers {n_test} images and {path} {n_anchor}: "
                          "the BD-rate compares means over different image sets")
        rows.append({"anchor": anchor["name"], "file": str(path), "bd_rate_percent": bd_rate(test, anchor, args.metric)})
    if args.json:
        common.print_json([{**r, "bd_rate_percent": None if r["bd_rate_percent"] != r["bd_rate_percent"]
                            else round(r["bd_rate_percent"], 3)} for r in rows])
    else:
        for r in rows:
            print(f"{r['bd_rate_percent']:+8.2f} %  vs {r['anchor']} ({r['file']})")
    return 0
