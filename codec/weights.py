"""Shipped weights: safetensors files described by ``weights/manifest.json`` (read by
:mod:`codec.manifest`, which needs no torch). No pickle anywhere.

Manifest layout::

    {"format": 1, "default": "<model id>",
     "models": {"<model id>": {"file": "<name>.safetensors", "sha256": "<hex>", "arch": "vq",
                               "config": {...ImageModelConfig...}, "precision": 24,
                               "training": {...}, "kodak": {...}}}}

A weights file holds the inference state of :class:`ImageModel` (floats as fp16 but
``rate_unit`` as fp32, class maps as int32) and the integer frequency tables of every level: ``tables.coarse`` ``[Mz, 1, K]`` and
``tables.fine.<s>`` ``[M_s, G, K]`` int32, rows summing to ``2**precision``. Loading checks the
file's sha256 against the manifest before reading a byte of it as tensors.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from entropy import FrequencyTables

from .image.config import ImageModelConfig
from .image.model import ImageModel
from .manifest import (
    MANIFEST_FORMAT,
    WEIGHTS_DIR,
    WEIGHTS_ENV,
    WeightsError,
    default_weights_dir,
    load_manifest,
    manifest_entry,
)

__all__ = ["WEIGHTS_DIR", "WEIGHTS_ENV", "default_weights_dir", "MANIFEST_FORMAT", "TRAINING_ONLY", "FP32_TENSORS", "WeightsError", "LoadedModel", "load_manifest", "manifest_entry", "load_image_model",
           "save_image_model", "write_manifest", "load_model_weights", "sha256_file"]

# buffers that only training uses; they are not shipped
TRAINING_ONLY = ("ema_count", "ema_sum", "temperature", "counts")
# floats shipped in fp32: gmq2's rate_unit (a mean squared latent, 1e5 after 5,000 steps) overflows fp16
FP32_TENSORS = ("rate_unit",)


@dataclass(frozen=True)
class LoadedModel:
    """An image model ready for inference, with the integer tables of each level."""

    model_id: str
    model: ImageModel
    tables: tuple[FrequencyTables, ...]  # coarse first, then fine stage 0, 1, ...
    groups: tuple[int, ...]  # M of each level, same order
    entry: dict


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_image_model(model_id: str | None = None, weights_dir: Path | None = None) -> LoadedModel:
    """Load a model from the manifest (default model when ``model_id`` is None)."""
    weights_dir = Path(weights_dir or default_weights_dir())
    model_id, entry = manifest_entry(model_id, weights_dir)
    path = Path(weights_dir) / entry["file"]
    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing")
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        raise WeightsError(f"weights file {path.name} does not match its manifest (sha256 {digest[:12]}…, "
                           f"expected {entry['sha256'][:12]}…): re-export or restore it")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"cannot read weights {path.name}: {exc}") from None
    config = ImageModelConfig.from_dict(entry["config"])
    model = ImageModel(config)
    _load_inference_state(model, tensors)
    model.eval()
    precision = int(entry["precision"])
    names = ["tables.coarse"] + [f"tables.fine.{s}" for s in range(config.num_stages)]
    tables = tuple(FrequencyTables(tensors[n].reshape(-1, config.codebook_size).numpy().astype(np.int64), precision)
                   for n in names)
    groups = (config.coarse_groups, *config.fine_groups)
    return LoadedModel(model_id, model, tables, groups, entry)


def _load_inference_state(model: ImageModel, tensors: dict[str, torch.Tensor], partial: bool = False) -> None:
    state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    reference = model.state_dict()
    for name, value in state.items():
        if name not in reference or reference[name].shape != value.shape:
            raise WeightsError(f"weights do not fit the model: unexpected tensor {name}")
        state[name] = value.to(reference[name].dtype)
    missing = [k for k in reference if k not in state and not k.endswith(TRAINING_ONLY)]
    if missing and not partial:
        raise WeightsError(f"weights do not fit the model: missing {missing[0]}")
    model.load_state_dict(state, strict=False)


def save_image_model(loaded: LoadedModel, weights_dir: Path, entry: dict, make_default: bool = True) -> dict:
    """Write ``<model id>.safetensors`` and its manifest entry (``entry`` plus file, sha256,
    config, precision); returns the full entry. The manifest is replaced atomically."""
    weights_dir = Path(weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    config = loaded.model.config
    tables = [t.freqs.reshape(m, -1, config.codebook_size) for t, m in zip(loaded.tables, loaded.groups)]
    path = weights_dir / f"{loaded.model_id}.safetensors"
    digest = _export_state(loaded.model, tables, path)
    full = dict(entry, file=path.name, sha256=digest, arch="vq", config=json.loads(config.to_json()),
                precision=int(loaded.tables[0].precision))
    manifest_path = weights_dir / "manifest.json"
    manifest = load_manifest(weights_dir) if manifest_path.exists() else {"format": MANIFEST_FORMAT, "models": {}}
    manifest["models"][loaded.model_id] = full
    if make_default or "default" not in manifest:
        manifest["default"] = loaded.model_id
    write_manifest(weights_dir, manifest)
    return full


def write_manifest(weights_dir: Path, manifest: dict) -> None:
    """Replace ``manifest.json`` atomically (sorted keys, one trailing newline)."""
    fd, tmp = tempfile.mkstemp(dir=weights_dir, prefix=".manifest-")
    with os.fdopen(fd, "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, Path(weights_dir) / "manifest.json")


def _export_state(model: ImageModel, tables: list[np.ndarray], path: Path) -> str:
    """Write the inference state (fp16 floats) and integer tables; returns the sha256."""
    tensors = {}
    for name, value in model.state_dict().items():
        if name.endswith(TRAINING_ONLY):
            continue
        if value.is_floating_point() and not name.endswith(FP32_TENSORS):
            value = value.half()
        elif value.dtype == torch.int64:
            value = value.int()
        tensors[f"model.{name}"] = value.contiguous()
    tensors["tables.coarse"] = torch.from_numpy(np.ascontiguousarray(tables[0], dtype=np.int32))
    for s, t in enumerate(tables[1:]):
        tensors[f"tables.fine.{s}"] = torch.from_numpy(np.ascontiguousarray(t, dtype=np.int32))
    save_file(tensors, str(path))
    return sha256_file(path)


def load_model_weights(model: ImageModel, path: Path, partial: bool = False) -> list[str]:
    """Start training from an exported weights file (priors warm-started from its tables).

    ``partial``: load only the parts (top-level modules, each fine stage's quantizer and prior)
    whose tensors all fit ``model``, for a new architecture that keeps some of an old one's parts;
    returns the names of the parts left as they were (always empty without ``partial``).
    """
    tensors = load_file(str(path))
    skipped: list[str] = []
    if partial:
        tensors, skipped = _fitting_parts(model, tensors)
    _load_inference_state(model, tensors, partial)
    with torch.no_grad():
        for vq_name, prior_name, table in _levels(model):
            if vq_name not in skipped:
                vq = model.get_submodule(vq_name)
                vq.ema_sum.copy_(vq.codebook)
                vq.ema_count.fill_(1.0)
            if prior_name not in skipped and table in tensors:
                freqs = tensors[table].double()
                model.get_submodule(prior_name).counts.copy_((freqs / freqs.sum(-1, keepdim=True) * 10).float())
    return skipped


def _levels(model: ImageModel) -> list[tuple[str, str, str]]:
    """``(quantizer, prior, table)`` names of every level, coarse first."""
    return [("coarse_vq", "coarse_prior", "tables.coarse")] + \
        [(f"fine_vq.{s}", f"fine_prior.{s}", f"tables.fine.{s}") for s in range(len(model.fine_prior))]


def _part(name: str) -> str:
    """The part a state-dict name belongs to: ``fine_vq.3.codebook`` -> ``fine_vq.3``."""
    head = name.split(".")
    return ".".join(head[:2]) if head[0] in ("fine_vq", "fine_prior") else head[0]


def _fitting_parts(model: ImageModel, tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """``tensors`` reduced to the parts of ``model`` that they fill completely with fitting shapes
    (a stage's table goes with its prior); the names of the other parts."""
    reference = model.state_dict()
    given = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    parts = {_part(k) for k in reference}
    bad = {_part(k) for k, v in reference.items()
           if not k.endswith(TRAINING_ONLY) and (k not in given or given[k].shape != v.shape)}
    bad |= {_part(k) for k, v in given.items() if k not in reference or reference[k].shape != v.shape}
    kept = {f"model.{k}": v for k, v in given.items() if _part(k) in parts - bad}
    for _, prior, table in _levels(model):
        if prior not in bad and table in tensors and \
                tuple(tensors[table].shape) == tuple(model.get_submodule(prior).counts.shape):
            kept[table] = tensors[table]
        else:
            bad.add(prior)
    return kept, sorted(parts & bad)
