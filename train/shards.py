"""Split a checkpoint's tensor file into pieces of bounded size, and join the pieces back.

A lent GPU machine returns files of at most 16 MiB, while a checkpoint's ``tensors.safetensors``
(model, Adam moments, RNG) is about three times the model. ``split`` packs whole tensors, in
file order, into ``tensors-NN.safetensors`` pieces of at most ``max_bytes`` each (a tensor larger
than that gets a piece of its own) and copies ``state.json``; ``join`` rebuilds the checkpoint
folder that :func:`train.checkpoint.load_checkpoint` reads::

    python -m train.shards split checkpoints/gpu/latest $OUT/latest
    python -m train.shards join /work/.device/.../latest checkpoints/x_h64/latest
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

__all__ = ["split", "join"]

PIECE_BYTES = 15 * 2**20


def split(checkpoint: Path, out: Path, max_bytes: int = PIECE_BYTES) -> list[Path]:
    """Write ``checkpoint``'s tensors as pieces under ``out``; returns the piece paths."""
    tensors = load_file(str(checkpoint / "tensors.safetensors"))
    groups: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, value in tensors.items():
        nbytes = value.numel() * value.element_size()
        if groups[-1] and size + nbytes > max_bytes:
            groups.append({})
            size = 0
        groups[-1][name] = value
        size += nbytes
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"tensors-{i:02d}.safetensors" for i in range(len(groups))]
    for group, path in zip(groups, paths):
        save_file(group, str(path))
    shutil.copyfile(checkpoint / "state.json", out / "state.json")
    return paths


def join(pieces: Path, checkpoint: Path) -> None:
    """Rebuild ``checkpoint`` (``tensors.safetensors`` + ``state.json``) from ``split``'s pieces."""
    files = sorted(pieces.glob("tensors-*.safetensors"))
    if not files or not (pieces / "state.json").exists():
        raise FileNotFoundError(f"{pieces} holds no checkpoint pieces (tensors-NN.safetensors and state.json)")
    tensors: dict[str, torch.Tensor] = {}
    for path in files:
        tensors.update(load_file(str(path)))
    checkpoint.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(checkpoint / "tensors.safetensors"))
    shutil.copyfile(pieces / "state.json", checkpoint / "state.json")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.shards", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("split", "join"))
    p.add_argument("source", type=Path, help="checkpoint folder (split) or folder of pieces (join)")
    p.add_argument("target", type=Path, help="folder of pieces (split) or checkpoint folder (join)")
    args = p.parse_args(argv)
    if args.action == "split":
        for path in split(args.source, args.target):
            print(f"{path} {path.stat().st_size / 2**20:.1f} MiB")
    else:
        join(args.source, args.target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
