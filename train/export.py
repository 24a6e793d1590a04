"""Export a training checkpoint to shipped weights and measure them on Kodak.

    python -m train.export checkpoints/vq/best --id gmq-v2 --kodak ../shared/data/kodak

Steps: round the model to fp16, set the context class maps, estimate the integer frequency
tables from training crops (never Kodak), write safetensors, add the manifest entry, then run the
same evaluation as ``codec eval`` on the shipped file and record its numbers in the manifest.

The manifest's ``training.steps`` and ``wall_hours`` count everything behind the weights: when
the run started with ``--init`` from a model of this manifest (matched by file name, and by
sha256 where the file is at hand), that model's totals are added and it is named in
``init_model``; ``run_steps`` is the run's own share.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from codec.image.codec import ImageCodec
from codec.image.config import ImageModelConfig
from codec.image.evaluate import evaluate_folder
from codec.image.model import ImageModel
from codec.image.tables import freeze
from codec.manifest import entries_for_file
from codec.weights import (WeightsError, default_weights_dir, load_manifest, save_image_model, sha256_file,
                           write_manifest)

from .checkpoint import checkpoint_tensors, load_checkpoint
from .ema import EMA_PREFIX
from .data import ImageBank, list_images, split_train_val
from .loop import DEFAULT_DATA

__all__ = ["main"]


def _crops(data: Path, count: int, crop: int, batch: int, seed: int):
    train, _ = split_train_val(list_images(data))
    bank = ImageBank(train, crop)
    rng = np.random.default_rng(seed)
    for _ in range(0, count, batch):
        yield bank.random_batch(batch, crop, rng)


def lineage(training: dict, init: str | None, weights_dir: Path) -> dict:
    """``training`` (this run's steps and hours) extended with the totals of the shipped model
    it was initialized from, when ``init`` names a file of ``weights_dir``'s manifest."""
    if not init:
        return training
    init_path = Path(init)
    try:
        candidates = entries_for_file(init_path, weights_dir)
    except WeightsError:
        return training
    for model_id, entry in candidates:
        if "training" not in entry:
            continue
        if init_path.is_file() and sha256_file(init_path) != entry.get("sha256"):
            continue
        parent = entry["training"]
        return {**training, "init_model": model_id, "run_steps": training["steps"],
                "steps": training["steps"] + parent.get("steps", 0),
                "wall_hours": round(training["wall_hours"] + parent.get("wall_hours", 0.0), 2)}
    return training


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="checkpoint folder (e.g. checkpoints/vq/best)")
    p.add_argument("--id", required=True, help="model id: names the file and is written into every encoded file")
    p.add_argument("--weights", type=Path, default=default_weights_dir(), help="weights folder (default: %(default)s)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="training images for the tables")
    p.add_argument("--crops", type=int, default=512, help="256x256 training crops used to estimate the tables")
    p.add_argument("--kodak", type=Path, default=None, help="test folder to measure (recorded in the manifest)")
    p.add_argument("--no-default", action="store_true", help="do not make this the default model")
    p.add_argument("--quality-rate", type=lambda v: tuple(float(w) for w in v.split(",")), default=None,
                   help="comma-separated rate weights replacing the checkpoint's quality table (one per quality; "
                        "entropy-constrained models only: the weight is an encode-time knob, the tables follow it)")
    p.add_argument("--ema", action="store_true", help="ship the run's weight average (train.loop --ema) "
                                                     "instead of its last weights")
    args = p.parse_args(argv)

    torch.manual_seed(0)
    meta = json.loads((args.checkpoint / "state.json").read_text())
    if meta.get("arch", "vq") != "vq":
        raise SystemExit("only the VQ model ships as codec weights (the hyperprior peer is evaluated by benchmarks)")
    config = ImageModelConfig.from_dict(meta["config"])
    if args.quality_rate is not None:
        if config.prefix_qualities or len(args.quality_rate) != config.num_qualities:
            raise SystemExit(f"--quality-rate needs {config.num_qualities} weights and a model with a quality table")
        config = dataclasses.replace(config, quality_rate=args.quality_rate)
    model = ImageModel(config)
    load_checkpoint(args.checkpoint, model, None, None)
    if args.ema:
        averaged = checkpoint_tensors(args.checkpoint, EMA_PREFIX)
        if not averaged:
            raise SystemExit(f"{args.checkpoint} holds no weight EMA (train it with --ema DECAY)")
        with torch.no_grad():
            for name, param in model.named_parameters():
                param.copy_(averaged[EMA_PREFIX + name])
    model_id = args.id
    started = time.time()
    loaded = freeze(model, model_id, _crops(args.data, args.crops, 256, 16, seed=1))
    recipe = meta.get("recipe", {})
    training = {"steps": meta["step"], "wall_hours": round(meta["elapsed"] / 3600, 2),
                "data": "shared/data/train (BSDS500, Urban100 subset, Sun-Hays 80), validation split held out",
                **{k: v for k, v in recipe.items() if k != "data"}, "weights": "ema" if args.ema else "last"}
    entry = {"qualities": list(range(1, config.num_qualities + 1)),
             "training": lineage(training, recipe.get("init"), args.weights)}
    entry = save_image_model(loaded, args.weights, entry, make_default=not args.no_default)
    size = (args.weights / entry["file"]).stat().st_size
    print(f"wrote {args.weights / entry['file']} ({size:,} bytes, sha256 {entry['sha256'][:12]}...) "
          f"in {time.time() - started:.0f} s")

    if args.kodak is not None:
        qualities = list(range(1, config.num_qualities + 1))
        results, _ = evaluate_folder(args.kodak, qualities, lambda q: ImageCodec(
            quality=q, model_id=model_id, weights_dir=args.weights))
        manifest = load_manifest(args.weights)
        rates = "" if args.quality_rate is None else " --quality-rate " + ",".join(f"{w:g}" for w in args.quality_rate)
        manifest["models"][model_id]["kodak"] = {
            "qualities": qualities, **{k: [round(v, 5) for v in vals] for k, vals in results.items()},
            "measured_with": f"python -m train.export {args.checkpoint} --id {model_id} --crops {args.crops}"
                             f"{' --ema' if args.ema else ''}{rates} --kodak {args.kodak}"}
        write_manifest(args.weights, manifest)
        for q, b, ps in zip(qualities, results["bpp"], results["psnr-rgb"]):
            print(f"kodak q{q}: {b:.4f} bpp  {ps:.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
