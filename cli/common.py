"""Helpers shared by the command modules: option sets, output naming, progress bars, JSON.

A command module uses them like this::

    from cli import common

    def register(subparsers) -> None:
        parser = common.add_command(subparsers, "encode", help="...", description="...")
        parser.add_argument("inputs", nargs="+", type=Path)
        common.add_output_options(parser)
        parser.set_defaults(func=run)

    def run(args) -> int:
        for path in common.progress_bar(args.inputs, desc="encode", quiet=args.quiet):
            out = common.output_path(args, path, ".gmc")
            ...
        return 0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from codec.errors import InvalidInputError, OutputExistsError
from codec.fileio import output_path_in

__all__ = [
    "add_global_options",
    "add_command",
    "add_output_options",
    "output_path",
    "refuse_existing",
    "progress_bar",
    "print_json",
    "format_bytes",
    "print_error",
]

PROG = "codec"


def add_global_options(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    """``--debug`` and ``-q/--quiet``, accepted before and after the command name.

    In a subcommand the defaults are suppressed, so a value given before the command name
    (``codec --debug info F``) is not reset by the subparser.
    """
    default = argparse.SUPPRESS if in_subcommand else False
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback when something fails")
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="no progress bars")


def add_command(subparsers, name: str, *, help: str, description: str | None = None
                ) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` with the global options attached; returns its parser."""
    parser = subparsers.add_parser(name, help=help, description=description or help,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_global_options(parser, in_subcommand=True)
    return parser


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``-o FILE`` or ``-d DIR`` (exclusive) and ``-f/--force``; see :func:`output_path`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-o", "--output", type=Path, metavar="FILE",
                       help="output file (only with a single input)")
    group.add_argument("-d", "--output-dir", type=Path, metavar="DIR",
                       help="write outputs into DIR, named after the inputs")
    parser.add_argument("-f", "--force", action="store_true",
                        help="overwrite existing output files")


def add_refine_option(parser: argparse.ArgumentParser) -> None:
    """``--refine STEPS``: encoder-side latent refinement (``codec.image.refine``)."""
    parser.add_argument("--refine", type=int, default=0, metavar="STEPS",
                        help="optimize each image's latent against the decoder for STEPS steps before "
                             "quantizing: higher PSNR at about the same size, files decode as usual; "
                             "each step costs about two decodes (50 steps: ~12 s for a 768x512 image "
                             "on 2 cores; default 0, off)")


def output_path(args: argparse.Namespace, input_path: Path, suffix: str,
                n_inputs: int = 1) -> Path:
    """Where the output for ``input_path`` goes.

    ``-o FILE`` gives it directly (an error with several inputs); ``-d DIR`` puts
    ``<input stem><suffix>`` inside DIR, never outside it; otherwise the output goes next to
    the input with its suffix replaced by ``suffix``.
    """
    input_path = Path(input_path)
    if getattr(args, "output", None) is not None:
        if n_inputs != 1:
            raise InvalidInputError("-o/--output takes a single input; use -d/--output-dir "
                                    "for several")
        return args.output
    name = input_path.stem + suffix
    if getattr(args, "output_dir", None) is not None:
        return output_path_in(args.output_dir, name)
    return input_path.with_name(name)


def refuse_existing(path: Path, force: bool) -> None:
    """OutputExistsError unless ``force`` when ``path`` exists: checked before any slow work
    (the atomic write checks again)."""
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists (use --force to overwrite)")


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None,
                 desc: str | None = None, unit: str = "it", quiet: bool = False):
    """A tqdm bar on stderr; silent with ``quiet`` or when stderr is not a terminal."""
    from tqdm import tqdm

    disable = quiet or not _isatty(sys.stderr)
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable,
                file=sys.stderr, leave=False, dynamic_ncols=True)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented, strictly valid JSON (no NaN/Infinity literals)."""
    print(json.dumps(obj, indent=2, allow_nan=False))


def format_bytes(n: int) -> str:
    """``1234567`` -> ``"1,234,567 B (1.18 MiB)"``."""
    if n < 1024:
        return f"{n:,} B"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n:,} B ({n / scale:.2f} {unit})"
    raise AssertionError("unreachable")


def print_error(message: str) -> None:
    """One line ``codec: error: message`` on stderr (newlines folded)."""
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
