"""Checks that need a CUDA device (marker ``gpu``; skipped without one)."""

import numpy as np
import pytest
import torch

from pgdata.data import PoseCollate, to_device
from pgdata.stages.heatmaps import render_heatmaps_torch

from .conftest import random_keypoints

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]


def test_heatmaps_on_cuda_equal_cpu():
    kps = torch.from_numpy(random_keypoints(np.random.default_rng(0), 8, (256, 176)))
    cpu = render_heatmaps_torch(kps, (256, 176))
    gpu = render_heatmaps_torch(kps.cuda(), (256, 176))
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-6, rtol=0)


def test_to_device_renders_on_cuda():
    samples = []
    for k in random_keypoints(np.random.default_rng(1), 4, (256, 176)):
        img = torch.randint(0, 256, (3, 256, 176), dtype=torch.uint8)
        samples.append(
            {
                "P1": img,
                "P2": img,
                "K1": torch.from_numpy(k),
                "K2": torch.from_numpy(k),
                "P1_path": "a",
                "P2_path": "b",
            }
        )
    batch = to_device(PoseCollate(heatmaps=False)(samples), "cuda")
    ref = PoseCollate()(samples)
    assert batch["BP1"].device.type == "cuda"
    torch.testing.assert_close(batch["BP1"].cpu(), ref["BP1"], atol=1e-6, rtol=0)
    torch.testing.assert_close(batch["P1"].cpu(), ref["P1"])
