"""The allocator setting of train.loop."""

from __future__ import annotations

import ctypes.util
import sys

import pytest
import torch

from train.allocator import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
                    reason="glibc's mallopt is Linux-only")
def test_thresholds_are_accepted_and_tensors_still_work():
    assert keep_freed_memory() is True
    a = torch.ones(8, 64, 64, 64)
    assert float((a * 2).sum()) == 2 * a.numel()  # large temporaries still allocate and free
