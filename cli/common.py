"""Helpers shared by the command modules: option sets, output naming, progress bars, JSON.

A command module uses them like this::

    from cli import common

    def register(subparsers) -> None:
        parser = common.add_command(subparsers, "encode", help="...", description="...")
        parser.add_argument("inputs", nargs="+", type=Path)
        common.add_output_options(parser)
        parser.set_defaults(func=run)

    def run(args) -> int:
        outputs = common.plan_outputs(args, args.inputs, ".gmc")  # usage errors before any work
        for path, out in common.progress_bar(list(zip(args.inputs, outputs)), desc="encode", quiet=args.quiet):
            ...
        return 0
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from codec.errors import InvalidInputError, OutputExistsError
from codec.fileio import output_path_in

__all__ = [
    "UsageError",
    "add_global_options",
    "add_command",
    "add_output_options",
    "add_quality_option",
    "int_in",
    "output_path",
    "plan_outputs",
    "output_dir",
    "refuse_existing",
    "progress_bar",
    "print_json",
    "format_bytes",
    "print_error",
]

PROG = "codec"


class UsageError(Exception):
    """A command line that parsed but cannot run (a quality above what the model or file holds,
    two inputs writing one output). Raised before any slow work; ``cli.main`` prints it as one
    line and exits with 2, like an argparse error."""


def add_global_options(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    """``--debug`` and ``-s/--quiet``, accepted before and after the command name (``-q`` is the
    quality, as in cwebp, cjxl and avifenc).

    In a subcommand the defaults are suppressed, so a value given before the command name
    (``codec --debug info F``) is not reset by the subparser.
    """
    default = argparse.SUPPRESS if in_subcommand else False
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback when something fails")
    parser.add_argument("-s", "--quiet", action="store_true", default=default,
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


def add_quality_option(parser: argparse.ArgumentParser, help: str, **kwargs) -> None:
    """``-q N``/``--quality N`` (and ``-Q``, its old spelling, hidden) with ``kwargs`` as for
    ``add_argument`` (``type``, ``default``, ``choices``...)."""
    kwargs.setdefault("metavar", "N")
    parser.add_argument("-q", "--quality", help=help, **kwargs)
    hidden = {k: v for k, v in kwargs.items() if k != "default"}
    parser.add_argument("-Q", dest="quality", help=argparse.SUPPRESS, default=argparse.SUPPRESS, **hidden)


def int_in(low: int, high: int | None = None):
    """An argparse ``type``: an integer in ``low..high`` (no upper bound when ``high`` is None),
    so a value out of range is a usage error (exit 2) before the command runs."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            wanted = f"{low}..{high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {value}")
        return value

    return parse


def output_path(args: argparse.Namespace, input_path: Path, suffix: str) -> Path:
    """Where the output for ``input_path`` goes.

    ``-o FILE`` gives it directly; ``-d DIR`` puts ``<input stem><suffix>`` inside DIR, never
    outside it; otherwise the output goes next to the input with its suffix replaced by
    ``suffix``. :func:`plan_outputs` checks a whole command line.
    """
    input_path = Path(input_path)
    if getattr(args, "output", None) is not None:
        return args.output
    name = input_path.stem + suffix
    if getattr(args, "output_dir", None) is not None:
        return output_path_in(args.output_dir, name)
    return input_path.with_name(name)


def plan_outputs(args: argparse.Namespace, inputs: list[Path], suffix: str) -> list[Path]:
    """The output of every input (:func:`output_path`), checked before any work: ``-o`` with
    several inputs, an input given twice, two inputs that would write the same output
    (``a.png`` and ``a.jpg`` both to ``a.gmc``) and an output that is one of the inputs are
    :class:`UsageError`.
    """
    if getattr(args, "output", None) is not None and len(inputs) != 1:
        raise UsageError(f"-o/--output takes a single input, got {len(inputs)}; "
                         "use -d/--output-dir for several")
    outputs = [output_path(args, p, suffix) for p in inputs]
    first_in: dict[str, int] = {}
    for i, path in enumerate(inputs):
        j = first_in.setdefault(_same_file_key(path), i)
        if j != i:
            raise UsageError(f"{path} is given twice" + ("" if str(inputs[j]) == str(path) else f" (also as {inputs[j]})"))
    first_out: dict[str, int] = {}
    for i, (path, out) in enumerate(zip(inputs, outputs)):
        if _same_file_key(out) in first_in:
            raise UsageError(f"the output {out} of {path} is one of the inputs")
        j = first_out.setdefault(_same_file_key(out), i)
        if j != i:
            raise UsageError(f"{inputs[j]} and {path} would both be written to {out}; "
                             "rename one of them or code them one at a time with -o")
    return outputs


def _same_file_key(path: Path) -> str:
    """One string per file: the absolute path with symlinks resolved (the file need not exist)."""
    return os.path.normcase(str(Path(path).resolve()))


@contextlib.contextmanager
def output_dir(path: Path | None) -> Iterator[None]:
    """Create the output folder ``path`` (and its parents) if it is missing, and remove what
    this created again if the command leaves it empty (it failed, or wrote nothing). ``None``
    (no ``-d``) does nothing."""
    if path is None:
        yield
        return
    created = []
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        created.append(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create {path}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        for folder in created:  # deepest first
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break


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
