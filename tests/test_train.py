"""Training loop: learning-rate schedule, exact resume, DDP replicas, export to shipped weights."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from codec.image.config import ImageModelConfig
from conftest import REPO_ROOT
from train.loop import learning_rate, main, resolve_config, timed_decay_steps
from train.shards import join, split

TINY = json.dumps({"hidden": 16, "latent": 32, "coarse_latent": 16, "coarse_groups": 2, "fine_groups": [2, 4, 8],
                   "codebook_size": 16, "context_classes": 4})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    for i in range(40):  # names chosen so the hash split leaves some validation images
        Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(folder / f"im{i:03d}.png")
    return folder


def _args(data, out, steps):
    return ["--data", str(data), "--out", str(out), "--config", TINY, "--steps", str(steps), "--crop", "64",
            "--batch", "2", "--threads", "1", "--val-images", "2", "--warmup", "2"]


def test_learning_rate_schedule():
    assert learning_rate(0, 1.0, 10, None, 100) == pytest.approx(0.1)
    assert learning_rate(50, 1.0, 10, None, 100) == 1.0
    assert learning_rate(60, 1.0, 10, 50, 100) < 1.0
    assert learning_rate(500, 1.0, 10, 50, 100) == pytest.approx(0.1)


def test_timed_decay_fits_the_measured_speed():
    assert timed_decay_steps(100, 10.0, 1.0) == 600  # 10 steps/s for 60 s
    assert timed_decay_steps(0, 0.0, 1.0) == 1


def test_decay_minutes_needs_a_longer_timed_run(data, tmp_path):
    for extra in (["--decay-minutes", "1"], ["--minutes", "1", "--decay-minutes", "2"]):
        with pytest.raises(SystemExit):
            main(_args(data, tmp_path / "x", 2) + extra)


def test_timed_run_decays_over_its_last_minutes(data, tmp_path):
    out = tmp_path / "timed"
    args = [a for a in _args(data, out, 0) if a not in ("--steps", "0")]
    assert main(args + ["--minutes", "0.05", "--decay-minutes", "0.025", "--lr", "1e-3"]) == 0
    state = json.loads((out / "latest" / "state.json").read_text())
    plan = state["schedule"]
    assert 0 < plan["decay_start"] < state["step"] and plan["decay_steps"] >= 1
    last = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    assert last["lr"] < 1e-3
    # a resumed leg goes on with the planned decay instead of jumping back to the base rate
    assert main(args + ["--steps", str(state["step"] + 2), "--lr", "1e-3"]) == 0
    resumed = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    expected = learning_rate(resumed["step"] - 1, 1e-3, 2, plan["decay_start"], plan["decay_steps"])
    assert resumed["lr"] == pytest.approx(expected) and resumed["lr"] <= last["lr"]


def test_checkpoint_pieces_join_back_exactly(data, tmp_path):
    out = tmp_path / "run"
    main(_args(data, out, 1))
    pieces = split(out / "latest", tmp_path / "pieces", max_bytes=64 * 1024)
    assert len(pieces) > 1 and all(p.stat().st_size < 64 * 1024 + 8192 for p in pieces[:-1])
    join(tmp_path / "pieces", tmp_path / "joined")
    from safetensors.torch import load_file

    a = load_file(str(out / "latest" / "tensors.safetensors"))
    b = load_file(str(tmp_path / "joined" / "tensors.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "joined" / "state.json").read_text() == (out / "latest" / "state.json").read_text()
    with pytest.raises(FileNotFoundError, match="no checkpoint pieces"):
        join(tmp_path / "joined", tmp_path / "again")


def test_quality_draw_can_be_restricted():
    from codec.image.config import ImageModelConfig
    from train.objectives import VQObjective, build_objective

    config = ImageModelConfig.from_dict(json.loads(TINY))
    objective = VQObjective(config, qualities=(3,))
    x = torch.rand(1, 3, 64, 64)
    rng = np.random.default_rng(0)
    assert all(set(objective.loss(objective.model, x, rng)[1]) >= {"psnr_q3", "bpp_q3"} for _ in range(3))
    with pytest.raises(ValueError, match="outside 1..3"):
        VQObjective(config, qualities=(4,))
    with pytest.raises(ValueError, match="vq model only"):
        build_objective("hyperprior", config, None, (1,))


def test_commit_weight_scales_only_the_commitment_term():
    from codec.image.config import ImageModelConfig
    from train.objectives import build_objective

    config = ImageModelConfig.from_dict(json.loads(TINY))
    x = torch.rand(2, 3, 64, 64)
    losses, stats = [], []
    for weight in (1.0, 101.0):
        torch.manual_seed(0)
        objective = build_objective("vq", config, None, None, weight)
        objective.model.eval()  # no EMA or prior updates: both passes see the same model
        loss, st = objective.loss(objective.model, x, np.random.default_rng(0))
        losses.append(loss.item()), stats.append({k: float(v) for k, v in st.items()})
    assert stats[0]["commit"] > 0 and stats[0]["commit"] == pytest.approx(stats[1]["commit"])
    assert losses[1] - losses[0] == pytest.approx(100 * stats[0]["commit"], rel=1e-3)
    with pytest.raises(ValueError, match="vq model only"):
        build_objective("hyperprior", config, None, None, 0.5)


def test_latent_pin_pulls_the_latent_scale_towards_its_target():
    from codec.image.config import ImageModelConfig
    from train.objectives import build_objective

    config = ImageModelConfig.from_dict(json.loads(TINY))
    x = torch.rand(2, 3, 64, 64)
    torch.manual_seed(0)
    objective = build_objective("vq", config, None, None, None, pin=1e-3)  # far below the latent's RMS
    objective.model.eval()
    loss, stats = objective.loss(objective.model, x, np.random.default_rng(0))
    rms = float(stats["latent_rms"])
    assert float(stats["pin"]) == pytest.approx((np.log2(rms) - np.log2(1e-3)) ** 2, rel=1e-4)
    loss.backward()
    # a small normalised gradient step on the analysis transform shrinks the latent
    weights = [p for p in objective.model.analysis.parameters() if p.grad is not None]
    with torch.no_grad():
        for p in weights:
            p -= 1e-4 * p.grad / p.grad.norm().clamp_min(1e-12)
    _, after = objective.loss(objective.model, x, np.random.default_rng(0))
    assert float(after["latent_rms"]) < rms
    with pytest.raises(ValueError, match="vq model only"):
        build_objective("hyperprior", config, None, None, None, pin=1.0)


def test_resume_is_exact(data, tmp_path):
    straight, resumed = tmp_path / "a", tmp_path / "b"
    assert main(_args(data, straight, 6)) == 0
    assert main(_args(data, resumed, 3)) == 0
    assert main(_args(data, resumed, 6)) == 0  # picks up at step 3 with optimizer and RNG state
    from safetensors.torch import load_file

    a = load_file(str(straight / "latest" / "tensors.safetensors"))
    b = load_file(str(resumed / "latest" / "tensors.safetensors"))
    for name in a:
        if name.startswith("model."):
            assert torch.equal(a[name], b[name]), name
    log = [json.loads(line) for line in (resumed / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log if "val" in entry] == [3, 6]
    assert [entry["step"] for entry in log if "recipe" in entry] == [0, 3]  # one line per leg


def test_resume_keeps_the_checkpoint_architecture():
    saved = {"config": json.loads(TINY)}
    assert resolve_config("{}", saved).hidden == 16  # not the current default width
    assert resolve_config('{"hidden": 16}', saved) == resolve_config("{}", saved)
    with pytest.raises(SystemExit, match="contradicts"):
        resolve_config('{"hidden": 64}', saved)
    assert resolve_config('{"hidden": 24}', None).hidden == 24


def test_init_from_a_shipped_model_builds_its_architecture():
    """``--init weights/X.safetensors`` of a manifest model builds X's config (gmq2-c: 2 fine stages
    of 48 groups, scale contexts), and ``--config`` still overrides it."""
    from codec.manifest import load_manifest

    weights = REPO_ROOT / "weights"
    entry = next(e for e in load_manifest(weights)["models"].values() if e["config"].get("fine_groups") == [48, 48])
    cfg = resolve_config("{}", None, weights / entry["file"])
    assert cfg == ImageModelConfig.from_dict(entry["config"])
    assert resolve_config('{"hidden": 24}', None, weights / entry["file"]).hidden == 24
    assert resolve_config("{}", None, weights / "not-listed.safetensors") == ImageModelConfig()


def test_export_writes_manifest_and_loads(data, tmp_path):
    out = tmp_path / "run"
    main(_args(data, out, 2))
    weights = tmp_path / "weights"
    from train.export import main as export

    assert export([str(out / "latest"), "--id", "t1", "--weights", str(weights), "--data", str(data),
                   "--crops", "16"]) == 0
    manifest = json.loads((weights / "manifest.json").read_text())
    assert manifest["default"] == "t1" and manifest["models"]["t1"]["training"]["steps"] == 2
    from codec.image.codec import ImageCodec

    codec = ImageCodec(quality=3, weights_dir=weights)
    img = Image.fromarray(np.full((40, 50, 3), 120, np.uint8))
    assert codec.decode(codec.encode(img)).size == (50, 40)
    # a weights file that does not match its manifest is refused
    path = weights / "t1.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    from codec.weights import WeightsError, load_image_model

    with pytest.raises(WeightsError, match="does not match its manifest"):
        load_image_model("t1", weights)


def test_export_adds_the_training_behind_the_init_weights(tmp_path):
    from train.export import lineage

    weights = tmp_path / "weights"
    weights.mkdir()
    parent = {"file": "p1.safetensors", "sha256": "0" * 64, "training": {"steps": 1000, "wall_hours": 2.5}}
    (weights / "manifest.json").write_text(json.dumps({"format": 1, "default": "p1", "models": {"p1": parent}}))
    run = {"steps": 40, "wall_hours": 0.1, "lr": 1e-4}
    assert lineage(run, "elsewhere/p1.safetensors", weights) == {
        "steps": 1040, "wall_hours": 2.6, "lr": 1e-4, "init_model": "p1", "run_steps": 40}
    assert lineage(run, None, weights) == run and lineage(run, "p2.safetensors", weights) == run
    (tmp_path / "p1.safetensors").write_bytes(b"other bytes")  # at hand, but not the manifest's file
    assert lineage(run, str(tmp_path / "p1.safetensors"), weights) == run
    assert lineage(run, "p1.safetensors", tmp_path / "no-weights-here") == run


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None, reason="torchrun missing")
def test_two_process_ddp_replicas_stay_identical(data, tmp_path):
    out = tmp_path / "ddp"
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    # --standalone: torchrun's own rendezvous on a port it finds free (a fixed port collides with
    # another checkout's test run, and a port probed here can be taken before torchrun binds it)
    run = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "train.loop", *_args(data, out, 3)],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1] == {"step": 3, "replicas_identical": True}


def test_log_states_the_precision_and_why(data, tmp_path):
    out = tmp_path / "p"
    assert main(_args(data, out, 1)) == 0  # no --precision: the hardware decides
    recipe = json.loads((out / "log.jsonl").read_text().splitlines()[0])["recipe"]
    assert recipe["precision"] in ("fp32", "bf16") and recipe["precision_reason"].startswith("default:")
    assert main(_args(data, out, 2) + ["--precision", "fp32"]) == 0
    recipe = json.loads((out / "log.jsonl").read_text().splitlines()[2])["recipe"]
    assert (recipe["precision"], recipe["precision_reason"]) == ("fp32", "asked for with --precision")


def test_device_crops_with_ema_resume_exactly_and_export_the_average(data, tmp_path):
    straight, resumed = tmp_path / "a", tmp_path / "b"
    fast = ["--device-crops", "--ema", "0.5", "--channels-last"]
    assert main(_args(data, straight, 4) + fast) == 0
    assert main(_args(data, resumed, 2) + fast) == 0
    assert main(_args(data, resumed, 4) + fast) == 0
    from safetensors.torch import load_file

    a = load_file(str(straight / "latest" / "tensors.safetensors"))
    b = load_file(str(resumed / "latest" / "tensors.safetensors"))
    names = [n for n in a if n.startswith(("model.", "ema."))]
    assert any(n.startswith("ema.") for n in names)
    for name in names:
        assert torch.equal(a[name], b[name]), name
    recipe = json.loads((straight / "log.jsonl").read_text().splitlines()[0])["recipe"]
    assert recipe["device_crops"] is True and recipe["ema"] == 0.5
    from train.export import main as export

    weights = tmp_path / "weights"
    assert export([str(straight / "latest"), "--id", "e1", "--weights", str(weights), "--data", str(data),
                   "--crops", "16", "--ema"]) == 0
    shipped = load_file(str(weights / "e1.safetensors"))
    name = next(n for n in names if n.startswith("ema.") and n.endswith("weight"))
    assert torch.equal(shipped["model." + name[4:]].float(), a[name].half().float())
    manifest = json.loads((weights / "manifest.json").read_text())
    assert manifest["models"]["e1"]["training"]["weights"] == "ema"
