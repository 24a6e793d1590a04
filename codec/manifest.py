"""``weights/manifest.json``: which image models exist and how they are built, read without torch.

:mod:`codec.weights` loads the weights themselves; this module only reads the manifest (layout in
that module's docstring), so a command can check its options against a model (how many
qualities it has, whether the id exists) in milliseconds, before anything heavy is imported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import CodecError

__all__ = ["WEIGHTS_DIR", "WEIGHTS_ENV", "MANIFEST_FORMAT", "WeightsError", "default_weights_dir",
           "load_manifest", "manifest_entry", "entries_for_file"]

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
WEIGHTS_ENV = "GMCODEC_WEIGHTS"  # a folder with a manifest.json that replaces WEIGHTS_DIR
MANIFEST_FORMAT = 1


class WeightsError(CodecError):
    """Weights are missing, do not match their manifest, or do not fit the model."""


def default_weights_dir() -> Path:
    """``$GMCODEC_WEIGHTS`` when set, else the shipped ``weights/`` folder."""
    return Path(os.environ.get(WEIGHTS_ENV) or WEIGHTS_DIR)


def load_manifest(weights_dir: Path | None = None) -> dict:
    path = Path(weights_dir or default_weights_dir()) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise WeightsError(f"no weights manifest at {path}") from None
    except (OSError, ValueError) as exc:
        raise WeightsError(f"unreadable weights manifest {path}: {exc}") from None
    if manifest.get("format") != MANIFEST_FORMAT or not isinstance(manifest.get("models"), dict):
        raise WeightsError(f"{path} is not a weights manifest of format {MANIFEST_FORMAT}")
    return manifest


def manifest_entry(model_id: str | None = None, weights_dir: Path | None = None) -> tuple[str, dict]:
    """``(model id, manifest entry)`` of ``model_id`` (the default when None); no weights are read."""
    manifest = load_manifest(weights_dir)
    model_id = model_id or manifest.get("default")
    entry = manifest["models"].get(model_id)
    if entry is None:
        known = ", ".join(sorted(manifest["models"])) or "none"
        raise WeightsError(f"unknown model id {model_id!r} (shipped: {known})")
    return model_id, entry


def entries_for_file(path: Path, weights_dir: Path) -> list[tuple[str, dict]]:
    """``(model id, entry)`` of every model of ``weights_dir``'s manifest whose file is named like
    ``path`` (sorted by id): which shipped model a weights file is, for a training run that
    starts from it. Raises :class:`WeightsError` when the manifest is missing or unreadable."""
    models = load_manifest(weights_dir)["models"]
    return [(model_id, entry) for model_id, entry in sorted(models.items()) if entry.get("file") == Path(path).name]
