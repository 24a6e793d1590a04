"""Mixed precision for training: bf16 autocast with fp32 master weights, fp32 islands.

``--precision bf16`` runs each step's forward pass (and the loss) under
``torch.autocast(device, dtype=torch.bfloat16)``: convolutions and matrix products compute in
bf16, parameters, gradients and Adam's moments stay fp32, and bf16's fp32-sized exponent makes a
loss scaler unnecessary. Modules whose arithmetic bf16 measurably damages run in fp32 inside that
region (:func:`keep_fp32`); each objective names them (``fp32_modules`` in
:mod:`train.objectives`, which says why; README.md "Training" has the measurements).
Validation always runs in fp32, so the numbers a run logs compare across precisions.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import torch
from torch import nn

__all__ = ["PRECISIONS", "choose_precision", "cpu_bf16_flags", "autocast", "keep_fp32"]

PRECISIONS = ("fp32", "bf16")


def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The bf16 instruction sets this CPU reports (``amx_bf16``, ``avx512_bf16``), if readable."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return []
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
            break
    return [f for f in ("amx_bf16", "avx512_bf16") if f in flags]


def choose_precision(requested: str | None, device: torch.device) -> tuple[str, str]:
    """``(precision, reason)``: ``requested`` when given, else bf16 where the hardware computes
    it natively (CUDA with bf16 support; a CPU with AMX or AVX-512 bf16 and oneDNN) and fp32
    elsewhere. ``reason`` is one line for the log."""
    if requested is not None:
        if requested not in PRECISIONS:
            raise ValueError(f"unknown precision {requested!r} (choose {' or '.join(PRECISIONS)})")
        return requested, "asked for with --precision"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", f"default: {torch.cuda.get_device_name(device)} computes bf16 natively"
        return "fp32", f"default: {torch.cuda.get_device_name(device)} has no native bf16"
    flags = cpu_bf16_flags()
    onednn = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    if flags and onednn:
        return "bf16", f"default: the CPU has {' and '.join(flags)} and torch's oneDNN supports bf16"
    return "fp32", "default: the CPU reports no amx_bf16/avx512_bf16 (or oneDNN lacks bf16)"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The forward-pass context of one training step at ``precision``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def _as_fp32(value):
    if torch.is_tensor(value) and value.is_floating_point() and value.dtype != torch.float32:
        return value.float()
    return value


def keep_fp32(model: nn.Module, types: tuple[type[nn.Module], ...]) -> list[str]:
    """Make every submodule of ``model`` that is an instance of ``types`` run in fp32 under
    autocast: its floating inputs are cast to fp32 and autocast is off inside its forward.
    Returns the names of the wrapped submodules. Parameters, buffers and state dicts are
    untouched (the wrapper lives on the instance's ``forward``), so checkpoints do not change."""
    wrapped = []
    for name, module in model.named_modules():
        if isinstance(module, types) and "forward" not in vars(module):
            module.forward = _fp32_forward(module.forward)
            wrapped.append(name)
    return wrapped


def _fp32_forward(forward):
    @functools.wraps(forward)
    def run(*args, **kwargs):
        if not torch.is_autocast_enabled(_device_of(args)):
            return forward(*args, **kwargs)
        with torch.autocast(_device_of(args), enabled=False):
            return forward(*(_as_fp32(a) for a in args), **{k: _as_fp32(v) for k, v in kwargs.items()})
    return run


def _device_of(args: tuple) -> str:
    for a in args:
        if torch.is_tensor(a):
            return a.device.type
    return "cpu"
