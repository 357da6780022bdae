"""DMFN networks: released counts, DMFB wiring, 256×176, global + local D with crop boxes, init."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pgdata.config import config_from_mapping
from pgdata.errors import ConfigError, PgdataError
from pgdata.models.dmfn import (
    DMFB,
    DMFNConfig,
    DMFNDiscriminator,
    DMFNGenerator,
    build_dmfn,
    composite,
    crop_local,
    generator_input,
    local_boxes,
)
from pgdata.training.steps.base import count_parameters

# shared/reference/generators.md §1 and §5
G_3X3, G_1X1, D_256 = 9_037_443, 4_843_139, 36_673_025
ENCODER, DMFB_3X3, DECODER = 523_072, 885_312, 1_431_875
FUSE_3X3, FUSE_1X1 = 590_080, 65_792


def test_published_counts():
    with torch.device("meta"):  # counting needs no memory or init
        g, d = DMFNGenerator(DMFNConfig()), DMFNDiscriminator(DMFNConfig())
        g1 = DMFNGenerator(DMFNConfig(fusion_kernel=1))
    assert count_parameters(g) == G_3X3
    assert count_parameters(g1) == G_1X1
    assert count_parameters(d) == D_256
    assert count_parameters(g.encoder) == ENCODER
    assert [count_parameters(b) for b in g.blocks] == [DMFB_3X3] * 8
    assert count_parameters(g.decoder) == DECODER
    assert count_parameters(g.blocks[0].fuse) == FUSE_3X3
    assert count_parameters(g1.blocks[0].fuse) == FUSE_1X1
    assert ENCODER + 8 * DMFB_3X3 + DECODER == G_3X3
    assert G_3X3 - G_1X1 == 8 * (FUSE_3X3 - FUSE_1X1)


def test_dmfb_dense_fusion_wiring():
    """The fusion conv sees ReLU(IN(cat(k1, k1+k2, k1+k2+k3, k1+k2+k3+k4))) of the dilated convs."""
    torch.manual_seed(0)
    block = DMFB(16, fusion_kernel=3)
    assert [c.dilation for c in block.dilated] == [(1, 1), (2, 2), (4, 4), (8, 8)]
    seen: list[torch.Tensor] = []
    block.fuse.register_forward_hook(lambda _m, inp, _out: seen.append(inp[0]))
    x = torch.randn(2, 16, 20, 12)
    with torch.no_grad():
        out = block(x)
        y = F.relu(F.instance_norm(block.reduce(x)))
        d = [conv(y) for conv in block.dilated]
        k = torch.cat([d[0], d[0] + d[1], d[0] + d[1] + d[2], d[0] + d[1] + d[2] + d[3]], 1)
        expected_in = F.relu(F.instance_norm(k))
        expected_out = x + F.instance_norm(block.fuse(expected_in))
    assert out.shape == x.shape
    torch.testing.assert_close(seen[0], expected_in)
    torch.testing.assert_close(out, expected_out)


def test_generator_at_256x176():
    """256×176 works (a narrow G: the sizes depend only on the strides)."""
    g = DMFNGenerator(DMFNConfig(nf=8, n_blocks=2)).eval()
    with torch.no_grad():
        out = g(torch.zeros(1, 4, 256, 176))
    assert out.shape == (1, 3, 256, 176)
    with pytest.raises(PgdataError, match="multiples of 4"):
        g(torch.zeros(1, 4, 254, 176))


def test_discriminator_at_256():
    torch.manual_seed(1)
    d = DMFNDiscriminator(DMFNConfig()).eval()
    with torch.no_grad():
        logits, feats = d(torch.rand(2, 3, 256, 256) * 2 - 1, torch.tensor([[64, 64], [0, 128]]))
    assert logits.shape == (2, 1)
    assert [tuple(f.shape[1:]) for f in feats] == [
        (64, 64, 64),
        (128, 32, 32),
        (256, 16, 16),
        (512, 8, 8),
        (512, 4, 4),
    ]
    with pytest.raises(ValueError, match="256x256"):
        d(torch.zeros(1, 3, 256, 176), torch.tensor([[0, 0]]))


def test_forward_backward_small():
    """One RaGAN step at 64×64 (full-width G; D built for 64×64): gradients reach every parameter."""
    torch.manual_seed(2)
    cfg = DMFNConfig(image_hw=(64, 64))
    g, d = build_dmfn(cfg)
    image = torch.rand(2, 3, 64, 64) * 2 - 1
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 16:48, 16:48] = 1
    mask[1, :, 0:20, 30:64] = 1
    boxes = local_boxes(mask, cfg.local_hw)
    out = composite(g(generator_input(image, mask)), image, mask)
    assert out.shape == image.shape
    torch.testing.assert_close(out * (1 - mask), image * (1 - mask))
    real, _ = d(image, boxes)
    fake, _ = d(out, boxes)
    g_loss = F.binary_cross_entropy_with_logits(fake - real.detach().mean(), torch.ones_like(fake))
    fake_d, _ = d(out.detach(), boxes)
    d_loss = F.binary_cross_entropy_with_logits(real - fake_d.mean(), torch.ones_like(real))
    (g_loss + d_loss + (out - image).abs().mean()).backward()
    for net in (g, d):
        for name, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_crop_local():
    image = torch.arange(2 * 1 * 8 * 6, dtype=torch.float32).reshape(2, 1, 8, 6)
    crops = crop_local(image, torch.tensor([[0, 1], [4, 3]]), (4, 3))
    torch.testing.assert_close(crops[0], image[0, :, 0:4, 1:4])
    torch.testing.assert_close(crops[1], image[1, :, 4:8, 3:6])
    with pytest.raises(ValueError, match=r"top in \[0, 4\], left in \[0, 3\]"):
        crop_local(image, torch.tensor([[0, 0], [5, 0]]), (4, 3))
    with pytest.raises(PgdataError, match="integer"):
        crop_local(image, torch.zeros(2, 2), (4, 3))
    with pytest.raises(PgdataError, match=r"\(2, 2\)"):
        crop_local(image, torch.zeros(2, 4, dtype=torch.int64), (4, 3))


def test_local_boxes_by_hand():
    mask = torch.zeros(4, 1, 256, 256)
    mask[0, :, 64:192, 64:192] = 1  # the released centre box: the window is the box itself
    mask[1, :, 70:180, 30:100] = 1  # rows centre 125 -> top 61; cols centre 65 -> left 1
    mask[2, :, 240:256, 250:256] = 1  # near the corner: clamped to 128
    # sample 3 has no hole: centred window
    boxes = local_boxes(mask, (128, 128))
    assert boxes.dtype == torch.int64
    assert boxes.tolist() == [[64, 64], [61, 1], [128, 128], [64, 64]]


def test_generator_input_and_composite_by_hand():
    image = torch.tensor([[[[0.5, -0.5]]]]).expand(1, 3, 1, 2)
    mask = torch.tensor([[[[1.0, 0.0]]]])
    x = generator_input(image, mask)
    assert x.shape == (1, 4, 1, 2)
    assert x[0, :3, 0].tolist() == [[0.0, -0.5]] * 3 and x[0, 3, 0].tolist() == [1.0, 0.0]
    out = torch.full((1, 3, 1, 2), 0.75)
    assert composite(out, image, mask)[0, :, 0].tolist() == [[0.75, -0.5]] * 3


def test_init_as_released():
    torch.manual_seed(3)
    g, d = build_dmfn(DMFNConfig(nf=32, n_blocks=2, ndf=16, image_hw=(64, 64)))
    convs = [m for net in (g, d) for m in net.modules() if type(m) is nn.Conv2d]
    w = torch.cat([m.weight.flatten() for m in convs])
    assert abs(w.std().item() - 0.02) < 5e-4 and abs(w.mean().item()) < 5e-4
    assert all(m.bias.abs().max() == 0 for m in convs)
    # ConvTranspose2d and Linear keep PyTorch's default U(±1/sqrt(fan_in)) weights and biases
    defaults = [
        m for net in (g, d) for m in net.modules() if isinstance(m, nn.ConvTranspose2d | nn.Linear)
    ]
    assert len(defaults) == 2 + 3
    for m in defaults:
        bound = 1 / math.sqrt(m.weight[0].numel())
        assert m.weight.abs().max() <= bound and 0 < m.bias.abs().max() <= bound
    gammas = torch.cat([m.weight for m in d.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(gammas.mean().item() - 1.0) < 3e-3 and abs(gammas.std().item() - 0.02) < 3e-3


def test_config_validation():
    with pytest.raises(ConfigError, match="DMFNConfig.fusion_kernel"):
        DMFNConfig(fusion_kernel=2)
    with pytest.raises(ConfigError, match="DMFNConfig.image_hw"):
        DMFNConfig(image_hw=(255, 256))
    cfg = config_from_mapping(
        DMFNConfig, {"fusion_kernel": 1, "image_hw": [256, 176]}, origin="dmfn.toml"
    )
    assert cfg.image_hw == (256, 176) and cfg.local_hw == (128, 88)
    with torch.device("meta"):
        d = DMFNDiscriminator(cfg)
    # both branches end at 512×4×3 instead of 512×4×4: each Linear → 512 loses 2048 inputs
    assert count_parameters(d) == D_256 - 2 * (512 * 16 - 512 * 12) * 512


def test_state_dict_round_trip(tmp_path: Path):
    cfg = DMFNConfig(nf=8, n_blocks=2, ndf=8, image_hw=(64, 64))
    torch.manual_seed(4)
    g, d = build_dmfn(cfg)
    torch.manual_seed(5)
    g2, d2 = build_dmfn(cfg)
    x, image, boxes = (
        torch.rand(2, 4, 64, 64),
        torch.rand(2, 3, 64, 64),
        torch.tensor([[0, 0], [32, 16]]),
    )
    d(image, boxes)  # a train-mode pass moves the BatchNorm running statistics
    for net, other, name in ((g, g2, "g"), (d, d2, "d")):
        torch.save(net.state_dict(), tmp_path / f"{name}.pt")
        other.load_state_dict(torch.load(tmp_path / f"{name}.pt", weights_only=True))
        net.eval(), other.eval()
    with torch.no_grad():
        torch.testing.assert_close(g2(x), g(x), rtol=0, atol=0)
        torch.testing.assert_close(d2(image, boxes)[0], d(image, boxes)[0], rtol=0, atol=0)
