"""Does bf16 cost quality? Which parts of the model must stay fp32? Two measurements.

    python benchmarks/bench_precision_quality.py parts            # one batch, gmq-v5, ~2 min
    python benchmarks/bench_precision_quality.py runs --out runs/quality   # 3 x 1,500 steps
    python benchmarks/bench_precision_quality.py report --out runs/quality

``parts``: the shipped gmq-v5 weights (eval mode, so nothing updates) take one training batch
(8 x 256^2 crops of the training folders) at quality 6 in fp32 and under bf16 autocast with
different sets of modules kept fp32 (``train.precision.keep_fp32``): none, GDN/IGDN, the VQ
stages (distances, hence indices and the soft rate), both. First each part's own bf16 error on
the inputs it gets in fp32; then, per variant, how many VQ indices differ from fp32's (per stage),
the relative error of the soft rate and of the loss, the cosine between the bf16 and the fp32
gradient, and the step time (forward + backward, interleaved repetitions, CPU seconds of this
process, ratio to fp32 in the same run).

``runs``: ``train.loop`` from scratch for ``--steps`` (1,500) at the default recipe, fp32 with
seeds 0 and 1 (the run-to-run noise) and bf16 with seed 0 (same seed and data as fp32 seed 0),
``--jobs`` at a time, one thread each; ``report`` prints each run's final validation PSNR
(mean over qualities, the loop's ``score``; fp32 evaluation in every run) and the differences.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codec.image.model import ImageModel
from codec.image.quantizer import MultiCodebookVQ
from codec.image.transforms import GDN  # the layer class the transforms use
from codec.weights import load_image_model
from train.data import ImageBank, list_images, split_train_val
from train.loop import DEFAULT_DATA
from train.precision import autocast, keep_fp32

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"all bf16": (), "GDN fp32": (GDN,), "VQ fp32": (MultiCodebookVQ,),
            "GDN+VQ fp32": (GDN, MultiCodebookVQ)}
RUNS = {"fp32-s0": ("fp32", 0), "fp32-s1": ("fp32", 1), "bf16-s0": ("bf16", 0)}


def _model(types: tuple, temperatures: list[torch.Tensor] | None) -> ImageModel:
    """gmq-v5 in eval mode with its shipped tables as priors and the given VQ temperatures (the
    shipped file holds neither the EMA counts nor the temperatures), ``types`` kept fp32."""
    loaded = load_image_model("gmq-v5")
    model = loaded.model.float().eval()
    for prior, table in zip([model.coarse_prior, *model.fine_prior], loaded.tables):
        prior.counts.copy_(torch.from_numpy(table.freqs.copy()).reshape(prior.counts.shape).float())
    for vq, t in zip([model.coarse_vq, *model.fine_vq], temperatures or []):
        vq.temperature.copy_(t)
    keep_fp32(model, types)
    return model


def _temperatures(model: ImageModel, x: torch.Tensor) -> list[torch.Tensor]:
    """Per stage ``[M]``: the mean squared distance to the nearest codeword on ``x`` (what the
    training EMA tracks)."""
    found: list[torch.Tensor] = []
    hooks = [vq.register_forward_hook(lambda _m, _i, out: found.append(out[2].min(-1).values.mean(1)))
             for vq in [model.coarse_vq, *model.fine_vq]]
    with torch.no_grad():
        model(x, 6)
    for h in hooks:
        h.remove()
    return found


def _step(model: ImageModel, x: torch.Tensor, precision: str) -> tuple[float, float, list[torch.Tensor], torch.Tensor]:
    """One forward + backward at quality 6: (loss, soft rate, indices of every stage, gradient)."""
    indices: list[torch.Tensor] = []
    hooks = [vq.register_forward_hook(lambda _m, _i, out: indices.append(out[1]))
             for vq in [model.coarse_vq, *model.fine_vq]]
    model.zero_grad(set_to_none=True)
    with autocast(torch.device("cpu"), precision):
        out = model(x, 6)
        rate = out["rate"].sum()
        loss = 0.05 * 255**2 * F.mse_loss(out["x_hat"].float(), x) + rate / x[:, 0].numel() + out["commit"]
    loss.backward()
    for h in hooks:
        h.remove()
    grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    return loss.item(), rate.item(), indices, grad


def _own_errors(model: ImageModel, x: torch.Tensor) -> dict[str, list[float]]:
    """Each part's own bf16 error, on the very inputs it gets in fp32: per VQ stage the fraction
    of indices that bf16 distances change and the relative error of its soft posterior; per GDN
    (and, as the baseline of bf16 rounding, per convolution) the relative error of its output."""
    inputs: dict[nn.Module, torch.Tensor] = {}
    watched = [m for m in model.modules() if isinstance(m, (MultiCodebookVQ, GDN, nn.Conv2d, nn.ConvTranspose2d))]
    hooks = [m.register_forward_pre_hook(lambda m, a: inputs.setdefault(m, a[0].detach())) for m in watched]
    with torch.no_grad():
        model(x, 6)
    for h in hooks:
        h.remove()
    found: dict[str, list[float]] = {"vq_idx_changed": [], "vq_post_err": [], "gdn_err": [], "conv_err": []}
    with torch.no_grad():
        for m in watched:
            if isinstance(m, MultiCodebookVQ):
                flat = m.split(inputs[m])
                ref = m.distances(flat)
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    low = m.distances(flat).float()
                found["vq_idx_changed"].append((ref.argmin(-1) != low.argmin(-1)).float().mean().item())
                p_ref, p_low = torch.softmax(m.logits(ref), -1), torch.softmax(m.logits(low), -1)
                found["vq_post_err"].append(((p_low - p_ref).abs().sum(-1).mean() / 2).item())
            else:
                ref = m(inputs[m])
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    low = m(inputs[m]).float()
                key = "gdn_err" if isinstance(m, GDN) else "conv_err"
                found[key].append(((low - ref).norm() / ref.norm()).item())
    return found


def parts(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    train_files, _ = split_train_val(list_images(args.data))
    x = ImageBank(train_files[::20], 256).random_batch(args.batch, 256, np.random.default_rng(0))
    temperatures = _temperatures(_model((), None), x)
    ref_model = _model((), temperatures)
    ref_loss, ref_rate, ref_idx, ref_grad = _step(ref_model, x, "fp32")
    own = _own_errors(ref_model, x)
    print(f"{args.batch} x 256^2, quality 6, gmq-v5, {args.threads} thread(s); fp32 loss {ref_loss:.4f}")
    print("each part's own bf16 error on its fp32 inputs:")
    print("  VQ indices changed per stage (coarse, fine 1..6): " + " ".join(f"{v:.4f}" for v in own["vq_idx_changed"]))
    print("  VQ soft posterior, total variation per stage:     " + " ".join(f"{v:.4f}" for v in own["vq_post_err"]))
    print("  GDN/IGDN output relative error:                   " + " ".join(f"{v:.4f}" for v in own["gdn_err"]))
    print("  convolution output relative error (baseline):     " + " ".join(f"{v:.4f}" for v in own["conv_err"]))
    models = {name: _model(types, temperatures) for name, types in VARIANTS.items()}
    rows = {}
    for name, model in models.items():
        loss, rate, idx, grad = _step(model, x, "bf16")
        changed = [(a != b).float().mean().item() for a, b in zip(idx, ref_idx)]
        rows[name] = {"indices_changed": changed, "rate_rel_err": abs(rate / ref_rate - 1),
                      "loss_rel_err": abs(loss / ref_loss - 1),
                      "grad_cosine": F.cosine_similarity(grad, ref_grad, dim=0).item()}
    times: dict[str, list[float]] = {name: [] for name in ["fp32", *models]}
    for _ in range(args.repeats):  # interleaved, so machine noise hits every variant alike
        for name in times:
            model, precision = (ref_model, "fp32") if name == "fp32" else (models[name], "bf16")
            t = time.process_time()  # CPU seconds: the machine is shared
            _step(model, x, precision)
            times[name].append(time.process_time() - t)
    base = float(np.median(times["fp32"]))
    print("whole step under autocast against fp32 (indices changed: coarse, fine 1..6):")
    print(f"{'variant':<12} {'rate err':>9} {'loss err':>9} {'grad cos':>9} {'s/step':>7} {'speed-up':>8}  indices changed")
    print(f"{'fp32':<12} {0:>9.5f} {0:>9.5f} {1:>9.5f} {base:>7.3f} {1:>8.2f}")
    for name, r in rows.items():
        t = float(np.median(times[name]))
        print(f"{name:<12} {r['rate_rel_err']:>9.5f} {r['loss_rel_err']:>9.5f} {r['grad_cosine']:>9.5f} "
              f"{t:>7.3f} {base / t:>8.2f}  " + " ".join(f"{v:.3f}" for v in r["indices_changed"]))


def runs(args: argparse.Namespace) -> None:
    pending = [name for name in RUNS if not (args.out / name / "latest").exists()]
    active: list[subprocess.Popen] = []
    env = dict(os.environ, OMP_NUM_THREADS="1")
    while pending or active:
        while pending and len(active) < args.jobs:
            name = pending.pop(0)
            precision, seed = RUNS[name]
            cmd = [sys.executable, "-m", "train.loop", "--out", str(args.out / name), "--precision", precision,
                   "--seed", str(seed), "--steps", str(args.steps), "--threads", "1",
                   "--checkpoint-minutes", "100000", "--data", str(args.data)]
            with open(args.out / f"{name}.out", "w") as log:
                active.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        time.sleep(5)
        for proc in [p for p in active if p.poll() is not None]:
            if proc.returncode:
                raise SystemExit(f"{' '.join(proc.args)} exited with {proc.returncode}")
            active.remove(proc)
    report(args)


def report(args: argparse.Namespace) -> None:
    final = {}
    for name in RUNS:
        log = args.out / name / "log.jsonl"
        lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        done = [entry for entry in lines if entry.get("final")]
        if done:
            final[name] = done[-1]
            v = done[-1]["val"]
            per_q = " ".join(f"{v[f'psnr_q{q}']:.2f}" for q in range(1, 7))
            print(f"{name}: step {done[-1]['step']}, {done[-1]['elapsed_s']:.0f} s, "
                  f"val PSNR mean {v['score']:.3f} dB (q1..q6 {per_q})")
    if {"fp32-s0", "fp32-s1", "bf16-s0"} <= set(final):
        s0, s1, b = (final[n]["val"]["score"] for n in ("fp32-s0", "fp32-s1", "bf16-s0"))
        print(f"run-to-run noise (fp32 seed 1 - seed 0): {s1 - s0:+.3f} dB; bf16 - fp32 (seed 0): {b - s0:+.3f} dB")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("parts")
    a.add_argument("--batch", type=int, default=8)
    a.add_argument("--repeats", type=int, default=3)
    a.add_argument("--threads", type=int, default=1)
    for name in ("runs", "report"):
        r = sub.add_parser(name)
        r.add_argument("--out", type=Path, default=ROOT / "runs" / "quality")
        r.add_argument("--steps", type=int, default=1500)
        r.add_argument("--jobs", type=int, default=2)
    for s in sub.choices.values():
        s.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True) if hasattr(args, "out") else None
    {"parts": parts, "runs": runs, "report": report}[args.what](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
