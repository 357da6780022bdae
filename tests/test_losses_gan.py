"""GAN-family losses (losses_gan, losses_dmfn) against values worked out by hand on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch

from pgdata.errors import ConfigError, PgdataError
from pgdata.training.losses_dmfn import (
    DMFNLossWeights,
    center_loss,
    dmfn_generator_loss,
    feature_centers,
    feature_matching_loss,
    layer_weight,
    relativistic_discriminator_loss,
    relativistic_generator_loss,
    self_guided_error_map,
    self_guided_feature_loss,
)
from pgdata.training.losses_gan import (
    PATN_DEEPFASHION,
    PATN_MARKET,
    PATNLossWeights,
    gan_d_loss,
    gan_g_loss,
    patn_discriminator_loss,
    patn_generator_loss,
    patn_l1_perceptual,
    pix2pix_discriminator_loss,
    pix2pix_generator_loss,
)

LN2, LN3 = math.log(2.0), math.log(3.0)


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def close(x: torch.Tensor, expected: float) -> None:
    assert x.dim() == 0
    assert x.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_gan_terms_by_mode_by_hand():
    close(gan_g_loss(t(0.5, 2.0), "lsgan"), (0.25 + 1.0) / 2)
    close(gan_d_loss(t(1.0), t(0.5, 2.0), "lsgan"), 0.5 * (0.0 + (0.25 + 4.0) / 2))
    # BCE with logits: -log σ(x) = log(1 + e^-x) for real, log(1 + e^x) for fake
    close(gan_g_loss(t(0.0, LN3), "vanilla"), (LN2 + math.log(4 / 3)) / 2)
    close(
        gan_d_loss(t(LN3), t(0.0, LN3), "vanilla"),
        0.5 * (math.log(4 / 3) + (LN2 + math.log(4)) / 2),
    )
    with pytest.raises(ConfigError, match="gan_mode"):
        gan_g_loss(t(0.0), "wgan")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="gan_mode"):
        gan_d_loss(t(0.0), t(0.0), "hinge")  # type: ignore[arg-type]


def test_pix2pix_by_hand():
    target = torch.zeros(1, 1, 1, 2, dtype=torch.float64, requires_grad=True)
    fake = torch.tensor([[[[0.5, -0.5]]]], dtype=torch.float64, requires_grad=True)
    terms = pix2pix_generator_loss(t(0.0), fake, target)
    close(terms["gan"], LN2)
    close(terms["l1"], 100 * 0.5)
    close(terms["total"], 50 + LN2)
    terms["total"].backward()
    assert fake.grad is not None and target.grad is None  # the target is detached
    close(pix2pix_discriminator_loss(t(LN3), t(0.0)), 0.5 * (math.log(4 / 3) + LN2))


def patn_feats(fake: float, real: float) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    return {"relu1_2": t(fake, fake)}, {"relu1_2": t(real - 1, real + 1)}


def test_patn_l1_plus_perceptual_by_hand():
    fake, target = t(1.0, 0.0), t(0.0, 0.0)
    f_fake, f_real = patn_feats(2.0, 2.0)  # |2 - 1| and |2 - 3|: mean 1
    terms = patn_l1_perceptual(fake, target, f_fake, f_real, lambda_l1=10, lambda_perceptual=10)
    close(terms["l1"], 10 * 0.5)
    close(terms["perceptual"], 10 * 1.0)
    close(terms["total"], 15.0)
    with pytest.raises(PgdataError, match="relu1_2"):
        patn_l1_perceptual(
            fake, target, {"relu1_1": t(0.0)}, f_real, lambda_l1=1, lambda_perceptual=1
        )


def test_patn_generator_and_discriminator_by_hand():
    fake, target = t(1.0, 0.0), t(0.0, 0.0)
    f_fake, f_real = patn_feats(2.0, 2.0)
    # DeepFashion: λ_A = λ_B = 1, λ_GAN = 5, LSGAN; (0 - 1)^2 = 1 from D_PB, (3 - 1)^2 = 4 from D_PP
    terms = patn_generator_loss(fake, target, f_fake, f_real, t(0.0), t(3.0), PATN_DEEPFASHION)
    close(terms["gan"], 5 * (1 + 4) / 2)
    close(terms["total"], 0.5 + 1.0 + 12.5)
    only_pb = patn_generator_loss(fake, target, f_fake, f_real, t(0.0), None, PATN_DEEPFASHION)
    close(only_pb["gan"], 5 * 1.0)
    neither = patn_generator_loss(fake, target, f_fake, f_real, None, None, PATN_DEEPFASHION)
    close(neither["gan"], 0.0)
    # each D: 0.5 · λ_GAN · (MSE(real, 1) + MSE(fake, 0))
    close(patn_discriminator_loss(t(1.0), t(1.0), PATN_DEEPFASHION), 0.5 * 5 * (0 + 1))
    # Market: λ 10 / 10, BCE; fake logit 0 → ln 2 per D
    market = patn_generator_loss(fake, target, f_fake, f_real, t(0.0), t(0.0), PATN_MARKET)
    close(market["total"], 10 * 0.5 + 10 * 1.0 + 5 * LN2)
    with pytest.raises(ConfigError, match="gan_mode"):
        PATNLossWeights(gan_mode="hinge")  # type: ignore[arg-type]


def test_relativistic_by_hand():
    real, fake = t(1.0, 3.0), t(0.0, 2.0)  # mean real 2, mean fake 1
    # D: r - 1 = (0, 2) → real; f - 2 = (-2, 0) → fake
    d = (LN2 + math.log(1 + math.exp(-2))) / 2
    close(relativistic_discriminator_loss(real, fake), d)
    # G: the labels swap: (0, 2) → fake, (-2, 0) → real
    g = (LN2 + math.log(1 + math.exp(2))) / 2
    real_g = real.clone().requires_grad_(True)
    fake_g = fake.clone().requires_grad_(True)
    loss = relativistic_generator_loss(real_g, fake_g)
    close(loss, g)
    loss.backward()
    assert real_g.grad is None and fake_g.grad is not None  # real logits are detached for G


def guided_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Output with per-pixel error [[1, 0], [0, 2]] in every channel, target 0."""
    v = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    return v.expand(1, 3, 2, 2).clone(), torch.zeros(1, 3, 2, 2, dtype=torch.float64)


def test_self_guided_error_map_by_hand():
    output, target = guided_case()
    m = self_guided_error_map(output, target)
    assert m.shape == (1, 1, 2, 2)
    torch.testing.assert_close(
        m[0, 0], torch.tensor([[0.25, 0.0], [0.0, 1.0]], dtype=torch.float64)
    )
    zero = self_guided_error_map(target, target)  # no error: zeros, not 0/0
    assert torch.equal(zero, torch.zeros_like(zero))


def test_self_guided_feature_loss_by_hand():
    output, target = guided_case()  # error map M = [[0.25, 0], [0, 1]], mean 0.3125
    ones = lambda *s: torch.ones(*s, dtype=torch.float64)  # noqa: E731
    out_feats = {
        "relu1_1": ones(1, 2, 2, 2),
        "relu2_1": 2 * ones(1, 4, 1, 1),
        "relu3_1": 0.5 * ones(1, 8, 1, 1),
    }
    real_feats = {k: torch.zeros_like(v) for k, v in out_feats.items()}
    layers = ("relu1_1", "relu2_1", "relu3_1")
    # relu1_1: 1e3/2² · mean(1 · (1 + M)) = 250 · 1.3125
    # relu2_1: 1e3/4² · mean(2 · (1 + avgpool(M))) = 62.5 · 2.625
    # relu3_1: 1e3/8² · 0.5 (plain L1)
    expected = 250 * 1.3125 + 62.5 * 2.625 + 15.625 * 0.5
    assert expected == 500.0
    close(self_guided_feature_loss(out_feats, real_feats, output, target, layers), expected)
    with pytest.raises(PgdataError, match="relu4_1"):
        self_guided_feature_loss(out_feats, real_feats, output, target)  # DMFN's five layers
    wrong_size = {"relu2_1": ones(1, 4, 2, 2)}  # not half the image's resolution
    with pytest.raises(PgdataError, match="relu2_1"):
        self_guided_feature_loss(
            out_feats | wrong_size, real_feats | wrong_size, output, target, layers
        )


def test_feature_centers_and_center_loss_by_hand():
    def one_hot(i: int, j: int, h: int = 2, w: int = 2) -> torch.Tensor:
        f = torch.zeros(1, 1, h, w, dtype=torch.float64)
        f[0, 0, i, j] = 1.0
        return f

    # coordinates 2 j / w - 1 (columns → x) and 2 i / h - 1 (rows → y): -1 and 0 for size 2
    top_right, top_left = one_hot(0, 1), one_hot(0, 0)
    torch.testing.assert_close(feature_centers(top_right)[0, 0], t(0.0, -1.0), atol=1e-6, rtol=0)
    torch.testing.assert_close(
        feature_centers(one_hot(0, 3, 1, 4))[0, 0], t(0.5, -1.0), atol=1e-6, rtol=0
    )
    assert center_loss(top_right, top_left).item() == pytest.approx(0.5, abs=1e-6)
    # the released maps use columns for both coordinates: (0, 0) vs (-1, -1)
    torch.testing.assert_close(
        feature_centers(top_right, released_quirk=True)[0, 0], t(0.0, 0.0), atol=1e-6, rtol=0
    )
    assert center_loss(top_right, top_left, released_quirk=True).item() == pytest.approx(
        1.0, abs=1e-6
    )


def test_feature_matching_by_hand():
    fake = [
        torch.ones(1, 2, 1, 1, dtype=torch.float64, requires_grad=True),
        2 * torch.ones(1, 4, 1, 1),
    ]
    real = [
        torch.zeros(1, 2, 1, 1, dtype=torch.float64, requires_grad=True),
        torch.zeros(1, 4, 1, 1),
    ]
    loss = feature_matching_loss(fake, real)
    close(loss, 1e3 / 4 * 1 + 1e3 / 16 * 2)
    loss.backward()
    assert real[0].grad is None and fake[0].grad is not None
    assert layer_weight(64) == 1e3 / 4096
    with pytest.raises(PgdataError, match="2 fake and 1 real"):
        feature_matching_loss(fake, real[:1])


def test_dmfn_generator_loss_by_hand():
    output, target = guided_case()
    f64 = {"dtype": torch.float64}
    out_vgg = {
        "relu1_1": torch.ones(1, 2, 2, 2, **f64),
        "relu2_1": 2 * torch.ones(1, 4, 1, 1, **f64),
        "relu3_1": 0.5 * torch.ones(1, 8, 1, 1, **f64),
        "relu4_1": torch.tensor([[[[0.0, 1.0], [0.0, 0.0]]]], **f64),  # centre (0, -1)
        "relu5_1": torch.zeros(1, 16, 1, 1, **f64),
    }
    target_vgg = {k: torch.zeros_like(v) for k, v in out_vgg.items()}
    target_vgg["relu4_1"] = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]], **f64)  # centre (-1, -1)
    fake_d = [torch.ones(1, 2, 1, 1, **f64), 2 * torch.ones(1, 4, 1, 1, **f64)]
    real_d = [torch.zeros(1, 2, 1, 1, **f64), torch.zeros(1, 4, 1, 1, **f64)]
    terms = dmfn_generator_loss(
        DMFNLossWeights(),
        output,
        target,
        real_logits=t(1.0, 3.0),
        fake_logits=t(0.0, 2.0),
        out_vgg=out_vgg,
        target_vgg=target_vgg,
        fake_d_feats=fake_d,
        real_d_feats=real_d,
    )
    expected = {
        "l1": 1.0 * 0.75,  # mean |output| = (1 + 0 + 0 + 2) / 4
        "vgg": 25.0 * (500.0 + 1e3 / 1 * 0.5),  # the three layers above + relu4_1's plain L1
        "center": 1.0 * 0.5,
        "gan": 0.003 * (LN2 + math.log(1 + math.exp(2))) / 2,
        "feature_matching": 5.0 * 375.0,
    }
    assert set(terms) == set(expected) | {"total"}
    for key, value in expected.items():
        assert terms[key].item() == pytest.approx(value, rel=1e-6), key
    assert terms["total"].item() == pytest.approx(sum(expected.values()), rel=1e-6)


def test_dmfn_switches():
    output, target = guided_case()
    only_l1 = DMFNLossWeights(gan=0, vgg=0, center=0, feature_matching=0)
    terms = dmfn_generator_loss(only_l1, output, target)  # the other inputs are not needed
    assert set(terms) == {"l1", "total"}
    close(terms["total"], 0.75)
    with pytest.raises(ConfigError, match="'vgg' has weight 25.0"):
        dmfn_generator_loss(DMFNLossWeights(gan=0, feature_matching=0), output, target)
    with pytest.raises(ConfigError, match="DMFNLossWeights.center"):
        DMFNLossWeights(center=-1)
