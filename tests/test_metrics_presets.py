"""Preset registry, parameter counts and the images/s timer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pgdata.errors import ConfigError
from pgdata.io.weights import KNOWN_WEIGHTS
from pgdata.metrics.presets import DEFAULT_PRESETS, PRESETS, get_preset
from pgdata.metrics.speed import count_parameters, measure_speed


def test_registry_names_and_weights() -> None:
    assert set(PRESETS) == {
        "psnr", "ssim_patn", "ssim_gfla51", "fid_tf", "fid_legacy_gfla",
        "lpips_alex", "ssim_hrviton", "lpips_hrviton", "pckh", "params", "speed",
    }  # fmt: skip
    for p in PRESETS.values():
        assert p.protocol and p.label
        assert all(w in KNOWN_WEIGHTS for w in p.weights)
    assert set(DEFAULT_PRESETS) <= set(PRESETS)
    assert get_preset("ssim_patn").paddable and not get_preset("lpips_alex").paddable


def test_unknown_preset_names_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean ssim_patn"):
        get_preset("ssim_pat")


def test_count_parameters() -> None:
    lin = nn.Linear(3, 4)  # 12 + 4
    net = nn.Sequential(lin, nn.ReLU(), lin, nn.Linear(4, 2, bias=False))  # shared lin once
    assert count_parameters(net) == 16 + 8
    net[3].weight.requires_grad_(False)
    assert count_parameters(net, trainable_only=True) == 16


def test_speed_counts_images_per_second_with_a_given_clock() -> None:
    """A clock advancing 0.25 s per call: exactly batch × 4 images/s after warm-up."""
    now = [0.0]
    calls: list[int] = []

    def fn(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        now[0] += 0.25
        return x * 2

    res = measure_speed(
        fn, lambda b: (torch.zeros(b, 3, 8, 8),), clock=lambda: now[0], min_seconds=1.0, min_calls=2
    )
    assert res.images_per_s == {1: pytest.approx(4.0), 16: pytest.approx(64.0)}
    assert res.calls == {1: 4, 16: 4}
    assert calls == [1] * 7 + [16] * 7  # 3 warm-up + 4 timed calls each
    real = measure_speed(
        nn.Conv2d(3, 3, 3), lambda b: (torch.rand(b, 3, 16, 16),), min_seconds=0.01
    )
    assert real.device == "cpu" and real.images_per_s[16] > 0
