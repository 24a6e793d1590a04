"""Training throughput: steps/s and Mpixels/s per model and precision, side by side in one run.

    python benchmarks/bench_train_speed.py --threads 1                       # CPU, batch 8 x 128^2
    python benchmarks/bench_train_speed.py --variants fp32 bf16 bf16+cl bf16+compile
    python benchmarks/bench_train_speed.py --batch 64 --crop 256             # on a GPU

Each model (``gmq-v5``: the shipped default architecture, ``weights/manifest.json``; ``gmq2``:
the image model v2 preset of ``codec.image.config.PRESETS``;
``hyperprior``: the bmshj2018 peer of ``train.loop --arch hyperprior``) is trained with
``train.loop.train_step`` (the loop's own step: crops, forward under the precision's autocast with
the same fp32 islands, backward, clipping, Adam) in every variant: ``fp32``, ``bf16``, each
optionally ``+cl`` (channels_last) and ``+compile`` (torch.compile). Batches come from the path
the loop takes on that device (host crops on CPU, :class:`train.data.DeviceBank` on CUDA, or
``--device-crops``). After warm-up steps (codebook initialization, compilation), ``--repeats``
rounds time ``--steps`` steps of every (model, variant) in turn, so machine noise hits all of
them alike. Each block is timed by the wall clock and by this process's CPU time: on a CPU
shared with other jobs the CPU time is what the step costs (the wall clock also counts waiting
for a core), so CPU rows rate the steps by CPU seconds (Mpixels per CPU second); on CUDA they use
the wall clock. The speed-up over fp32 is the median over rounds of the same-round ratio. On CUDA
it also reports how busy the GPU was (``torch.cuda.utilization``, sampled after every timed step).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch

from codec.image.config import PRESETS, ImageModelConfig
from codec.weights import load_manifest
from train.data import DeviceBank, ImageBank, list_images, split_train_val, step_generator
from train.allocator import keep_freed_memory
from train.loop import DEFAULT_CROP, DEFAULT_DATA, DEFAULT_LR, train_step
from train.objectives import build_objective
from train.precision import keep_fp32

MODELS = ("gmq-v5", "gmq2", "hyperprior")


class Trainee:
    """One (model, variant) under test, with its own optimizer and random streams."""

    def __init__(self, model: str, variant: str, device: torch.device, seed: int) -> None:
        parts = variant.split("+")
        if parts[0] not in ("fp32", "bf16") or not set(parts[1:]) <= {"cl", "compile"}:
            raise SystemExit(f"unknown variant {variant!r} (fp32 or bf16, then +cl and/or +compile)")
        self.precision, self.channels_last, compiled = parts[0], "cl" in parts, "compile" in parts
        torch.manual_seed(seed)
        if model == "hyperprior":
            self.objective = build_objective("hyperprior", ImageModelConfig(), None)
        else:
            spec = PRESETS[model] if model in PRESETS else load_manifest()["models"][model]["config"]
            self.objective = build_objective("vq", ImageModelConfig.from_dict(spec), None)
        net = self.objective.model.to(device)
        if self.channels_last:
            net.to(memory_format=torch.channels_last)
        if self.precision != "fp32":
            keep_fp32(net, self.objective.fp32_modules)
        self.opt = torch.optim.Adam(net.parameters(), lr=DEFAULT_LR)
        self.net = torch.compile(net) if compiled else net
        self.rng = np.random.default_rng(seed)
        self.steps = 0

    def step(self, bank, batch: int, crop: int, device: torch.device) -> None:
        if isinstance(bank, DeviceBank):
            x = bank.random_batch(batch, crop, step_generator(device, 0, 0, self.steps))
        else:
            x = bank.random_batch(batch, crop, self.rng, device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        train_step(self.objective, self.net, self.opt, x, self.rng, self.precision, 5.0)
        self.steps += 1


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _utilization(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    try:
        return float(torch.cuda.utilization(device))
    except Exception:  # no NVML on this machine: report no figure rather than a made-up one
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--variants", nargs="+", default=["fp32", "bf16"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=DEFAULT_CROP)
    p.add_argument("--steps", type=int, default=3, help="timed steps per (model, variant) and round")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (codebook init, compilation)")
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--images", type=int, default=60, help="training images to load (evenly spaced)")
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--device-crops", action=argparse.BooleanOptionalAction, default=None,
                   help="crop on the device (train.data.DeviceBank; default: on CUDA, as train.loop)")
    p.add_argument("--json", default=None, help="also write the rows to this file")
    args = p.parse_args(argv)
    heap = keep_freed_memory()  # as train.loop does
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    files, _ = split_train_val(list_images(args.data))
    files = files[:: max(1, len(files) // args.images)]
    bank = ImageBank(files, args.crop)
    on_device = device.type == "cuda" if args.device_crops is None else args.device_crops
    if on_device:
        bank = DeviceBank(bank.images, device)
    trainees = {(m, v): Trainee(m, v, device, seed=0) for m in args.models for v in args.variants}
    for t in trainees.values():
        for _ in range(args.warmup):
            t.step(bank, args.batch, args.crop, device)
    _sync(device)
    seconds: dict[tuple, list[float]] = {k: [] for k in trainees}
    wall: dict[tuple, list[float]] = {k: [] for k in trainees}
    busy: dict[tuple, list[float]] = {k: [] for k in trainees}
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    for _ in range(args.repeats):
        for key, t in trainees.items():
            start, start_wall = clock(), time.perf_counter()
            for _ in range(args.steps):
                t.step(bank, args.batch, args.crop, device)
                u = _utilization(device)
                if u is not None:
                    busy[key].append(u)
            _sync(device)
            seconds[key].append((clock() - start) / args.steps)
            wall[key].append((time.perf_counter() - start_wall) / args.steps)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
    print(f"{name}; batch {args.batch} x {args.crop}^2; {args.repeats} interleaved rounds of {args.steps} steps; "
          f"crops on the {'device' if on_device else 'host'}; torch {torch.__version__}; "
          f"glibc heap thresholds {'raised' if heap else 'unchanged (no glibc)'}")
    unit = "s" if device.type == "cuda" else "CPU s"
    print(f"{'model':<11} {'variant':<14} {unit + '/step':>10} {'steps/' + unit:>12} {'Mpix/' + unit:>11} "
          f"{'vs fp32':>8} {'wall s/step':>11} {'GPU busy':>8}")
    rows = []
    for (model, variant), secs in seconds.items():
        s = float(np.median(secs))
        ref = seconds.get((model, "fp32"))
        speedup = float(np.median(np.array(ref) / np.array(secs))) if ref else None
        util = float(np.mean(busy[(model, variant)])) if busy[(model, variant)] else None
        row = {"model": model, "variant": variant, "clock": unit, "s_per_step": s, "steps_per_s": 1 / s,
               "mpixels_per_s": args.batch * args.crop**2 / s / 1e6, "speedup_vs_fp32": speedup,
               "wall_s_per_step": float(np.median(wall[(model, variant)])), "gpu_busy_percent": util,
               "rounds_s_per_step": secs}
        rows.append(row)
        print(f"{model:<11} {variant:<14} {s:>10.3f} {1 / s:>12.2f} {row['mpixels_per_s']:>11.3f} "
              f"{(f'{speedup:.2f}x' if speedup else '-'):>8} {row['wall_s_per_step']:>11.3f} "
              f"{(f'{util:.0f} %' if util is not None else '-'):>8}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": name, "batch": args.batch, "crop": args.crop, "threads": torch.get_num_threads(),
                       "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
