"""Training checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a folder ``step-XXXXXXX/`` (plus ``latest`` and ``best`` copies) holding
``tensors.safetensors`` (model, optimizer state, torch RNG) and ``state.json`` (step, config,
optimizer hyper-parameters, numpy RNG state, elapsed time, metrics). It is written to a temp folder
and renamed, so an interrupted save never leaves a half checkpoint behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

__all__ = ["save_checkpoint", "load_checkpoint", "checkpoint_tensors"]


def _flatten_optimizer(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{key}"] = value.contiguous()
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for name, value in meta["scalars"].items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(folder: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, state: dict,
                    rng: np.random.Generator, names: tuple[str, ...] = ("latest",),
                    extra: dict[str, torch.Tensor] | None = None) -> None:
    """Write the checkpoint under ``folder/<name>`` for each name, atomically; ``extra`` tensors
    (e.g. the weight EMA's) are stored under their own names."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    tensors.update({k: v.detach().contiguous() for k, v in (extra or {}).items()})
    opt_tensors, opt_meta = _flatten_optimizer(opt)
    tensors.update(opt_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    meta = dict(state, optimizer=opt_meta, numpy_rng=rng.bit_generator.state)
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".tmp-"))
    try:
        save_file(tensors, str(tmp / "tensors.safetensors"))
        (tmp / "state.json").write_text(json.dumps(meta, indent=1, default=_json_default))
        for name in names:
            target, staged, old = folder / name, folder / f".staging-{name}", folder / f".old-{name}"
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(tmp, staged)
            if target.exists():
                os.replace(target, old)
            os.replace(staged, target)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_checkpoint(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer | None,
                    rng: np.random.Generator | None) -> dict:
    """Restore model (and optimizer, RNGs when given) from ``path``; returns the JSON state."""
    tensors = load_file(str(path / "tensors.safetensors"))
    meta = json.loads((path / "state.json").read_text())
    model_sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(model_sd)
    if opt is not None:
        opt.load_state_dict(_unflatten_optimizer(tensors, meta["optimizer"]))
    if rng is not None:
        rng.bit_generator.state = meta["numpy_rng"]
        torch.set_rng_state(tensors["rng.torch"])
    return meta


def checkpoint_tensors(path: Path, prefix: str) -> dict[str, torch.Tensor]:
    """The tensors of checkpoint ``path`` whose names start with ``prefix``."""
    return {k: v for k, v in load_file(str(path / "tensors.safetensors")).items() if k.startswith(prefix)}


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"not JSON serializable: {type(value)}")
