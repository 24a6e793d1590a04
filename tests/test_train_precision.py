"""Mixed precision in training: the precision chosen and why, fp32 islands under bf16 autocast."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from codec.image.quantizer import MultiCodebookVQ
from train import precision
from train.precision import autocast, choose_precision, cpu_bf16_flags, keep_fp32


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile amx_bf16\n\nflags : x\n")
    assert cpu_bf16_flags(info) == ["amx_bf16", "avx512_bf16"]
    info.write_text("flags\t\t: fpu sse2 avx2\n")
    assert cpu_bf16_flags(info) == []
    assert cpu_bf16_flags(tmp_path / "missing") == []


def test_choice_follows_the_request_then_the_hardware(monkeypatch):
    cpu = torch.device("cpu")
    assert choose_precision("fp32", cpu) == ("fp32", "asked for with --precision")
    assert choose_precision("bf16", cpu)[0] == "bf16"
    with pytest.raises(ValueError, match="unknown precision"):
        choose_precision("fp16", cpu)
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: ["amx_bf16"])
    chosen, why = choose_precision(None, cpu)
    onednn = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert chosen == ("bf16" if onednn else "fp32") and why.startswith("default:")
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: [])
    assert choose_precision(None, cpu)[0] == "fp32"


def test_fp32_islands_compute_in_fp32_under_autocast():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), MultiCodebookVQ(8, 2, 16))
    x = torch.randn(2, 3, 8, 8)
    net[1].train()
    net[1](net[0](x))  # initializes the codebooks
    net.eval()
    keys = list(net.state_dict())
    assert keep_fp32(net, (MultiCodebookVQ,)) == ["1"]
    assert keep_fp32(net, (MultiCodebookVQ,)) == []  # wrapping twice is a no-op
    assert list(net.state_dict()) == keys
    with autocast(torch.device("cpu"), "bf16"):
        y = net[0](x)
        q, idx, soft = net[1](y)
    assert y.dtype == torch.bfloat16 and q.dtype == soft.scores.dtype == soft.flat.dtype == torch.float32
    # the island computes exactly what fp32 computes on the same (bf16-rounded) input
    q32, idx32, soft32 = net[1](y.float())
    assert torch.equal(idx, idx32) and torch.equal(soft.scores, soft32.scores)
    with autocast(torch.device("cpu"), "fp32"):
        assert net[0](x).dtype == torch.float32
