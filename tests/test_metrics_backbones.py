"""Metric backbones: key names and shapes equal the reference lists; preprocessing rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pgdata.models.alexnet import LPIPS_TAP_CHANNELS, AlexNet
from pgdata.models.inception import FIDInceptionV3, TorchvisionInceptionV3, tf1_resize_bilinear

BACKBONES = Path(__file__).parent / "data" / "backbones"


def _reference(name: str) -> list[tuple[str, tuple[int, ...]]]:
    rows = []
    for line in (BACKBONES / name).read_text().splitlines():
        key, shape = line.split(" ")
        dims = shape.strip("[]")
        rows.append((key, tuple(int(d) for d in dims.split(",")) if dims else ()))
    return rows


@pytest.mark.parametrize(
    ("make", "listing", "n_keys"),
    [
        (FIDInceptionV3, "inception_fid_keys.txt", 566),
        (TorchvisionInceptionV3, "inception_v3_torchvision_keys.txt", 580),
        (AlexNet, "alexnet_keys.txt", 16),
    ],
)
def test_state_dict_keys_and_shapes_equal_reference(
    make: type[nn.Module], listing: str, n_keys: int
) -> None:
    ref = _reference(listing)
    mine = [(k, tuple(v.shape)) for k, v in make().state_dict().items()]
    assert len(ref) == n_keys
    assert dict(mine) == dict(ref)
    assert [k for k, _ in mine] == [k for k, _ in ref]  # same order too


def test_alexnet_without_classifier_keeps_feature_keys() -> None:
    ref = {k: s for k, s in _reference("alexnet_keys.txt") if k.startswith("features.")}
    mine = {k: tuple(v.shape) for k, v in AlexNet(classifier=False).state_dict().items()}
    assert mine == ref


def test_alexnet_taps_have_lpips_widths() -> None:
    taps = AlexNet(classifier=False)(torch.randn(1, 3, 64, 48))
    assert [t.shape[1] for t in taps] == list(LPIPS_TAP_CHANNELS)
    assert all((t >= 0).all() for t in taps)  # ReLU outputs


def test_tf1_resize_on_a_ramp() -> None:
    """TF1: output i samples input i·in/out (no half-pixel shift), last pixel repeated."""
    w_in, w_out = 176, 299
    ramp = torch.arange(w_in, dtype=torch.float64).expand(1, 1, 2, w_in).contiguous()
    got = tf1_resize_bilinear(ramp, (2, w_out))[0, 0, 0]
    expect = (torch.arange(w_out, dtype=torch.float64) * w_in / w_out).clamp(max=w_in - 1)
    torch.testing.assert_close(got, expect, rtol=0, atol=1e-4)
    # PyTorch's half-pixel rule is a different resize: the FID presets must not mix them up
    torch_rule = F.interpolate(ramp, size=(2, w_out), mode="bilinear", align_corners=False)
    assert (torch_rule[0, 0, 0] - expect).abs().max() > 0.2


def test_tf1_resize_down_and_identity() -> None:
    x = torch.rand(2, 3, 20, 10)
    torch.testing.assert_close(tf1_resize_bilinear(x, (20, 10)), x)
    down = tf1_resize_bilinear(x, (10, 5))  # scale 2: samples every other pixel exactly
    torch.testing.assert_close(down, x[:, :, ::2, ::2])


def test_fid_inception_preprocess_and_features() -> None:
    net = FIDInceptionV3()
    u8 = torch.randint(0, 256, (2, 3, 64, 44), dtype=torch.uint8)
    pre = net.preprocess(u8)
    assert pre.shape == (2, 3, 299, 299)
    assert pre.min() >= -1.0 and pre.max() <= 127 / 128
    assert net(u8).shape == (2, 2048)
    with pytest.raises(ValueError, match="uint8"):
        net(u8.float())


def test_legacy_inception_normalisation() -> None:
    net = TorchvisionInceptionV3()
    ones = net.preprocess(torch.ones(1, 3, 8, 8))[0, :, 0, 0].double()
    zeros = net.preprocess(torch.zeros(1, 3, 8, 8))[0, :, 0, 0].double()
    std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64)
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64)
    torch.testing.assert_close(zeros, (mean - 0.5) / 0.5, rtol=0, atol=1e-7)
    torch.testing.assert_close(ones, std / 0.5 + (mean - 0.5) / 0.5, rtol=0, atol=1e-7)


def test_backbones_are_frozen() -> None:
    for net in (FIDInceptionV3(), AlexNet(classifier=False)):
        net.train()
        assert not net.training
        assert not any(p.requires_grad for p in net.parameters())
