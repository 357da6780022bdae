"""PATN networks: published parameter counts, shapes at 256×176, wiring, init, state dicts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from pgdata.config import config_from_mapping
from pgdata.errors import ConfigError, PgdataError
from pgdata.models.patn import (
    PATNBlock,
    PATNConfig,
    PATNDiscriminator,
    PATNGenerator,
    build_patn,
)
from pgdata.training.steps.base import count_parameters

# shared/reference/generators.md §1 and §3 (counts of the official code)
G_IN = 41_358_019
G_BN = 41_365_763
D_PB = 3_975_424
D_PP = 3_928_384
IMAGE_DOWN, POSE_DOWN, PATB1, PATB_N, UP = 378_496, 481_984, 2_360_320, 4_719_872, 378_243


@pytest.fixture(scope="module")
def patn() -> tuple[PATNGenerator, PATNDiscriminator, PATNDiscriminator]:
    torch.manual_seed(0)
    return build_patn(PATNConfig())


def test_published_counts(patn):
    g, d_pb, d_pp = patn
    assert count_parameters(g) == G_IN
    assert count_parameters(d_pb) == D_PB
    assert count_parameters(d_pp) == D_PP
    assert d_pb.in_channels == 21 and d_pp.in_channels == 6


def test_per_stage_counts(patn):
    g = patn[0]
    assert count_parameters(g.image_down) == IMAGE_DOWN
    assert count_parameters(g.pose_down) == POSE_DOWN
    assert count_parameters(g.blocks[0]) == PATB1
    assert [count_parameters(b) for b in g.blocks[1:]] == [PATB_N] * 8
    assert count_parameters(g.up) == UP
    assert IMAGE_DOWN + POSE_DOWN + PATB1 + 8 * PATB_N + UP == G_IN


def test_market_batchnorm_count():
    with torch.device("meta"):  # counting needs no memory or init
        g = PATNGenerator(PATNConfig(norm="batch"))
    assert count_parameters(g) == G_BN
    # batch norm: convs lose their bias except the output conv; instance norm has no parameters
    biased = [
        m
        for m in g.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d) and m.bias is not None
    ]
    assert len(biased) == 1 and biased[0].out_channels == 3


def test_shapes_at_native_size(patn):
    """256×176 works: G keeps the size (a narrow G: shapes depend only on the strides, and the
    full one costs 124 GMAC), D's logit map is 256×64×44."""
    _, d_pb, _ = patn
    g = PATNGenerator(PATNConfig(ngf=4, n_blocks=2)).eval()
    src = torch.rand(1, 3, 256, 176) * 2 - 1
    pose = torch.rand(1, 36, 256, 176)
    with torch.no_grad():
        out = g(src, pose)
        pb = d_pb(torch.cat([out, pose[:, 18:]], 1))
    assert out.shape == (1, 3, 256, 176)
    assert out.abs().max() <= 1.0
    assert pb.shape == (1, 256, 64, 44)


def test_forward_backward_small(patn):
    """One LSGAN step's gradients reach every parameter of G, D_PB and D_PP (64×44)."""
    g, d_pb, d_pp = patn
    g.train()
    torch.manual_seed(1)
    src, target = torch.rand(1, 3, 64, 44) * 2 - 1, torch.rand(1, 3, 64, 44) * 2 - 1
    bp1, bp2 = torch.rand(1, 18, 64, 44), torch.rand(1, 18, 64, 44)
    fake = g(src, torch.cat([bp1, bp2], 1))
    assert fake.shape == (1, 3, 64, 44)
    # LSGAN terms written out: G wants 1 from both discriminators, each D wants 1 / 0
    g_loss = ((d_pb(torch.cat([fake, bp2], 1)) - 1) ** 2).mean()
    g_loss = g_loss + ((d_pp(torch.cat([fake, src], 1)) - 1) ** 2).mean()
    d_loss = ((d_pb(torch.cat([target, bp2], 1)) - 1) ** 2).mean()
    d_loss = d_loss + (d_pb(torch.cat([fake.detach(), bp2], 1)) ** 2).mean()
    d_loss = d_loss + ((d_pp(torch.cat([target, src], 1)) - 1) ** 2).mean()
    d_loss = d_loss + (d_pp(torch.cat([fake.detach(), src], 1)) ** 2).mean()
    (g_loss + d_loss).backward()
    for net in (g, d_pb, d_pp):
        for name, p in net.named_parameters():
            assert p.grad is not None, name
            assert torch.isfinite(p.grad).all(), name
        net.zero_grad(set_to_none=True)


def test_attention_wiring():
    """x ← x + image_branch(x) · sigmoid(a), p ← cat(a, x): check it with a constant ``a``."""
    torch.manual_seed(2)
    block = PATNBlock(8, "instance", dropout=False, first=True).eval()
    last = block.pose_branch[-1]
    assert isinstance(last, nn.Conv2d)
    x, p = torch.randn(1, 8, 6, 5), torch.randn(1, 8, 6, 5)
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(math.log(3.0))  # sigmoid(log 3) = 0.75
        x_new, p_new = block(x, p)
        expected = x + 0.75 * block.image_branch(x)
    torch.testing.assert_close(x_new, expected)
    assert p_new.shape == (1, 16, 6, 5)
    torch.testing.assert_close(p_new[:, :8], torch.full((1, 8, 6, 5), math.log(3.0)))
    torch.testing.assert_close(p_new[:, 8:], x_new)
    later = PATNBlock(8, "instance", dropout=False, first=False)
    assert later.pose_branch[1].in_channels == 16  # blocks 2..n take cat(a, x)


def test_init_as_reference(patn):
    g, d_pb, _ = patn
    g_convs = [m for m in g.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    weights = torch.cat([m.weight.flatten() for m in g_convs])
    assert abs(weights.std().item() - 0.02) < 2e-4 and abs(weights.mean().item()) < 2e-4
    # biases keep PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)): weights_init_normal skips them
    first = g.image_down[1]
    assert first.bias.abs().max() <= 1 / math.sqrt(3 * 49) and first.bias.abs().max() > 0
    # D is never initialised: every weight stays inside PyTorch's default bound 1/sqrt(fan_in)
    for m in d_pb.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.weight[0].numel()
            assert m.weight.abs().max() <= 1 / math.sqrt(fan_in)
    # ...which N(0, 0.02) would break for the 3×3×256 convs (bound 0.0208)
    block_conv = g.blocks[0].image_branch[1]
    assert block_conv.weight.abs().max() > 1 / math.sqrt(block_conv.weight[0].numel())


def test_batchnorm_init():
    torch.manual_seed(3)
    g = build_patn(PATNConfig(norm="batch", ngf=32, n_blocks=2))[0]
    gammas = torch.cat([m.weight for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    betas = torch.cat([m.bias for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(gammas.mean().item() - 1.0) < 3e-3 and abs(gammas.std().item() - 0.02) < 3e-3
    assert betas.abs().max() == 0


def test_bad_inputs_are_named():
    g = PATNGenerator(PATNConfig(ngf=4, n_blocks=1))
    with pytest.raises(PgdataError, match="multiples of 4"):
        g(torch.zeros(1, 3, 66, 44), torch.zeros(1, 36, 66, 44))
    with pytest.raises(ValueError, match=r"pose_cat must be \(B, 36, H, W\)"):
        g(torch.zeros(1, 3, 64, 44), torch.zeros(1, 18, 64, 44))
    with pytest.raises(ValueError, match="share batch size"):
        g(torch.zeros(1, 3, 64, 44), torch.zeros(1, 36, 64, 48))
    d = PATNDiscriminator(PATNConfig(ndf=4), 21)
    with pytest.raises(PgdataError, match="D_PB"):
        d(torch.zeros(1, 6, 64, 44))


def test_config_validation_and_toml_mapping():
    with pytest.raises(ConfigError, match="PATNConfig.norm"):
        PATNConfig(norm="group")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="PATNConfig.n_blocks"):
        PATNConfig(n_blocks=0)
    cfg = config_from_mapping(
        PATNConfig, {"norm": "batch", "d_norm": "instance"}, origin="patn.toml"
    )
    assert cfg.norm == "batch" and cfg.discriminator_norm == "instance"
    with pytest.raises(ConfigError, match="patn.toml"):
        config_from_mapping(PATNConfig, {"norm": "layer"}, origin="patn.toml")


def test_state_dict_round_trip(tmp_path: Path):
    cfg = PATNConfig(ngf=8, n_blocks=2, norm="batch", ndf=8, d_blocks=1)
    torch.manual_seed(4)
    nets = build_patn(cfg)
    torch.manual_seed(5)
    fresh = build_patn(cfg)
    src, pose = torch.rand(2, 3, 16, 12), torch.rand(2, 36, 16, 12)
    nets[0](src, pose)  # one train-mode pass moves the BN running stats away from their init
    for i, (net, other) in enumerate(zip(nets, fresh, strict=True)):
        path = tmp_path / f"net{i}.pt"
        torch.save(net.state_dict(), path)
        other.load_state_dict(torch.load(path, weights_only=True))
        net.eval(), other.eval()
    with torch.no_grad():
        torch.testing.assert_close(fresh[0](src, pose), nets[0](src, pose), rtol=0, atol=0)
        x = torch.rand(2, 21, 16, 12)
        torch.testing.assert_close(fresh[1](x), nets[1](x), rtol=0, atol=0)
