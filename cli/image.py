"""``codec encode`` / ``codec decode``: images to ``.gmc`` files and back.

Inputs may be files, directories (every image inside, not recursive) or glob patterns. The
command line is checked before any model loads (usage errors exit 2): the quality against the
model or the files, ``-o`` with several inputs, and outputs that would collide. Each output is
written to a temporary file and renamed, existing files are kept unless ``--force``, ``-d DIR``
is created when missing, and a failure on one input is reported and the others still run (exit
code 1 at the end). Ctrl-C stops at once (see :func:`_run_many`) and exits with 130.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cli import common
from codec.errors import CodecError, InvalidInputError

__all__ = ["register", "expand_inputs", "SUFFIX"]

SUFFIX = ".gmc"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm")
_NAMES_SHOWN = 8  # outputs named in the Ctrl-C report; the rest are counted
_BATCH_NOTES = """
Outputs are named after the inputs (-d DIR: inside DIR, created if missing). Two inputs that
would write the same output (a.png and a.jpg into a.gmc) or a file given twice are refused
before any work, with exit code 2. Ctrl-C stops at once: the file being coded is not written
(with --jobs N, the files in flight are finished first), the rest are skipped, and the
outputs written so far are listed; exit code 130."""


def register(subparsers) -> None:
    enc = common.add_command(
        subparsers, "encode", help="compress images to .gmc files",
        description="Compress images with the learned VQ codec. Quality 1 (about 0.1 bpp) to 6\n"
                    "(about 1.5 bpp) on photographs; a file can later be cut to a lower quality\n"
                    "with `codec decode -q N`. Prints size, bits per pixel and time per file.\n"
                    + _BATCH_NOTES)
    enc.add_argument("inputs", nargs="+", help="image files, directories or glob patterns")
    common.add_quality_option(enc, "quality 1..6 with the shipped model, the number of stages (default 4)",
                              type=common.int_in(1), default=None)
    enc.add_argument("--jobs", type=common.int_in(1), default=1, metavar="N",
                     help="images coded in parallel (default 1)")
    enc.add_argument("--model", default=None, help="model id from weights/manifest.json (default: the default)")
    common.add_refine_option(enc)
    common.add_output_options(enc)
    enc.set_defaults(func=_run_encode)

    dec = common.add_command(
        subparsers, "decode", help="decompress .gmc files to PNG",
        description="Decompress .gmc image files to PNG (the original size and colour mode).\n"
                    + _BATCH_NOTES)
    dec.add_argument("inputs", nargs="+", help=".gmc files, directories or glob patterns")
    common.add_quality_option(dec, "decode only the first N stages, a lower quality prefix of the file "
                                   "(at most the quality it was encoded with)",
                              type=common.int_in(1), default=None)
    dec.add_argument("--jobs", type=common.int_in(1), default=1, metavar="N",
                     help="files decoded in parallel (default 1)")
    common.add_output_options(dec)
    dec.set_defaults(func=_run_decode)


def expand_inputs(items: list[str], suffixes: tuple[str, ...]) -> list[Path]:
    """Files named directly, images inside directories, and matches of glob patterns."""
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes))
        elif path.exists() or not glob.has_magic(item):
            out.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(item))
            if not matches:
                raise InvalidInputError(f"{item}: no file matches")
            out.extend(matches)
    if not out:
        raise InvalidInputError("no input files")
    return out


def _run_many(args: argparse.Namespace, inputs: list[Path], outputs: list[Path], work, desc: str) -> int:
    """Run ``work(path, out) -> str`` for every input and print what it returns.

    One job runs in this thread, so Ctrl-C interrupts the coding itself: the file in flight is
    never renamed into place (its temporary file is removed). With ``--jobs N`` the files in
    flight are finished (a thread cannot be stopped halfway) and the others never start. Either
    way the outputs written are listed and the exit code is 130.
    """
    jobs = list(zip(inputs, outputs))
    written: list[Path] = []  # appended by whichever thread wrote the file
    failures = 0
    start_ns = time.time_ns()

    def run(path: Path, out: Path) -> str:
        message = work(path, out)
        written.append(out)
        return message

    def collect(path: Path, result) -> None:
        nonlocal failures
        try:
            print(result(), flush=True)
        except CodecError as exc:
            if args.debug:
                raise
            failures += 1
            common.print_error(f"{path}: {exc}" if str(path) not in str(exc) else str(exc))

    if args.jobs == 1:
        try:
            for path, out in common.progress_bar(jobs, desc=desc, unit="file", quiet=args.quiet):
                collect(path, lambda: run(path, out))
        except KeyboardInterrupt:
            return _interrupted(written, outputs, start_ns)
        return 1 if failures else 0

    pool = ThreadPoolExecutor(max_workers=args.jobs)
    futures = []
    collected = 0
    try:
        futures.extend(pool.submit(run, path, out) for path, out in jobs)
        for (path, _), fut in common.progress_bar(list(zip(jobs, futures)), desc=desc, unit="file",
                                                  quiet=args.quiet):
            collect(path, fut.result)
            collected += 1
    except KeyboardInterrupt:
        running = sum(f.running() for f in futures[collected:])
        if running:
            print(f"{common.PROG}: interrupted: finishing the {running} file(s) in flight", file=sys.stderr,
                  flush=True)
        pool.shutdown(wait=True, cancel_futures=True)
        for (path, _), fut in zip(jobs[collected:], futures[collected:]):
            if not fut.cancelled():
                collect(path, fut.result)
        return _interrupted(written, outputs, start_ns)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return 1 if failures else 0


def _interrupted(written: list[Path], outputs: list[Path], start_ns: int) -> int:
    """Say which outputs this run wrote before Ctrl-C; returns the exit code 130. An output
    renamed into place just as Ctrl-C came (before it was recorded) is found by its mtime."""
    done = [p for p in outputs if p in written or _modified_since(p, start_ns)]
    names = ", ".join(str(p) for p in done[:_NAMES_SHOWN])
    more = f" and {len(done) - _NAMES_SHOWN} more" if len(done) > _NAMES_SHOWN else ""
    listing = f": {names}{more}" if done else ""
    print(f"{common.PROG}: interrupted: {len(done)} of {len(outputs)} outputs written{listing}; "
          f"nothing else was written", file=sys.stderr, flush=True)
    return 130


def _modified_since(path: Path, start_ns: int) -> bool:
    try:
        return path.stat().st_mtime_ns >= start_ns
    except OSError:
        return False


def _check_encode_quality(args: argparse.Namespace) -> None:
    """UsageError when ``-q`` is above the qualities of the model (read from the manifest only)."""
    if args.quality is None:
        return
    from codec.image.config import ImageModelConfig
    from codec.manifest import manifest_entry

    model_id, entry = manifest_entry(args.model)
    n = ImageModelConfig.from_dict(entry["config"]).num_qualities
    if args.quality > n:
        raise common.UsageError(f"-q/--quality must be 1..{n} with model {model_id}, got {args.quality}")


def _check_decode_quality(inputs: list[Path], quality: int | None) -> None:
    """UsageError when ``-q`` is above the quality a file holds (read from its header only); a
    file whose header cannot be read is left for its decode to report."""
    if quality is None:
        return
    from codec.container import read_container_header

    for path in inputs:
        try:
            held = read_container_header(path, "image").header.get("quality")
        except CodecError:
            continue
        if isinstance(held, int) and quality > held:
            raise common.UsageError(f"-q/--quality {quality}: {path} holds qualities 1..{held}; "
                                    f"a file decodes at most at the quality it was encoded with")


def _run_encode(args: argparse.Namespace) -> int:
    inputs = expand_inputs(args.inputs, IMAGE_SUFFIXES)
    outputs = common.plan_outputs(args, inputs, SUFFIX)
    _check_encode_quality(args)

    from codec.fileio import atomic_write
    from codec.image.codec import ImageCodec
    from codec.image.pixels import open_image

    codec = ImageCodec(quality=args.quality, model_id=args.model, refine=args.refine)

    def work(path: Path, out: Path) -> str:
        common.refuse_existing(out, args.force)
        image = open_image(path)
        start = time.perf_counter()
        data = codec.encode(image)
        seconds = time.perf_counter() - start
        atomic_write(out, data, force=args.force)
        bpp = len(data) * 8 / (image.width * image.height)
        return f"{path} -> {out}: {len(data):,} B, {bpp:.4f} bpp, {seconds:.2f} s"

    with common.output_dir(args.output_dir):
        return _run_many(args, inputs, outputs, work, "encode")


def _run_decode(args: argparse.Namespace) -> int:
    inputs = expand_inputs(args.inputs, (SUFFIX,))
    outputs = common.plan_outputs(args, inputs, ".png")
    _check_decode_quality(inputs, args.quality)

    import io

    from codec.container import MAX_TOTAL_BYTES
    from codec.fileio import atomic_write, read_bytes
    from codec.image.codec import ImageCodec, reduce_quality

    codec = ImageCodec()  # the model of each file is picked from its header

    def work(path: Path, out: Path) -> str:
        common.refuse_existing(out, args.force)
        data = read_bytes(path, max_size=MAX_TOTAL_BYTES)
        if args.quality is not None:
            data = reduce_quality(data, args.quality)
        start = time.perf_counter()
        image = codec.decode(data)
        seconds = time.perf_counter() - start
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        atomic_write(out, buf.getvalue(), force=args.force)
        return f"{path} -> {out}: {image.width}x{image.height} {image.mode}, {seconds:.2f} s"

    with common.output_dir(args.output_dir):
        return _run_many(args, inputs, outputs, work, "decode")
