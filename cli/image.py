"""``codec encode`` / ``codec decode``: images to ``.gmc`` files and back.

Inputs may be files, directories (every image inside, not recursive) or glob patterns. Each
output is written to a temporary file and renamed, existing files are kept unless ``--force``,
and a failure on one input is reported and the others still run (exit code 1 at the end).
"""

from __future__ import annotations

import argparse
import glob
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cli import common
from codec.errors import CodecError, InvalidInputError

__all__ = ["register", "expand_inputs", "SUFFIX"]

SUFFIX = ".gmc"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm")


def register(subparsers) -> None:
    enc = common.add_command(
        subparsers, "encode", help="compress images to .gmc files",
        description="Compress images with the learned VQ codec. Quality 1 (about 0.1 bpp) to 6 "
                    "(about 1.5 bpp) on photographs; a file can later be cut to a lower quality "
                    "with `codec decode --quality`. Prints size, bits per pixel and time per file.")
    enc.add_argument("inputs", nargs="+", help="image files, directories or glob patterns")
    enc.add_argument("-Q", "--quality", type=int, default=None, metavar="Q",
                     help="quality 1..6 (default 4)")
    enc.add_argument("--jobs", type=int, default=1, help="images coded in parallel (default 1)")
    enc.add_argument("--model", default=None, help="model id from weights/manifest.json (default: the default)")
    common.add_refine_option(enc)
    common.add_output_options(enc)
    enc.set_defaults(func=_run_encode)

    dec = common.add_command(
        subparsers, "decode", help="decompress .gmc files to PNG",
        description="Decompress .gmc image files to PNG (the original size and colour mode).")
    dec.add_argument("inputs", nargs="+", help=".gmc files, directories or glob patterns")
    dec.add_argument("-Q", "--quality", type=int, default=None, metavar="Q",
                     help="decode only the first Q stages (a lower quality prefix of the file)")
    dec.add_argument("--jobs", type=int, default=1, help="files decoded in parallel (default 1)")
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


def _run_many(args: argparse.Namespace, inputs: list[Path], work, desc: str) -> int:
    failures = 0
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(work, p) for p in inputs]
        for path, fut in common.progress_bar(list(zip(inputs, futures)), desc=desc, unit="file", quiet=args.quiet):
            try:
                print(fut.result(), flush=True)
            except CodecError as exc:
                if args.debug:
                    raise
                failures += 1
                common.print_error(f"{path}: {exc}" if str(path) not in str(exc) else str(exc))
    return 1 if failures else 0


def _run_encode(args: argparse.Namespace) -> int:
    from codec.fileio import atomic_write
    from codec.image.codec import ImageCodec
    from codec.image.pixels import open_image

    inputs = expand_inputs(args.inputs, IMAGE_SUFFIXES)
    codec = ImageCodec(quality=args.quality, model_id=args.model, refine=args.refine)

    def work(path: Path) -> str:
        out = common.output_path(args, path, SUFFIX, len(inputs))
        common.refuse_existing(out, args.force)
        image = open_image(path)
        start = time.perf_counter()
        data = codec.encode(image)
        seconds = time.perf_counter() - start
        atomic_write(out, data, force=args.force)
        bpp = len(data) * 8 / (image.width * image.height)
        return f"{path} -> {out}: {len(data):,} B, {bpp:.4f} bpp, {seconds:.2f} s"

    return _run_many(args, inputs, work, "encode")


def _run_decode(args: argparse.Namespace) -> int:
    import io

    from codec.container import MAX_TOTAL_BYTES
    from codec.fileio import atomic_write, read_bytes
    from codec.image.codec import ImageCodec, reduce_quality

    inputs = expand_inputs(args.inputs, (SUFFIX,))
    codec = ImageCodec()  # the model of each file is picked from its header

    def work(path: Path) -> str:
        out = common.output_path(args, path, ".png", len(inputs))
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

    return _run_many(args, inputs, work, "decode")
