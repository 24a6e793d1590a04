"""The format's fixed integer tables, as files for the browser decoder (``static/tables/``).

Two tables of the bitstream are not stored in it: the Laplace scale families of the scene
codec's position streams (``codec.scene.streams``) and of the stream's residuals
(``codec.stream.tables``). Python builds them from float64 ``math.exp`` and quantizes them to
integers; a browser's ``Math.exp`` is not guaranteed to round the same way, so the JavaScript
decoder does not rebuild them but loads the integers themselves (``ScaleFamily.to_bytes()``,
CRC-checked). The opacity dequantization tables (``opacity_from_int``: float64 ``log`` /
``log1p`` rounded to float32) are shipped for the same reason. ``tests/test_web_assets.py``
checks that the shipped files equal what the Python decoder uses.

Regenerate after a deliberate format change: ``python -m codec.web.assets --write``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from codec.scene.codec import OPACITY_BITS
from codec.scene.quantize import opacity_from_int
from codec.scene.streams import _family as scene_family
from codec.stream.tables import residual_family

from . import STATIC_DIR

__all__ = ["table_assets", "TABLES_DIR"]

TABLES_DIR = STATIC_DIR / "tables"


def _opacity_tables() -> bytes:
    """JSON {bits: [2**bits float32 logits]} for every opacity bit depth a scene file may use
    (``codec.OPACITY_BITS``; exact: each float32 is written as the shortest decimal that reads
    back as the same double)."""
    out = {}
    for bits in range(OPACITY_BITS[0], OPACITY_BITS[1] + 1):
        table = opacity_from_int(np.arange(1 << bits), bits)
        out[str(bits)] = [float(v) for v in table]
    return (json.dumps(out, separators=(",", ":")) + "\n").encode()


def table_assets() -> dict[str, bytes]:
    """File name (under ``static/tables``) -> bytes the browser decoder must load."""
    return {"laplace_scene.esf": scene_family().to_bytes(),
            "laplace_residual.esf": residual_family().to_bytes(),
            "opacity_logits.json": _opacity_tables()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the files (default: check them)")
    args = parser.parse_args()
    stale = []
    for name, data in table_assets().items():
        path = TABLES_DIR / name
        if args.write:
            path.write_bytes(data)
        elif not path.is_file() or path.read_bytes() != data:
            stale.append(name)
    if stale:
        print(f"out of date: {', '.join(stale)} (run python -m codec.web.assets --write)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
