"""LPIPS-alex: the batched module against a hand computation from the raw state dicts; loading."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from pgdata.errors import WeightsError
from pgdata.metrics.lpips import LPIPS, find_lpips_heads, load_lpips_alex, lpips_preset
from pgdata.models.alexnet import AlexNet


def _random_weights(seed: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    backbone = {
        k: torch.randn(v.shape, generator=g) * (2.0 / max(v[0].numel(), 1)) ** 0.5
        for k, v in AlexNet(classifier=False).state_dict().items()
    }
    widths = (64, 192, 384, 256, 256)
    heads = {
        f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) for i, c in enumerate(widths)
    }
    return backbone, heads


def _by_hand(
    x0: torch.Tensor, x1: torch.Tensor, bb: dict[str, torch.Tensor], heads: dict[str, torch.Tensor]
) -> torch.Tensor:
    """LPIPS v0.1 written out from its definition, in float64, from the raw state dicts."""
    shift = torch.tensor([-0.030, -0.088, -0.188], dtype=torch.float64).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450], dtype=torch.float64).view(1, 3, 1, 1)

    def taps(x: torch.Tensor) -> list[torch.Tensor]:
        w = {k: v.double() for k, v in bb.items()}
        x = (x.double() - shift) / scale
        t1 = F.relu(F.conv2d(x, w["features.0.weight"], w["features.0.bias"], stride=4, padding=2))
        t2 = F.relu(
            F.conv2d(
                F.max_pool2d(t1, 3, 2), w["features.3.weight"], w["features.3.bias"], padding=2
            )
        )
        t3 = F.relu(
            F.conv2d(
                F.max_pool2d(t2, 3, 2), w["features.6.weight"], w["features.6.bias"], padding=1
            )
        )
        t4 = F.relu(F.conv2d(t3, w["features.8.weight"], w["features.8.bias"], padding=1))
        t5 = F.relu(F.conv2d(t4, w["features.10.weight"], w["features.10.bias"], padding=1))
        return [t1, t2, t3, t4, t5]

    total = torch.zeros(x0.shape[0], dtype=torch.float64)
    for k, (a, b) in enumerate(zip(taps(x0), taps(x1), strict=True)):
        na = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        nb = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        weights = heads[f"lin{k}.model.1.weight"].double().view(1, -1, 1, 1)
        total += ((na - nb) ** 2 * weights).sum(1).mean(dim=(1, 2))
    return total


def test_lpips_equals_hand_computation() -> None:
    bb, heads = _random_weights(0)
    model = LPIPS()
    model.load(bb, heads, "random")
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(3, 3, 96, 64, generator=g) * 2 - 1
    x1 = (x0 + 0.4 * torch.randn(x0.shape, generator=g)).clamp(-1, 1)
    got = model(x0, x1)
    expect = _by_hand(x0, x1, bb, heads)
    torch.testing.assert_close(got.double(), expect, rtol=1e-5, atol=1e-7)
    assert (expect > 0).all()
    torch.testing.assert_close(model(x1, x0), got)  # symmetric
    torch.testing.assert_close(model(x0, x0), torch.zeros(3))


def test_preset_maps_uint8_to_minus_one_one() -> None:
    bb, heads = _random_weights(2)
    model = LPIPS()
    model.load(bb, heads, "random")
    g = torch.Generator().manual_seed(3)
    a = torch.randint(0, 256, (2, 3, 64, 48), dtype=torch.uint8, generator=g)
    b = torch.randint(0, 256, (2, 3, 64, 48), dtype=torch.uint8, generator=g)
    expect = _by_hand(a.double() / 127.5 - 1, b.double() / 127.5 - 1, bb, heads)
    torch.testing.assert_close(lpips_preset(model, a, b).double(), expect, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="uint8"):
        lpips_preset(model, a.float(), b.float())


def test_load_refuses_other_models() -> None:
    bb, heads = _random_weights(4)
    model = LPIPS()
    with pytest.raises(WeightsError, match="features.3.weight is missing"):
        model.load({k: v for k, v in bb.items() if k != "features.3.weight"}, heads, "f.pth")
    heads["lin2.model.1.weight"] = torch.zeros(1, 10, 1, 1)
    with pytest.raises(WeightsError, match=r"lin2.model.1.weight is shape \(1, 10, 1, 1\)"):
        model.load(bb, heads, "f.pth")


def test_heads_from_lpips_package_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed ``lpips`` package's ``weights/v0.1/alex.pth`` is found without importing it."""
    pkg = tmp_path / "site" / "lpips"
    (pkg / "weights" / "v0.1").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    (pkg / "weights" / "v0.1" / "alex.pth").write_bytes(b"not the real heads")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "lpips", raising=False)
    with pytest.raises(
        WeightsError, match=r"lpips/weights/v0.1/alex.pth: sha256 .* df73285e35b22355"
    ):
        find_lpips_heads()


def test_missing_weights_name_file_hash_and_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGDATA_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsError) as err:
        load_lpips_alex()
    msg = str(err.value)
    assert "alexnet-owt-7be5be79.pth" in msg and "7be5be79" in msg and "download.pytorch.org" in msg
