"""The ``codec`` command: builds the parser from the command modules and maps errors to exit codes.

Exit codes: 0 success; 1 a :class:`codec.errors.CodecError` or ``OSError`` (one line
``codec: error: ...`` on stderr, no traceback unless ``--debug``); 2 usage error (argparse, or
:class:`cli.common.UsageError` before any work); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import warnings

from cli import common
from codec.errors import CodecError, CodecWarning

__all__ = ["COMMAND_MODULES", "build_parser", "main", "version_string"]

# One line per command. Each module exposes ``register(subparsers) -> None``, which adds its
# parser (via ``cli.common.add_command``) and sets ``func(args) -> int``. Modules import heavy
# dependencies (torch, models) inside ``func`` so that ``codec --help`` stays fast.
COMMAND_MODULES: tuple[str, ...] = (
    "cli.info",
    "cli.image",
    "cli.evaluate",
    "cli.stream",
    "cli.scene",
)

PROG = "codec"
DESCRIPTION = """\
gmcodec: learned compression for images and 3D Gaussian scenes.

Images are coded with a learned autoencoder whose latent is quantized by multi-codebook
vector quantization under a Gaussian-mixture prior; scenes (3D Gaussian Splatting .ply) and
free-viewpoint streams have their own coders. All files share one container format with
magic, version and CRC32 checks (see docs/format.md).
"""
EPILOG = "Run 'codec COMMAND --help' for the options of a command."


def version_string() -> str:
    """Version of the installed distribution ``gmcodec``, else ``codec.__version__``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gmcodec")
    except PackageNotFoundError:
        from codec import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version_string()}")
    common.add_global_options(parser, in_subcommand=False)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _error(message: str) -> None:
    common.print_error(message)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Python warnings (a converted colour mode, a skipped curve, ...) print as one line
    ``codec: warning: ...`` on stderr; a :class:`CodecWarning` every time (one per input file).
    """
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        warnings.simplefilter("always", CodecWarning)
        return _run(argv)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _run(argv: list[str] | None) -> int:
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version (0) and usage errors (2)
            return exc.code if isinstance(exc.code, int) else 2
        debug = args.debug
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except common.UsageError as exc:  # found after parsing, before any slow work
        _error(_one_line(exc))
        return 2
    except BrokenPipeError:  # e.g. `codec info F | head`: the reader went away, stay quiet
        _silence_stdout()
        return 1
    except (CodecError, OSError) as exc:
        if debug:
            traceback.print_exc()
        _error(_one_line(exc))
        return 1
    except Exception as exc:  # a bug: say so in one line, the traceback is one flag away
        if debug:
            traceback.print_exc()
        _error(f"internal error: {type(exc).__name__}: {_one_line(exc)} "
               "(this is a bug; rerun with --debug and report the traceback)")
        return 1


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
