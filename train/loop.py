"""Train the image model (or the scale-hyperprior peer) on image folders.

One process::

    python -m train.loop --out checkpoints/vq --minutes 60 --threads 1

Several (DistributedDataParallel; gloo on CPU, nccl on GPU)::

    torchrun --nproc_per_node 2 -m train.loop --out checkpoints/vq --minutes 60

On a GPU, the fast path (``train/gpu_sprint.sh`` uses it)::

    python -m train.loop --out /tmp/run --batch 64 --crop 256 --lr 1e-4 --lr-scaling sqrt --ema 0.999

bf16 autocast is the default where the hardware has it (the log says what was chosen and why),
the decoded images live on the GPU as uint8 and crops are cut there (``--device-crops``, on by
default on CUDA), ``--lr`` is the rate of batch 8 scaled by sqrt(global batch / 8), and
``--ema`` keeps a weight average that ``train.export --ema`` ships.

SIGTERM or Ctrl-C ends the run after the current step with a checkpoint. Runs resume exactly
from ``OUT/latest`` (model, optimizer, step, RNG states, elapsed time, a decay already planned);
``--init WEIGHTS`` starts from exported weights with a fresh optimizer when no checkpoint exists.
Every ``--checkpoint-minutes`` the run validates on a fixed split of the training folders
(never Kodak), appends a line to ``OUT/log.jsonl`` and saves ``latest`` (and ``best``). Each run
(leg) also starts its log with a line holding its recipe (learning rate, batch, crop, data, ...).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from codec.image.config import PRESETS, ImageModelConfig

from .allocator import keep_freed_memory
from .checkpoint import checkpoint_tensors, load_checkpoint, save_checkpoint
from .data import DeviceBank, ImageBank, list_images, split_train_val, step_generator
from .ema import WeightEMA
from .objectives import build_objective
from .precision import PRECISIONS, autocast, choose_precision, keep_fp32

__all__ = ["main", "learning_rate", "scaled_lr", "train_step", "timed_decay_steps", "resolve_config",
           "replicas_identical"]

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "train"
# the default recipe; benchmarks/bench_learning.py probes transforms with the same one
DEFAULT_LR, DEFAULT_CLIP, DEFAULT_WARMUP, DEFAULT_BATCH, DEFAULT_CROP = 5e-4, 5.0, 300, 8, 128


def learning_rate(step: int, base: float, warmup: int, decay_start: int | None, decay_steps: int) -> float:
    """Linear warm-up, constant, then cosine decay to base/10 over ``decay_steps``."""
    if step < warmup:
        return base * (step + 1) / warmup
    if decay_start is None or step < decay_start:
        return base
    t = min(1.0, (step - decay_start) / max(1, decay_steps))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def scaled_lr(lr: float, batch: int, rule: str) -> float:
    """The learning rate at ``batch`` for ``lr`` given at the reference batch (DEFAULT_BATCH):
    ``sqrt`` scales it by sqrt(batch / DEFAULT_BATCH) (the square-root rule for Adam), ``none``
    keeps it."""
    if rule == "none":
        return lr
    if rule == "sqrt":
        return lr * math.sqrt(batch / DEFAULT_BATCH)
    raise ValueError(f"unknown learning-rate scaling {rule!r}")


def train_step(objective, net: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
               rng: np.random.Generator, precision: str, clip: float) -> dict[str, torch.Tensor]:
    """Forward (under ``precision``'s autocast), backward, gradient clipping and Adam on batch
    ``x`` ``[B, 3, H, W]``; returns the step's stats as 0-dim tensors (not read, so a GPU
    step needs no host sync here)."""
    with autocast(x.device, precision):
        loss, stats = objective.loss(net, x, rng)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in opt.param_groups for p in group["params"]]
    stats["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else math.inf).detach()
    opt.step()
    return stats


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m train.loop", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="training image folder (default: %(default)s)")
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder (resumed when it has 'latest')")
    p.add_argument("--arch", choices=("vq", "hyperprior"), default="vq", help="our VQ model or the bmshj2018 peer")
    p.add_argument("--config", type=str, default="{}",
                   help="JSON overrides of ImageModelConfig, or a preset name (%s)" % ", ".join(PRESETS))
    p.add_argument("--lmbda", type=float, default=None, help="distortion weight (default: the objective's)")
    p.add_argument("--commit", type=float, default=None,
                   help="weight of y's commitment loss, the only latent loss that reaches g_a (default: the objective's)")
    p.add_argument("--pin-latent", type=float, default=None, metavar="RMS",
                   help="hold the RMS of the latent y near RMS (latent units) by a log2 penalty (vq only; default: off)")
    p.add_argument("--qualities", type=lambda v: tuple(int(q) for q in v.split(",")), default=None,
                   help="comma-separated qualities a step may draw (default: all, uniformly)")
    p.add_argument("--lr", type=float, default=DEFAULT_LR,
                   help="learning rate (at the reference batch %d when --lr-scaling is sqrt)" % DEFAULT_BATCH)
    p.add_argument("--lr-scaling", choices=("none", "sqrt"), default="none",
                   help="sqrt: the rate used is lr * sqrt(batch * replicas / %d) (default: %%(default)s)" % DEFAULT_BATCH)
    p.add_argument("--clip", type=float, default=DEFAULT_CLIP,
                   help="clip the global gradient norm to this (0: no clipping; default %(default)s)")
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    p.add_argument("--decay-start", type=int, default=None, help="step where cosine decay begins")
    p.add_argument("--decay-steps", type=int, default=20000)
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    p.add_argument("--crop", type=int, default=DEFAULT_CROP)
    p.add_argument("--minutes", type=float, default=None, help="stop after this much wall time")
    p.add_argument("--decay-minutes", type=float, default=None,
                   help="with --minutes: cosine decay over the last this many minutes of the run, its length in "
                        "steps taken from the speed measured so far (a timed run on a machine of unknown speed)")
    p.add_argument("--steps", type=int, default=None, help="stop at this total step")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--val-images", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", type=Path, default=None,
                   help="exported weights to start from (fresh optimizer); a model its folder's manifest lists "
                        "also gives the architecture (--config overrides it)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="forward-pass arithmetic: bf16 autocast (fp32 weights; VQ and entropy models kept fp32) or fp32 "
                        "(default: bf16 where the CPU or GPU computes it natively, else fp32; the log says which)")
    p.add_argument("--device-crops", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the decoded images on the device and crop there (default: on CUDA)")
    p.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="keep an exponential moving average of the weights (e.g. 0.999) for train.export --ema")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory layout for model and batches")
    p.add_argument("--freeze", type=lambda v: tuple(n for n in v.split(",") if n), default=(),
                   help="comma-separated submodules whose parameters stay fixed (e.g. analysis,coarse_analysis: "
                        "a fixed latent for new codebooks and priors to settle on)")
    args = p.parse_args(argv)
    if args.decay_minutes is not None and (args.minutes is None or not 0 < args.decay_minutes < args.minutes):
        p.error("--decay-minutes needs --minutes, and must be shorter than the run")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("nccl" if args.device == "cuda" else "gloo")
    if args.threads:
        torch.set_num_threads(args.threads)
    heap = keep_freed_memory()  # large temporaries stay in the heap (train/allocator.py)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    device = torch.device(args.device, int(os.environ.get("LOCAL_RANK", "0")) if args.device == "cuda" else None)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    latest = args.out / "latest"
    saved = json.loads((latest / "state.json").read_text()) if (latest / "state.json").exists() else None
    config = resolve_config(args.config, saved, args.init if args.arch == "vq" else None)
    objective = build_objective(args.arch, config, args.lmbda, args.qualities, args.commit, args.pin_latent)
    model = objective.model.to(device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    for name in args.freeze:
        try:
            part = model.get_submodule(name)
        except AttributeError:
            raise SystemExit(f"--freeze: the model has no submodule {name!r}") from None
        part.requires_grad_(False)
    precision, why = choose_precision(args.precision, device)
    if precision != "fp32":
        keep_fp32(model, objective.fp32_modules)
    base_lr = scaled_lr(args.lr, args.batch * world, args.lr_scaling)  # the global batch
    opt = torch.optim.Adam(model.parameters(), lr=base_lr)
    ema = WeightEMA(model, args.ema) if args.ema is not None else None

    train_files, val_files = split_train_val(list_images(args.data))
    bank = ImageBank(train_files, args.crop)
    device_crops = device.type == "cuda" if args.device_crops is None else args.device_crops
    if device_crops:
        bank = DeviceBank(bank.images, device)  # decoded once; the host copy goes
    val = ImageBank(val_files[: args.val_images], 256).center_crops(256).to(device)

    recipe = {"lmbda": args.lmbda, "commit": args.commit, "pin_latent": args.pin_latent, "qualities": args.qualities, "lr": args.lr,
              "lr_scaling": args.lr_scaling, "lr_used": base_lr, "ema": args.ema, "device_crops": device_crops,
              "channels_last": args.channels_last, "freeze": list(args.freeze),
              "clip": args.clip, "batch": args.batch, "crop": args.crop, "data": str(args.data), "world_size": world,
              # a resumed leg carries the first leg's init, so that an export finds the weights behind it
              "init": (str(args.init) if args.init is not None else None) if saved is None
              else saved.get("recipe", {}).get("init"),
              "precision": precision, "precision_reason": why, "heap_kept": heap}
    state = {"step": 0, "elapsed": 0.0, "best": -1e9, "arch": args.arch, "config": json.loads(config.to_json())}
    if saved is not None:
        state.update(load_checkpoint(latest, model, opt, rng))
        state.pop("optimizer", None), state.pop("numpy_rng", None)
        if ema is not None and not ema.load(checkpoint_tensors(latest, "ema.")):
            print("the checkpoint has no weight EMA: the average starts from the current weights", file=sys.stderr)
    elif args.init is not None:
        from codec.weights import load_model_weights
        skipped = load_model_weights(model, args.init, partial=True)
        if skipped:
            print(f"--init {args.init}: kept the new model's own {', '.join(skipped)}", file=sys.stderr)
    if saved is None:  # k-means of new codebooks on 16 batches of their own stream
        init_rng = np.random.default_rng([args.seed, 1])
        objective.initialize(torch.cat([
            bank.random_batch(args.batch, args.crop, step_generator(device, args.seed + 1, rank, i)) if device_crops
            else bank.random_batch(args.batch, args.crop, init_rng, device) for i in range(16)]))
    state["recipe"] = recipe  # this leg's; log.jsonl holds every leg's
    # every replica draws different crops from its own stream, all replicas share parameters
    if rank:
        rng = np.random.default_rng([args.seed, rank, state["step"]])
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, broadcast_buffers=False)

    start, last_ckpt = time.time(), time.time()
    elapsed0, step0 = state["elapsed"], state["step"]
    if args.decay_start is not None:
        state["schedule"] = {"decay_start": args.decay_start, "decay_steps": args.decay_steps}
    schedule = state.get("schedule")  # a decay fixed in an earlier leg goes on after a resume
    decay_start, decay_steps = (schedule["decay_start"], schedule["decay_steps"]) if schedule else \
        (None, args.decay_steps)
    interval: dict[str, list[torch.Tensor]] = {}
    bar = tqdm(initial=state["step"], total=args.steps, disable=rank != 0, dynamic_ncols=True, desc="train",
               mininterval=0.1 if sys.stderr.isatty() else 60)  # a log file gets a line a minute
    log = args.out / "log.jsonl"
    args.out.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        with open(log, "a") as f:
            f.write(json.dumps({"step": state["step"], "recipe": recipe}) + "\n")
        bar.write(f"precision {precision} ({why})")

    def checkpoint(final: bool = False) -> None:
        metrics = objective.evaluate(val)
        state["elapsed"] = elapsed0 + time.time() - start
        names = ["latest"]
        if metrics["score"] > state["best"]:
            state["best"] = metrics["score"]
            names.append("best")
        line = {"step": state["step"], "elapsed_s": round(state["elapsed"], 1), "lr": opt.param_groups[0]["lr"],
                "train": {k: round(torch.stack(v).float().mean().item(), 4) for k, v in sorted(interval.items())},
                "val": {k: round(v, 4) for k, v in metrics.items()}, "final": final}
        interval.clear()
        if rank == 0:
            save_checkpoint(args.out, model, opt, state, rng, tuple(names), ema.tensors() if ema else None)
            with open(log, "a") as f:
                f.write(json.dumps(line) + "\n")
            bar.write(json.dumps(line))

    stop = False
    interrupted = []  # SIGTERM/SIGINT end the run after the current step, with a checkpoint
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: interrupted.append(True))
    while not stop:
        lr = learning_rate(state["step"], base_lr, args.warmup, decay_start, decay_steps)
        for group in opt.param_groups:
            group["lr"] = lr
        if device_crops:
            x = bank.random_batch(args.batch, args.crop, step_generator(device, args.seed, rank, state["step"]))
        else:
            x = bank.random_batch(args.batch, args.crop, rng, device)
        if args.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        stats = train_step(objective, net, opt, x, rng, precision, args.clip)
        if ema is not None:
            ema.update()
        state["step"] += 1
        objective.after_step(state["step"])
        for k, v in stats.items():
            interval.setdefault(k, []).append(v)
        bar.update(1)
        now = time.time()
        if args.decay_minutes is not None and decay_start is None and \
                now - start >= (args.minutes - args.decay_minutes) * 60:
            decay_start, decay_steps = state["step"], timed_decay_steps(state["step"] - step0, now - start,
                                                                         args.decay_minutes)
            state["schedule"] = {"decay_start": decay_start, "decay_steps": decay_steps}
        stop = (args.steps is not None and state["step"] >= args.steps) or bool(interrupted) or \
               (args.minutes is not None and now - start >= args.minutes * 60)
        if world > 1:  # every replica must agree on stopping and checkpointing
            flags = torch.tensor([float(stop), float(now - last_ckpt >= args.checkpoint_minutes * 60)], device=device)
            dist.broadcast(flags, src=0)
            stop, due = bool(flags[0]), bool(flags[1])
        else:
            due = now - last_ckpt >= args.checkpoint_minutes * 60
        if due or stop:
            checkpoint(final=stop)
            last_ckpt = time.time()
    bar.close()
    if world > 1:
        same = replicas_identical(model, device)
        if rank == 0:
            with open(log, "a") as f:
                f.write(json.dumps({"step": state["step"], "replicas_identical": same}) + "\n")
        dist.destroy_process_group()
    return 0


def timed_decay_steps(steps_done: int, seconds: float, decay_minutes: float) -> int:
    """How many steps fit in ``decay_minutes`` at the speed measured so far (at least 1)."""
    return max(1, round(steps_done / max(seconds, 1e-9) * decay_minutes * 60))


def init_config(init: Path | None) -> dict | None:
    """The architecture of the exported weights ``init`` when the manifest next to them lists the
    file (``weights/gmq2-c.safetensors``: gmq2-c's config), else None."""
    if init is None or not (init.parent / "manifest.json").is_file():
        return None
    from codec.manifest import entries_for_file

    for _, entry in entries_for_file(init, init.parent):
        if isinstance(entry.get("config"), dict):
            return dict(entry["config"])
    return None


def resolve_config(overrides: str, saved: dict | None, init: Path | None = None) -> ImageModelConfig:
    """The architecture to build: for a new run, ``--config`` JSON overrides of the architecture of
    the ``--init`` weights when their manifest lists them (so a warm start from a shipped model
    builds that model without repeating its config), else of the defaults; the checkpoint's own
    config (``saved`` state) for a resumed one, so that a changed default never breaks a resume.
    Overrides that contradict the checkpoint are refused."""
    requested = dict(PRESETS[overrides]) if overrides in PRESETS else json.loads(overrides)
    if saved is None:
        base = init_config(init) or {}
        return ImageModelConfig.from_dict({**base, **requested})
    kept = ImageModelConfig.from_dict(saved["config"])
    if ImageModelConfig.from_dict({**saved["config"], **requested}) != kept:
        raise SystemExit(f"--config {overrides} contradicts the architecture of the checkpoint being resumed: "
                         f"{kept.to_json()}")
    return kept


def replicas_identical(model: torch.nn.Module, device: torch.device) -> bool:
    """True when every replica holds bitwise the same parameters and buffers (the checksums
    travel on ``device``: nccl reduces CUDA tensors only)."""
    flat = torch.cat([t.detach().double().flatten().cpu() for t in model.state_dict().values()])
    local = torch.tensor([flat.sum().item(), flat.abs().sum().item(), (flat * torch.arange(len(flat))).sum().item()],
                         device=device)
    gathered = [torch.zeros_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    return all(torch.equal(g, gathered[0]) for g in gathered)


if __name__ == "__main__":
    raise SystemExit(main())
