"""Safe loading: weights only through safetensors whose sha256 matches the manifest, and no
pickle-based loader (``torch.load``, ``pickle``, ``np.load(allow_pickle=True)``, torch hub
downloads) anywhere in the code that reads user files."""

from __future__ import annotations

import ast
import json
import pickle
import shutil
from pathlib import Path

import pytest

from codec.image.codec import ImageCodec
from codec.weights import WeightsError, load_image_model, load_manifest, sha256_file

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("codec", "entropy", "cli", "train", "benchmarks")


@pytest.fixture
def weights(tiny_weights, tmp_path):
    """A private copy of the tiny model's folder (manifest + safetensors) to damage."""
    folder = tmp_path / "weights"
    shutil.copytree(tiny_weights, folder)
    entry = next(iter(load_manifest(folder)["models"].values()))
    return folder, folder / entry["file"]


def _set_sha(folder: Path, digest: str) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["models"].values():
        entry["sha256"] = digest
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_intact_copy_loads(weights):
    folder, _ = weights
    assert load_image_model(None, folder).model_id


@pytest.mark.parametrize("where", [0, 100, -1])
def test_one_changed_byte_is_refused_with_a_clear_message(weights, where):
    folder, path = weights
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match its manifest"):
        load_image_model(None, folder)
    with pytest.raises(WeightsError, match="re-export or restore"):
        ImageCodec(weights_dir=folder)


def test_truncated_and_missing_weights_are_refused(weights):
    folder, path = weights
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="does not match"):
        load_image_model(None, folder)
    path.unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_image_model(None, folder)


class _Trap:
    """Unpickling this creates a marker file: proof that something unpickled the weights."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_with_a_matching_hash_is_never_unpickled(weights, tmp_path):
    folder, path = weights
    marker = tmp_path / "unpickled"
    path.write_bytes(pickle.dumps({"model.x": _Trap(marker)}))
    _set_sha(folder, sha256_file(path))  # the manifest is fooled; the loader must not be
    with pytest.raises(WeightsError, match="cannot read weights"):
        load_image_model(None, folder)
    assert not marker.exists()


def test_a_safetensors_file_with_foreign_tensors_is_refused(weights):
    import torch
    from safetensors.torch import save_file

    folder, path = weights
    save_file({"model.not_a_layer": torch.zeros(3)}, str(path))
    _set_sha(folder, sha256_file(path))
    with pytest.raises(WeightsError, match="do not fit the model"):
        load_image_model(None, folder)


def test_cli_with_tampered_weights_exits_1_with_one_line(weights, tmp_path, capsys, monkeypatch):
    from PIL import Image

    from cli.main import main

    folder, path = weights
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    monkeypatch.setenv("GMCODEC_WEIGHTS", str(folder))
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    assert main(["encode", "-s", str(tmp_path / "a.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not match its manifest" in err
    assert not (tmp_path / "a.gmc").exists()


def _unsafe_calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            if any(n and n.split(".")[0] in ("pickle", "cPickle", "dill", "joblib", "shelve", "marshal")
                   for n in names):
                found.append(f"line {node.lineno}: imports {', '.join(n for n in names if n)}")
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        if name in ("torch.load", "torch.hub.load", "torch.hub.load_state_dict_from_url",
                    "load_state_dict_from_url", "torch.jit.load"):
            found.append(f"line {node.lineno}: {name}(...)")
        for kw in node.keywords:
            if kw.arg in ("allow_pickle", "pretrained") and isinstance(kw.value, ast.Constant) and kw.value.value:
                found.append(f"line {node.lineno}: {name}({kw.arg}=True)")
    return found


def test_no_pickle_based_loading_anywhere():
    problems = []
    for folder in SOURCE_DIRS:
        for path in sorted((REPO / folder).rglob("*.py")):
            for what in _unsafe_calls(ast.parse(path.read_text(), str(path))):
                problems.append(f"{path.relative_to(REPO)} {what}")
    assert not problems, "pickle-based loading found:\n" + "\n".join(problems)


def test_the_scanner_finds_what_it_looks_for():
    code = "import pickle\nimport torch\ntorch.load(p)\nnp.load(p, allow_pickle=True)\nzoo.m(pretrained=True)\n"
    assert len(_unsafe_calls(ast.parse(code))) == 4
