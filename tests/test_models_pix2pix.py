"""pix2pix networks: published counts, the 256-multiple rule, 30×30 / 70×70 PatchGAN, init."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pgdata.config import config_from_mapping
from pgdata.errors import ConfigError, PgdataError
from pgdata.models.pix2pix import (
    PatchDiscriminator,
    Pix2PixConfig,
    UnetBlock,
    UnetGenerator,
    build_pix2pix,
)
from pgdata.training.steps.base import count_parameters

# shared/reference/generators.md §1 and §4
G_BN, G_IN, G_POSE = 54_413_955, 54_409_603, 54_450_819
D_6, D_42 = 2_768_705, 2_805_569


@pytest.fixture(scope="module")
def pix2pix() -> tuple[UnetGenerator, PatchDiscriminator]:
    torch.manual_seed(0)
    return build_pix2pix(Pix2PixConfig())


def test_published_counts(pix2pix):
    g, d = pix2pix
    assert count_parameters(g) == G_BN
    assert count_parameters(d) == D_6
    with torch.device("meta"):  # counting needs no memory or init
        assert count_parameters(UnetGenerator(Pix2PixConfig(norm="instance"))) == G_IN


def test_pose_baseline_counts():
    cfg = Pix2PixConfig(input_channels=39)  # cat(source, source pose, target pose)
    assert cfg.discriminator_channels == 42
    with torch.device("meta"):
        assert count_parameters(UnetGenerator(cfg)) == G_POSE
        assert count_parameters(PatchDiscriminator(cfg)) == D_42


def test_unet_256_rejects_256x176(pix2pix):
    g = pix2pix[0]
    with pytest.raises(ValueError, match="multiples of 256") as info:
        g(torch.zeros(1, 3, 256, 176))
    assert isinstance(info.value, PgdataError)
    assert "256x176" in str(info.value)
    with pytest.raises(PgdataError, match=r"\(B, 3, H, W\)"):
        g(torch.zeros(1, 4, 256, 256))


def test_forward_backward_256(pix2pix):
    """One vanilla-GAN + L1 step at 256², batch 1: shapes, range and gradients everywhere."""
    g, d = pix2pix
    g.train(), d.train()
    torch.manual_seed(1)
    a, b = torch.rand(1, 3, 256, 256) * 2 - 1, torch.rand(1, 3, 256, 256) * 2 - 1
    fake = g(a)
    assert fake.shape == (1, 3, 256, 256) and fake.abs().max() <= 1.0
    pred_fake = d(torch.cat([a, fake], 1))
    assert pred_fake.shape == (1, 1, 30, 30)
    ones, zeros = torch.ones_like(pred_fake), torch.zeros_like(pred_fake)
    g_loss = F.binary_cross_entropy_with_logits(pred_fake, ones) + 100 * (fake - b).abs().mean()
    d_loss = F.binary_cross_entropy_with_logits(d(torch.cat([a, b], 1)), ones)
    d_loss = d_loss + F.binary_cross_entropy_with_logits(d(torch.cat([a, fake.detach()], 1)), zeros)
    (g_loss + d_loss).backward()
    for net in (g, d):
        for name, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        net.zero_grad(set_to_none=True)


def test_patchgan_receptive_field_is_70(pix2pix):
    """One output logit depends on exactly a 70×70 input window (the published "70×70 PatchGAN")."""
    d = pix2pix[1].eval()  # eval: batch statistics would couple every pixel
    x = torch.randn(1, 6, 256, 256, requires_grad=True)
    d(x)[0, 0, 15, 15].backward()
    assert x.grad is not None
    hit = x.grad.abs().sum(dim=(0, 1)) > 0
    rows, cols = hit.any(dim=1).nonzero().flatten(), hit.any(dim=0).nonzero().flatten()
    assert rows.numel() == cols.numel() == 70
    assert rows[-1] - rows[0] == 69 and cols[-1] - cols[0] == 69
    d.train()


def test_skip_carries_leaky_relu_of_the_input():
    """The reference's in-place LeakyReLU makes the skip half of cat() equal LeakyReLU(x, 0.2)."""
    torch.manual_seed(2)
    inner = UnetBlock(16, 16, "batch")
    block = UnetBlock(8, 16, "batch", inner_block=inner).eval()
    x = torch.randn(1, 8, 8, 8)
    with torch.no_grad():
        out = block(x)
    assert out.shape == (1, 16, 8, 8)
    torch.testing.assert_close(out[:, :8], torch.where(x > 0, x, 0.2 * x))


def test_dropout_next_to_innermost_only():
    g = UnetGenerator(Pix2PixConfig(ngf=4))
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 3  # num_downs 8 - 5
    g = UnetGenerator(Pix2PixConfig(ngf=4, dropout=False))
    assert not any(isinstance(m, nn.Dropout) for m in g.modules())


def test_init_normal_and_zero_bias(pix2pix):
    g, d = pix2pix
    for net in (g, d):
        convs = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
        w = torch.cat([m.weight.flatten() for m in convs])
        assert abs(w.std().item() - 0.02) < 3e-4 and abs(w.mean().item()) < 3e-4
        assert all(m.bias is None or m.bias.abs().max() == 0 for m in convs)
        gammas = torch.cat([m.weight for m in net.modules() if isinstance(m, nn.BatchNorm2d)])
        assert abs(gammas.mean().item() - 1.0) < 3e-3 and abs(gammas.std().item() - 0.02) < 3e-3


def test_config_validation():
    with pytest.raises(ConfigError, match="Pix2PixConfig.num_downs"):
        Pix2PixConfig(num_downs=4)
    with pytest.raises(ConfigError, match="Pix2PixConfig.norm"):
        Pix2PixConfig(norm="none")  # type: ignore[arg-type]
    cfg = config_from_mapping(Pix2PixConfig, {"input_channels": 39}, origin="pix2pix-pose.toml")
    assert cfg.multiple == 256 and cfg.discriminator_channels == 42
    assert Pix2PixConfig(num_downs=7).multiple == 128  # unet_128


def test_state_dict_round_trip(tmp_path: Path):
    cfg = Pix2PixConfig(ngf=4, ndf=4)
    torch.manual_seed(3)
    g, d = build_pix2pix(cfg)
    torch.manual_seed(4)
    g2, d2 = build_pix2pix(cfg)
    x = torch.rand(2, 3, 256, 256) * 2 - 1
    g(x)  # a train-mode pass moves the BatchNorm running statistics
    for net, other, name in ((g, g2, "g"), (d, d2, "d")):
        torch.save(net.state_dict(), tmp_path / f"{name}.pt")
        other.load_state_dict(torch.load(tmp_path / f"{name}.pt", weights_only=True))
        net.eval(), other.eval()
    with torch.no_grad():
        torch.testing.assert_close(g2(x), g(x), rtol=0, atol=0)
        xy = torch.cat([x, x], 1)
        torch.testing.assert_close(d2(xy), d(xy), rtol=0, atol=0)
