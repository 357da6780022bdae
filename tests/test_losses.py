"""DPTN losses, VGG19 features and distillation against hand-computed values.

No ImageNet weights exist here: VGG19 is randomly initialised (seeded). Expected values are worked
out by hand on tiny tensors or recomputed independently from the layer list in
``tests/data/backbones/vgg19_features_keys.txt`` (torchvision's documented VGG19 layout).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from pgdata.errors import InputFormatError, PgdataError, WeightsError
from pgdata.models import VGG19, DPTNConfig, DPTNGenerator
from pgdata.models.vgg import RELU_LAYERS
from pgdata.training.losses import (
    DPTN_LOSS_WEIGHTS,
    FrozenTeacher,
    PerceptualLoss,
    bce_d_loss,
    bce_g_loss,
    build_vgg,
    distillation_loss,
    dptn_generator_loss,
    gram_matrix,
    init_student_from_teacher,
    l1_loss,
    load_teacher,
    lsgan_d_loss,
    lsgan_g_loss,
)

KEYS_FILE = Path(__file__).parent / "data" / "backbones" / "vgg19_features_keys.txt"
VGG19_FEATURE_PARAMS = 20_024_384  # torchvision vgg19: 143,667,240 total − 123,642,856 classifier
TINY = DPTNConfig(ngf=8, max_channels=32, block="mbconv", mbconv_expand=2, mbconv_se=4)


def torchvision_vgg19_keys() -> dict[str, tuple[int, ...]]:
    out = {}
    for line in KEYS_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            key, *shape = line.split()
            out[key] = tuple(int(s) for s in shape)
    return out


@pytest.fixture(scope="module")
def vgg() -> VGG19:
    torch.manual_seed(0)
    return VGG19()


# ---------------------------------------------------------------------------------------------
# elementary terms


def test_gram_normalised_by_chw() -> None:
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (B=1, C=2, H=1, W=2)
    # F Fᵀ = [[1+4, 3+8], [3+8, 9+16]] = [[5, 11], [11, 25]]; C·H·W = 4
    expected = torch.tensor([[[1.25, 2.75], [2.75, 6.25]]])
    torch.testing.assert_close(gram_matrix(f), expected)
    assert gram_matrix(torch.ones(3, 4, 5, 6, dtype=torch.bfloat16)).dtype == torch.float32


def test_l1_lsgan_and_vanilla_gan_values() -> None:
    assert l1_loss(torch.tensor([1.0, -1.0]), torch.tensor([0.0, 1.0])).item() == pytest.approx(1.5)
    real, fake = torch.tensor([0.5, 1.5]), torch.tensor([0.2, -0.4])
    # 0.5 · [mean(0.25, 0.25) + mean(0.04, 0.16)] = 0.5 · (0.25 + 0.10)
    assert lsgan_d_loss(real, fake).item() == pytest.approx(0.175)
    # mean((0.2 − 1)², (−0.4 − 1)²) = (0.64 + 1.96) / 2
    assert lsgan_g_loss(fake).item() == pytest.approx(1.3)
    zero = torch.zeros(2, 1, 3, 3)
    assert bce_d_loss(zero, zero).item() == pytest.approx(math.log(2))
    x = torch.tensor([2.0])
    assert bce_g_loss(x).item() == pytest.approx(math.log1p(math.exp(-2.0)))
    assert bce_d_loss(x, x).item() == pytest.approx(
        0.5 * (math.log1p(math.exp(-2)) + math.log1p(math.exp(2)))
    )


def test_distillation_value_and_detached_target() -> None:
    s = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
    t = torch.tensor([0.5, 0.5, 0.5], requires_grad=True)
    loss = distillation_loss(s, t, weight=5.0)
    assert loss.item() == pytest.approx(5.0 * (0.5 + 0.5 + 1.5) / 3)
    loss.backward()
    assert t.grad is None and s.grad is not None


# ---------------------------------------------------------------------------------------------
# VGG19


def test_vgg19_keys_and_shapes_are_torchvisions() -> None:
    expected = torchvision_vgg19_keys()
    assert sum(math.prod(s) for s in expected.values()) == VGG19_FEATURE_PARAMS
    with torch.device("meta"):
        state = VGG19().state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == expected
    assert list(state) == list(expected)  # same order as torchvision
    # every named ReLU directly follows its conv
    conv_indices = sorted(int(k.split(".")[1]) for k in expected if k.endswith(".weight"))
    assert sorted(RELU_LAYERS.values()) == [i + 1 for i in conv_indices]
    assert RELU_LAYERS["relu1_1"] == 1 and RELU_LAYERS["relu5_4"] == 35


def test_vgg19_is_frozen_and_returns_requested_layers(vgg: VGG19) -> None:
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training
    x = torch.rand(2, 3, 32, 48, requires_grad=True)
    feats = vgg(x)
    assert set(feats) == set(vgg.layers)  # in network order
    assert feats["relu1_1"].shape == (2, 64, 32, 48)
    assert feats["relu3_4"].shape == (2, 256, 8, 12)
    assert feats["relu5_2"].shape == (2, 512, 2, 3)
    feats["relu5_1"].sum().backward()
    assert x.grad is not None  # gradients reach the input, not the weights


def test_vgg19_load_features_checks_keys() -> None:
    torch.manual_seed(1)
    src = VGG19()
    state = {k: v.clone() for k, v in src.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # a torchvision file's classifier: ignored
    dst = VGG19().load_features(state)
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v)
    missing = {k: v for k, v in state.items() if k != "features.34.bias"}
    with pytest.raises(ValueError, match=r"missing \['features.34.bias'\]"):
        VGG19().load_features(missing, source="my.pth")
    with pytest.raises(ValueError, match="my.pth.*unexpected.*'head.weight'"):
        VGG19().load_features({**state, "head.weight": torch.zeros(1)}, source="my.pth")
    with pytest.raises(ValueError, match="features.0.weight has shape"):
        VGG19().load_features({**state, "features.0.weight": torch.zeros(64, 1, 3, 3)})


def test_vgg19_imagenet_input_norm() -> None:
    torch.manual_seed(2)
    plain = VGG19(layers=("relu2_1",))
    pre = VGG19(layers=("relu2_1",), input_norm="imagenet").load_features(plain.state_dict())
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(pre(x)["relu2_1"], plain(((x + 1) / 2 - mean) / std)["relu2_1"])


def _reference_features(vgg: VGG19, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Named ReLU outputs recomputed from the torchvision layer list with F.conv2d / F.max_pool2d."""
    state = vgg.state_dict()
    convs = sorted(int(k.split(".")[1]) for k in torchvision_vgg19_keys() if k.endswith(".weight"))
    out, stage, k, prev = {}, 1, 0, None
    for i in convs:
        if prev is not None and i - prev == 3:  # a pool sits between the two convs' ReLUs
            x = F.max_pool2d(x, 2)
            stage, k = stage + 1, 0
        x = F.relu(
            F.conv2d(x, state[f"features.{i}.weight"], state[f"features.{i}.bias"], padding=1)
        )
        k += 1
        out[f"relu{stage}_{k}"] = x
        prev = i
    return out


def test_perceptual_content_and_style_by_hand(vgg: VGG19) -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
    y = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
    content, style = PerceptualLoss(vgg)(x, y)
    fx, fy = _reference_features(vgg, x), _reference_features(vgg, y)

    def gram(f: torch.Tensor) -> torch.Tensor:
        b, c, h, w = f.shape
        return torch.einsum("bchw,bdhw->bcd", f, f) / (c * h * w)

    want_c = sum(
        (fx[n] - fy[n]).abs().mean()
        for n in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    )
    want_s = sum(
        (gram(fx[n]) - gram(fy[n])).abs().mean()
        for n in ("relu2_2", "relu3_4", "relu4_4", "relu5_2")
    )
    torch.testing.assert_close(content, want_c)
    torch.testing.assert_close(style, want_s)
    assert content.item() > 0 and style.item() > 0
    same_c, same_s = PerceptualLoss(vgg)(x, x)
    assert same_c.item() == 0 and same_s.item() == 0


# ---------------------------------------------------------------------------------------------
# the dual-task mix


def test_dual_task_mix_by_hand() -> None:
    out_t, target = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)  # L1_t = 1
    out_s, source = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)  # L1_s = 0.5
    d_fake = torch.zeros(1, 1, 2, 2)  # LSGAN G = 1
    deepfashion = dptn_generator_loss(out_t, target, d_fake, out_s=out_s, source=source)
    # 0.5 · (5 · 1) + 0.5 · (5 · 0.5) + 2 · 1
    assert deepfashion["total"].item() == pytest.approx(5.75)
    assert deepfashion["rec_t"].item() == pytest.approx(5.0)
    assert deepfashion["rec_s"].item() == pytest.approx(2.5)
    assert deepfashion["gan_t"].item() == pytest.approx(2.0)
    market = dptn_generator_loss(
        out_t, target, d_fake, DPTN_LOSS_WEIGHTS["market"], out_s=out_s, source=source
    )
    # 0.8 · (2 · 1) + 0.2 · (2 · 0.5) + 5 · 1
    assert market["total"].item() == pytest.approx(6.8)
    no_gan = dptn_generator_loss(out_t, target, None, out_s=out_s, source=source)
    assert "gan_t" not in no_gan and no_gan["total"].item() == pytest.approx(3.75)
    with pytest.raises(ValueError, match="with_source=True"):
        dptn_generator_loss(out_t, target, d_fake)


def test_dual_task_mix_with_perceptual_terms(vgg: VGG19) -> None:
    gen = torch.Generator().manual_seed(4)
    out_t, target, out_s, source = (
        torch.rand(1, 3, 32, 32, generator=gen) * 2 - 1 for _ in range(4)
    )
    d_fake = torch.rand(1, 1, 2, 2, generator=gen)
    perceptual = PerceptualLoss(vgg)
    terms = dptn_generator_loss(
        out_t, target, d_fake, out_s=out_s, source=source, perceptual=perceptual
    )
    c_t, s_t = perceptual(out_t, target)
    c_s, s_s = perceptual(out_s, source)
    g = ((d_fake - 1) ** 2).mean()
    branch_t = 5 * (out_t - target).abs().mean() + 0.5 * c_t + 500 * s_t
    branch_s = 5 * (out_s - source).abs().mean() + 0.5 * c_s + 500 * s_s
    torch.testing.assert_close(terms["total"], 0.5 * branch_t + 0.5 * branch_s + 2 * g)
    torch.testing.assert_close(terms["style_s"], 500 * s_s)
    assert set(terms) == {
        "rec_t",
        "content_t",
        "style_t",
        "rec_s",
        "content_s",
        "style_s",
        "gan_t",
        "total",
    }


# ---------------------------------------------------------------------------------------------
# teacher checkpoints and distillation


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.rand(2, 3, 32, 24, generator=gen) * 2 - 1,
        torch.rand(2, 18, 32, 24, generator=gen),
        torch.rand(2, 18, 32, 24, generator=gen),
    )


def test_teacher_is_frozen_and_no_gradient_reaches_it(tmp_path: Path) -> None:
    torch.manual_seed(0)
    trained = DPTNGenerator(TINY)
    path = tmp_path / "ckpt-000010.pt"
    torch.save({"G": trained.state_dict(), "step": 10}, path)
    teacher = load_teacher(path, TINY)
    for k, v in trained.state_dict().items():
        assert torch.equal(teacher.generator.state_dict()[k], v)
    teacher.train()
    assert not teacher.training and not teacher.generator.training
    assert not any(p.requires_grad for p in teacher.parameters())

    student = DPTNGenerator(DPTNConfig(**{**TINY.__dict__, "n_cab": 1, "n_ttb": 1}))
    dropped = init_student_from_teacher(student, teacher.generator)
    assert dropped and all(k.startswith(("ptm.cabs.1.", "ptm.ttbs.1.")) for k in dropped)
    assert torch.equal(
        student.state_dict()["ptm.ttbs.0.ffn.linear1.weight"],
        trained.state_dict()["ptm.ttbs.0.ffn.linear1.weight"],
    )

    x = _inputs()
    s_t, _ = student(*x)
    t_t, t_s = teacher(*x)
    assert t_s is None and not t_t.requires_grad
    loss = distillation_loss(s_t, t_t, 5.0)
    torch.testing.assert_close(loss, 5.0 * (s_t - t_t).abs().mean())
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())


def test_bare_state_dict_accepted(tmp_path: Path) -> None:
    torch.manual_seed(0)
    g = DPTNGenerator(TINY)
    torch.save(g.state_dict(), tmp_path / "teacher.pt")
    teacher = load_teacher(tmp_path / "teacher.pt", TINY)
    assert isinstance(teacher, FrozenTeacher)
    with torch.no_grad():
        torch.testing.assert_close(teacher(*_inputs())[0], g.eval()(*_inputs())[0])


def test_teacher_of_another_architecture_is_refused(tmp_path: Path) -> None:
    res = DPTNConfig(**{**TINY.__dict__, "block": "res"})
    path = tmp_path / "res-teacher.pt"
    torch.save({"G": DPTNGenerator(res, init=False).state_dict()}, path)
    with pytest.raises(InputFormatError, match=r"res-teacher\.pt.*block mbconv.*'blocks\.0\.") as e:
        load_teacher(path, TINY)
    assert isinstance(e.value, PgdataError)
    wide = DPTNConfig(**{**TINY.__dict__, "ngf": 16, "max_channels": 64})
    torch.save({"G": DPTNGenerator(wide, init=False).state_dict()}, path)
    with pytest.raises(InputFormatError, match="has shape"):
        load_teacher(path, TINY)
    torch.save({"D": {"w": torch.zeros(1)}, "step": 3}, path)
    with pytest.raises(InputFormatError, match=r"'G' state dict.*\['D', 'step'\]"):
        load_teacher(path, TINY)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputFormatError, match=r"junk\.pt.*weights-only"):
        load_teacher(tmp_path / "junk.pt", TINY)
    with pytest.raises(InputFormatError, match="not found"):
        load_teacher(tmp_path / "absent.pt", TINY)


def test_student_from_a_different_teacher_is_refused() -> None:
    student = DPTNGenerator(TINY, init=False)
    other = DPTNGenerator(DPTNConfig(**{**TINY.__dict__, "block": "res"}), init=False)
    with pytest.raises(PgdataError, match="blocks.0"):
        init_student_from_teacher(student, other)


# ---------------------------------------------------------------------------------------------
# VGG19 weight file


def test_vgg_file_with_wrong_sha256(tmp_path: Path) -> None:
    fake = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, fake)
    with pytest.raises(
        WeightsError, match=r"vgg19-dcbb9e9d\.pth: sha256 .* does not start with dcbb9e9d"
    ):
        build_vgg(fake)
    with pytest.raises(WeightsError, match="sha256"):
        build_vgg(tmp_path)  # the folder holding it


def test_vgg_file_missing_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("PGDATA_WEIGHTS_DIR", raising=False)
    with pytest.raises(WeightsError, match=r"vgg19-dcbb9e9d\.pth.*download\.pytorch\.org"):
        build_vgg(None)
