"""The ``codec`` command line: argument parsing, progress and exit codes; no codec logic.

Each subcommand is a module (``cli.info``, later ``cli.image``, ``cli.scene``, ...) exposing
``register(subparsers) -> None``; ``cli.main.COMMAND_MODULES`` lists them, one line each.
"""

__all__: list[str] = []
