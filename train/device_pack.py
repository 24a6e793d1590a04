"""Pack training images into the size a lent GPU machine accepts, for ``train/gpu_sprint.sh``.

    python -m train.device_pack                 # writes .gpu/data (git-ignored)

The workplace's device tool sends the working tree plus carried folders, 64 MiB in all, so the
pack gets what the tracked files, ``.whl/`` and ``.gpu/`` (other than ``.gpu/data``) leave, less
``--margin-mib``. The PNG folders (Urban100, Sun-Hays 80: large images) go in first as lossless
WebP centre crops of ``--crop`` pixels, then the BSDS500 JPEGs unchanged, spread evenly over the
sorted list until the budget is spent; it prints what it left out. Pixels are never altered:
crops are exact and WebP is lossless.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from .loop import DEFAULT_DATA

__all__ = ["budget_bytes", "pack", "PNG_FOLDERS"]

ROOT = Path(__file__).resolve().parents[1]
TRANSFER_LIMIT = 64 * 2**20
PNG_FOLDERS = ("urban100-subset", "sunhays80")  # cropped to lossless WebP, in this order


def _folder_bytes(folder: Path, skip: Path | None = None) -> int:
    if not folder.exists():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*")
               if p.is_file() and (skip is None or skip not in p.parents))


def budget_bytes(root: Path, out: Path, margin: int) -> int:
    """Bytes left for ``out`` under the device tool's transfer limit."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    used = sum((root / name).stat().st_size for name in tracked.decode().split("\0")
               if name and (root / name).is_file())
    used += _folder_bytes(root / ".whl") + _folder_bytes(root / ".gpu", skip=out)
    return TRANSFER_LIMIT - used - margin


def _spread(items: list[Path]) -> list[Path]:
    """``items`` reordered so that any prefix samples the whole sorted list evenly."""
    order, step = [], 1
    while step < len(items):
        step *= 2
    seen: set[int] = set()
    while step >= 1:
        for i in range(0, len(items), step):
            if i not in seen:
                seen.add(i)
                order.append(items[i])
        step //= 2
    return order


def pack(data: Path, out: Path, budget: int, crop: int) -> tuple[int, int, dict[str, int]]:
    """Fill ``out`` with at most ``budget`` bytes of images; returns (files, bytes, images left
    out per folder)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    files = total = 0
    left_out: dict[str, int] = {}
    for folder in PNG_FOLDERS:
        for path in sorted((data / folder).glob("*.png")):
            with Image.open(path) as im:
                rgb = im.convert("RGB")
            left, top = max(0, (rgb.width - crop) // 2), max(0, (rgb.height - crop) // 2)
            buf = io.BytesIO()
            rgb.crop((left, top, left + crop, top + crop)).save(buf, "WEBP", lossless=True, quality=100, method=6)
            if total + buf.tell() > budget:
                left_out[folder] = left_out.get(folder, 0) + 1
                continue
            (out / f"{folder}-{path.stem}.webp").write_bytes(buf.getvalue())
            files, total = files + 1, total + buf.tell()
    for path in _spread(sorted((data / "bsds500").glob("*.jpg"))):
        size = path.stat().st_size
        if total + size > budget:
            left_out["bsds500"] = left_out.get("bsds500", 0) + 1
            continue
        shutil.copyfile(path, out / path.name)
        files, total = files + 1, total + size
    return files, total, left_out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.device_pack", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="training folders (default: %(default)s)")
    p.add_argument("--out", type=Path, default=ROOT / ".gpu" / "data")
    p.add_argument("--crop", type=int, default=320,
                   help="side of the PNG centre crops (320: all 629 training images fit beside gmq-v5)")
    p.add_argument("--margin-mib", type=float, default=1.0)
    args = p.parse_args(argv)
    budget = budget_bytes(ROOT, args.out.resolve(), int(args.margin_mib * 2**20))
    if budget <= 0:
        raise SystemExit(f"no room under the {TRANSFER_LIMIT >> 20} MiB transfer limit for training images")
    files, total, left_out = pack(args.data, args.out, budget, args.crop)
    missing = ", ".join(f"{n} of {folder}" for folder, n in left_out.items()) or "nothing"
    print(f"{args.out}: {files} images, {total / 2**20:.1f} MiB (budget {budget / 2**20:.1f} MiB); left out: {missing}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
