"""DPTN generator / discriminator, MBConv teacher and 1 CAB + 1 TTB student.

Expected parameter counts are the published ones of generators.md §1, §2.2 and §2.6 (counted on
the official code); the MBConv per-block figure is checked against the closed form
``P = 654·h + 576`` worked out by hand from the layer list.
"""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from pgdata.models import PRESETS, DPTNConfig, DPTNGenerator, ResDiscriminator, build_dptn
from pgdata.models.mbconv import MBConv, mbconv_params

# ---------------------------------------------------------------------------------------------
# parameter counts


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def skeleton(cfg: DPTNConfig) -> DPTNGenerator:
    """The generator's structure only (meta device, no init): counts need no memory."""
    with torch.device("meta"):
        return DPTNGenerator(cfg, init=False)


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        (DPTNConfig(), 9_794_371),
        (DPTNConfig(n_cab=1, n_ttb=1), 8_739_139),
        (DPTNConfig(block="mbconv"), 8_566_531),
        (DPTNConfig(block="mbconv", n_cab=1, n_ttb=1), 7_511_299),
        # generators.md §2.6 table, teacher / student columns
        (DPTNConfig(block="mbconv", mbconv_expand=4), 8_064_259),
        (DPTNConfig(block="mbconv", mbconv_expand=4, mbconv_se=16), 7_769_203),
        (DPTNConfig(block="mbconv", mbconv_se=16), 8_197_747),
        (DPTNConfig(block="mbconv", mbconv_expand=6), 9_068_803),
        (DPTNConfig(block="mbconv", mbconv_expand=6, mbconv_se=16), 8_626_291),
        (DPTNConfig(block="mbconv", mbconv_expand=4, n_cab=1, n_ttb=1), 7_009_027),
        (DPTNConfig(block="mbconv", mbconv_expand=4, mbconv_se=16, n_cab=1, n_ttb=1), 6_713_971),
        (DPTNConfig(block="mbconv", mbconv_se=16, n_cab=1, n_ttb=1), 7_142_515),
        (DPTNConfig(block="mbconv", mbconv_expand=6, n_cab=1, n_ttb=1), 8_013_571),
        (DPTNConfig(block="mbconv", mbconv_expand=6, mbconv_se=16, n_cab=1, n_ttb=1), 7_571_059),
    ],
)
def test_generator_counts(cfg: DPTNConfig, expected: int) -> None:
    assert n_params(skeleton(cfg)) == expected


def test_presets_and_teacher_minus_student() -> None:
    counts = {name: n_params(skeleton(cfg)) for name, cfg in PRESETS.items()}
    assert counts["dptn"] == counts["dptn-market"] == 9_794_371
    assert counts["dptn-1cab-1ttb"] == 8_739_139
    assert counts["dptn-teacher"] == 8_566_531
    assert counts["dptn-student"] == 7_511_299
    assert counts["dptn-teacher"] - counts["dptn-student"] == 1_055_232 == 395_776 + 659_456


def test_generator_stage_counts() -> None:
    g = skeleton(DPTNConfig())
    enc = g.content_encoder
    assert n_params(enc.stem) == 77_056
    assert [n_params(b) for b in enc.downs] == [279_168, 1_115_392]
    assert [n_params(b) for b in g.blocks] == [1_246_976] * 3
    assert n_params(g.ptm) == 2_110_976
    assert [n_params(c) for c in g.ptm.cabs] == [395_776] * 2
    assert [n_params(t) for t in g.ptm.ttbs] == [659_456] * 2
    assert n_params(g.ptm.cabs[0].self_attn) == 263_168
    assert n_params(g.ptm.norm) == 512
    assert n_params(g.source_encoder) == 1_434_752
    assert [n_params(b) for b in g.decoder] == [738_432, 184_896, 111_040]
    assert n_params(g.output) == 1_731


def test_discriminator_counts_and_stages() -> None:
    d4 = ResDiscriminator(DPTNConfig(dis_layers=4))
    d3 = ResDiscriminator(PRESETS["dptn-market"])
    assert n_params(d4) == 664_577
    assert n_params(d3) == 238_209
    assert n_params(d4.stem) == 17_440
    assert [n_params(b) for b in d4.downs] == [44_192, 176_448, 426_368]
    assert n_params(d4.head) == 129


@pytest.mark.parametrize(
    ("expand", "se", "expected"),
    [
        (4, 64, 670_272),
        (4, 16, 571_920),
        (5, 64, 837_696),
        (5, 16, 714_768),
        (6, 64, 1_005_120),
        (6, 16, 857_616),
    ],
)
def test_mbconv_block_counts(expand: int, se: int, expected: int) -> None:
    with torch.device("meta"):
        block = MBConv(256, expand, 3, se)
    assert n_params(block) == expected == mbconv_params(256, expand, 3, se)
    if se == 64:
        h = 256 * expand
        assert expected == 654 * h + 576


def test_counts_do_not_depend_on_heads_or_resolution() -> None:
    for heads in (1, 4, 8):
        assert n_params(skeleton(DPTNConfig(heads=heads))) == 9_794_371
    assert n_params(skeleton(DPTNConfig(resize_to=(256, 256)))) == 9_794_371
    assert n_params(skeleton(DPTNConfig(block="mbconv", n_cab=1, n_ttb=1, heads=8))) == 7_511_299


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="heads"):
        DPTNConfig(heads=3)
    with pytest.raises(ValueError, match="resize_to"):
        DPTNConfig(resize_to=(256, 180))
    with pytest.raises(ValueError, match="block"):
        DPTNConfig(block="dense")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="odd"):
        DPTNConfig(mbconv_kernel=4)


# ---------------------------------------------------------------------------------------------
# forward / backward at DPTN's sizes (the real DeepFashion networks, batch 1, CPU)


@pytest.fixture(scope="module")
def dptn() -> tuple[DPTNGenerator, ResDiscriminator]:
    torch.manual_seed(0)
    return build_dptn(DPTNConfig())


def _inputs(
    b: int, h: int, w: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    img = torch.rand(b, 3, h, w, generator=gen) * 2 - 1
    return img, torch.rand(b, 18, h, w, generator=gen), torch.rand(b, 18, h, w, generator=gen)


@pytest.mark.parametrize(("h", "w", "d_hw"), [(256, 176, (16, 11)), (256, 256, (16, 16))])
def test_forward_backward(
    dptn: tuple[DPTNGenerator, ResDiscriminator], h: int, w: int, d_hw: tuple[int, int]
) -> None:
    g, d = dptn
    g.zero_grad(set_to_none=True)
    d.zero_grad(set_to_none=True)
    out_t, out_s = g(*_inputs(1, h, w), with_source=True)
    assert out_s is not None
    assert out_t.shape == out_s.shape == (1, 3, h, w)
    assert out_t.abs().max() <= 1.0  # tanh
    score = d(out_t)
    assert score.shape == (1, 1, *d_hw)
    (out_t.mean() + out_s.mean() + score.mean()).backward()
    for name, p in [*g.named_parameters(), *d.named_parameters()]:
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_source_branch_only_on_request() -> None:
    torch.manual_seed(0)
    g = DPTNGenerator(DPTNConfig(ngf=8, max_channels=32))
    g.eval()
    with torch.no_grad():
        out_t, out_s = g(*_inputs(2, 32, 24))
        out_t2, out_s2 = g(*_inputs(2, 32, 24), with_source=True)
    assert out_s is None and out_s2 is not None
    torch.testing.assert_close(out_t, out_t2)


# ---------------------------------------------------------------------------------------------
# DPTN's stretch-and-resize-back quirk


def _stretch(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def test_resize_to_stretches_inputs_and_resizes_outputs_back() -> None:
    small = dict(ngf=8, max_channels=32, heads=2)
    torch.manual_seed(0)
    quirk = DPTNGenerator(DPTNConfig(resize_to=(32, 32), **small)).eval()  # type: ignore[arg-type]
    plain = DPTNGenerator(DPTNConfig(**small), init=False).eval()  # type: ignore[arg-type]
    plain.load_state_dict(quirk.state_dict())
    img, ps, pt = _inputs(1, 32, 24)
    with torch.no_grad():
        out, out_s = quirk(img, ps, pt, with_source=True)
        ref, ref_s = plain(
            _stretch(img, (32, 32)),
            _stretch(ps, (32, 32)),
            _stretch(pt, (32, 32)),
            with_source=True,
        )
        kept, _ = quirk(img, ps, pt, resize_back=False)
        # pose maps already at the working size are used as they are
        ps32, pt32 = torch.rand(1, 18, 32, 32), torch.rand(1, 18, 32, 32)
        out32, _ = quirk(img, ps32, pt32)
        ref32, _ = plain(_stretch(img, (32, 32)), ps32, pt32)
    assert out.shape == (1, 3, 32, 24) and kept.shape == (1, 3, 32, 32)
    assert ref_s is not None
    torch.testing.assert_close(out, _stretch(ref, (32, 24)))
    torch.testing.assert_close(out_s, _stretch(ref_s, (32, 24)))
    torch.testing.assert_close(kept, ref)
    torch.testing.assert_close(out32, _stretch(ref32, (32, 24)))


def test_rejects_sizes_not_divisible_by_8_and_mismatched_poses() -> None:
    g = DPTNGenerator(DPTNConfig(ngf=8, max_channels=32), init=False)
    img, ps, pt = _inputs(1, 36, 24)
    with pytest.raises(ValueError, match="multiple of 8"):
        g(img, ps, pt)
    img, ps, _ = _inputs(1, 32, 24)
    with pytest.raises(ValueError, match="tgt_pose"):
        g(img, ps, torch.rand(1, 18, 32, 32))


# ---------------------------------------------------------------------------------------------
# init and spectral norm (generators.md §2.1)


def _is_scaled_orthogonal(w: torch.Tensor, gain: float) -> bool:
    m = w.reshape(w.shape[0], -1)
    if m.shape[0] > m.shape[1]:
        m = m.T
    return torch.allclose(m @ m.T, gain**2 * torch.eye(m.shape[0]), atol=1e-6)


def test_init_is_dptn_orthogonal() -> None:
    torch.manual_seed(0)
    cfg = DPTNConfig(ngf=8, max_channels=32, block="mbconv", mbconv_se=4)
    g = DPTNGenerator(cfg)
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear)]
    assert len(convs) > 20
    for m in convs:
        assert _is_scaled_orthogonal(m.weight.detach(), 0.02)
        assert m.bias is None or not m.bias.any()
    attn = g.ptm.cabs[0].self_attn
    assert not _is_scaled_orthogonal(attn.in_proj_weight.detach(), 0.02)  # stays Xavier
    bound = (6 / (attn.in_proj_weight.shape[0] + attn.in_proj_weight.shape[1])) ** 0.5
    assert attn.in_proj_weight.abs().max() <= bound
    bn = torch.cat([m.weight.detach() for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(bn.mean().item() - 1) < 0.01 and 0.01 < bn.std().item() < 0.03
    inorm = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d | nn.InstanceNorm1d)]
    assert all(bool((m.weight == 1).all()) for m in inorm)


def test_spectral_norm_on_d_only() -> None:
    g = DPTNGenerator(DPTNConfig(ngf=8, max_channels=32), init=False)
    d = ResDiscriminator(DPTNConfig())
    d_convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(d_convs) == 3 + 3 * 3 + 1  # stem (3), 3 blocks (3 each), head
    assert all(parametrize.is_parametrized(m, "weight") for m in d_convs)
    assert not any(parametrize.is_parametrized(m) for m in g.modules())


# ---------------------------------------------------------------------------------------------
# plain state dicts


def test_state_dicts_round_trip_weights_only(dptn: tuple[DPTNGenerator, ResDiscriminator]) -> None:
    g, d = dptn
    buf = io.BytesIO()
    torch.save({"G": g.state_dict(), "D": d.state_dict()}, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    g2 = DPTNGenerator(DPTNConfig(), init=False)
    d2 = ResDiscriminator(DPTNConfig())
    g2.load_state_dict(loaded["G"])
    d2.load_state_dict(loaded["D"])
    for a, b in zip(g.state_dict().values(), g2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    g.eval(), d.eval(), g2.eval(), d2.eval()
    img, ps, pt = _inputs(1, 64, 48, seed=3)
    with torch.no_grad():
        torch.testing.assert_close(g2(img, ps, pt)[0], g(img, ps, pt)[0], rtol=0, atol=0)
        torch.testing.assert_close(d2(img), d(img), rtol=0, atol=0)
    g.train(), d.train()
