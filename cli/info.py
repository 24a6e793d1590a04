"""``codec info FILE [--json]``: what a codec file holds, after checking it completely.

Prints the kind, format version, header fields (with their stored types) and each section's
name, size and CRC32. Every checksum is verified first, so a corrupt or truncated file is an
error (exit 1), not a listing.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from cli import common
from codec.container import MAGIC_BY_KIND, MAGIC_STREAM, MAX_TOTAL_BYTES, Container, field_type, unpack
from codec.fileio import read_bytes, read_prefix

__all__ = ["register", "run", "describe"]

_BYTES_SHOWN = 32  # bytes fields longer than this are abbreviated in the text listing


def register(subparsers) -> None:
    parser = common.add_command(
        subparsers, "info", help="show the header and sections of a codec file",
        description="Verify a codec file (every CRC32) and show its kind, format version, "
                    "header fields and sections.")
    parser.add_argument("file", type=Path, metavar="FILE", help="a codec file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if read_prefix(args.file, len(MAGIC_STREAM)) == MAGIC_STREAM:  # a stream is records, not one container
        from cli import stream

        return stream.show_info(args.file, args.json)
    data = read_bytes(args.file, max_size=MAX_TOTAL_BYTES)
    info = describe(unpack(data), str(args.file), len(data))
    if args.json:
        common.print_json(info)
    else:
        print(_text(info))
    return 0


def _json_value(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # "nan", "inf", "-inf": JSON has no literal for them
    return value


def describe(container: Container, path: str, size: int) -> dict:
    """JSON-ready description of ``container`` read from ``path`` (``size`` bytes long);
    bytes values become hex strings, non-finite floats the strings "nan"/"inf"/"-inf"."""
    return {
        "file": path,
        "kind": container.kind,
        "magic": MAGIC_BY_KIND[container.kind].decode("ascii"),
        "version": container.version,
        "size": size,
        "header": {name: {"type": field_type(value), "value": _json_value(value)}
                   for name, value in container.header.items()},
        "sections": [{"name": name, "size": len(payload)} for name, payload in container.sections],
    }


def _text(info: dict) -> str:
    lines = [
        f"file:     {info['file']}",
        f"kind:     {info['kind']} (magic {info['magic']})",
        f"version:  {info['version']}",
        f"size:     {common.format_bytes(info['size'])}",
        "checksums: ok",
        f"header ({len(info['header'])} fields):",
    ]
    width = max((len(name) for name in info["header"]), default=0)
    for name, field in info["header"].items():
        value = field["value"]
        if field["type"] == "bytes":
            n = len(value) // 2
            value = value[:2 * _BYTES_SHOWN] + ("..." if n > _BYTES_SHOWN else "") + f" ({n} bytes)"
        elif field["type"] == "str":
            value = repr(value)
        lines.append(f"  {name:<{width}}  {field['type']:<5}  {value}")
    lines.append(f"sections ({len(info['sections'])}):")
    width = max((len(s["name"]) for s in info["sections"]), default=0)
    for section in info["sections"]:
        lines.append(f"  {section['name']:<{width}}  {section['size']:>12,} B")
    return "\n".join(lines)
