"""LPIPS v0.1 with the AlexNet backbone (``lpips.LPIPS(net="alex", version="0.1")``), batched.

For inputs ``x0, x1`` in [−1, 1]: shift/scale each channel (``(x − shift) / scale`` with LPIPS's
``shift = (−0.030, −0.088, −0.188)``, ``scale = (0.458, 0.448, 0.450)``), run AlexNet's five ReLU
taps, normalise every feature vector to unit length over channels (``f / (‖f‖ + 1e−10)``), square
the difference, weight the channels with the tap's linear head (a 1×1 conv, no bias), average over
positions and sum over the five taps. One distance per image pair; the ``lpips_alex`` preset reports
the mean over pairs of uint8 images mapped as ``x / 127.5 − 1``, unpadded.

Weights: the AlexNet backbone ``alexnet-owt-7be5be79.pth`` (torchvision's file; only ``features.*``
is used) and the linear heads ``alex.pth`` (v0.1, 6,009 bytes, sha256 ``df73285e35b22355…``), taken
from an explicit path, from the installed ``lpips`` package's data (found without importing it,
which would import torchvision), or from ``$PGDATA_WEIGHTS_DIR`` / the torch hub cache.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

from pgdata.errors import WeightsError
from pgdata.io.weights import KNOWN_WEIGHTS, file_sha256, find_weights, load_state_dict
from pgdata.models.alexnet import LPIPS_TAP_CHANNELS, AlexNet

__all__ = ["LPIPS", "find_lpips_heads", "load_lpips_alex", "lpips_preset"]

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NORM_EPS = 1e-10
HALF_UINT8 = 127.5
BACKBONE = KNOWN_WEIGHTS["alexnet-owt-7be5be79.pth"]
HEADS = KNOWN_WEIGHTS["alex.pth"]
_HEAD_KEY = "lin{}.model.1.weight"  # key names in the lpips package's heads file


class LPIPS(nn.Module):
    """LPIPS-alex v0.1, frozen. Randomly initialised until :meth:`load` is called.

    ``forward(x0, x1)``: two ``(B, 3, H, W)`` float batches in [−1, 1] (``H, W ≥ 32``) →
    ``(B,)`` float32 distances (≥ 0 when the heads are non-negative, as the published ones are).
    """

    shift: torch.Tensor  # (1, 3, 1, 1), non-persistent
    scale: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.net = AlexNet(classifier=False)
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in LPIPS_TAP_CHANNELS)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> LPIPS:
        """Stays in eval mode whatever ``mode`` is."""
        return super().train(False)

    def load(
        self, backbone: dict[str, torch.Tensor], heads: dict[str, torch.Tensor], where: str
    ) -> None:
        """Load torchvision AlexNet ``features.*`` (other keys ignored) and the five v0.1 heads.

        Raises:
            WeightsError: a key missing or of the wrong shape (a file of another model).
        """
        own = {f"features.{k}": v for k, v in self.net.features.state_dict().items()}
        feats = {k: backbone.get(k) for k in own}
        heads_sd = {f"{i}.weight": heads.get(_HEAD_KEY.format(i)) for i in range(len(self.lins))}
        own_heads = self.lins.state_dict()
        for name, got, want in [(k, feats[k], own[k]) for k in own] + [
            (_HEAD_KEY.format(k.split(".")[0]), heads_sd[k], own_heads[k]) for k in own_heads
        ]:
            if got is None or got.shape != want.shape:
                found = "missing" if got is None else f"shape {tuple(got.shape)}"
                raise WeightsError(
                    f"{where}: {name} is {found}, expected {tuple(want.shape)}: not LPIPS-alex "
                    f"weights ({BACKBONE.name} + v0.1 {HEADS.name})"
                )
        self.net.features.load_state_dict(
            {k.removeprefix("features."): v for k, v in feats.items()}
        )
        self.lins.load_state_dict(heads_sd)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        f0 = self.net((x0 - self.shift) / self.scale)
        f1 = self.net((x1 - self.shift) / self.scale)
        total = torch.zeros(x0.shape[0], dtype=x0.dtype, device=x0.device)
        for a, b, lin in zip(f0, f1, self.lins, strict=True):
            na = a / (a.square().sum(dim=1, keepdim=True).sqrt() + NORM_EPS)
            nb = b / (b.square().sum(dim=1, keepdim=True).sqrt() + NORM_EPS)
            total = total + lin((na - nb).square()).mean(dim=(1, 2, 3))
        return total


def find_lpips_heads(path: str | Path | None = None) -> Path:
    """The v0.1 AlexNet heads file: ``path``, else the ``lpips`` package's copy, else the search dirs.

    Raises:
        WeightsError: none found, or a file with the wrong sha256.
    """
    if path is None:
        spec = importlib.util.find_spec("lpips")  # locates the package without importing it
        for root in (spec.submodule_search_locations or []) if spec else []:
            candidate = Path(root) / "weights" / "v0.1" / HEADS.name
            if candidate.is_file():
                return find_weights(HEADS, candidate)
    return find_weights(HEADS, path)


def load_lpips_alex(
    backbone: str | Path | None = None,
    heads: str | Path | None = None,
    device: str | torch.device = "cpu",
    *,
    check: bool = True,
) -> tuple[LPIPS, dict[str, str]]:
    """LPIPS-alex with real weights, and ``{"backbone_sha256", "heads_sha256"}``.

    Args:
        backbone: ``alexnet-owt-7be5be79.pth`` or a folder holding it (``None``: search dirs).
        heads: the v0.1 ``alex.pth`` (``None``: :func:`find_lpips_heads`).
        check: verify sha256 prefixes.

    Raises:
        WeightsError: a file missing, with a wrong hash, or of another model.
    """
    bpath = find_weights(BACKBONE, backbone, check=check)
    hpath = find_lpips_heads(heads) if check else find_weights(HEADS, heads, check=False)
    model = LPIPS()
    model.load(
        load_state_dict(BACKBONE, bpath, check=False),
        load_state_dict(HEADS, hpath, check=False),
        f"{bpath} + {hpath}",
    )
    return model.to(device), {
        "backbone_sha256": file_sha256(bpath),
        "heads_sha256": file_sha256(hpath),
    }


def lpips_preset(model: LPIPS, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The ``lpips_alex`` preset on ``(B, 3, H, W)`` uint8 batches: ``(B,)`` float32 distances.

    Images go to ``model``'s device as ``x / 127.5 − 1``, unpadded.
    """
    if pred.shape != target.shape or pred.dtype != torch.uint8 or target.dtype != torch.uint8:
        raise ValueError(
            f"expected two uint8 batches of one shape, got {pred.dtype} {tuple(pred.shape)}, "
            f"{target.dtype} {tuple(target.shape)}"
        )
    dev = model.shift.device
    with torch.inference_mode():
        p = pred.to(dev).float() / HALF_UINT8 - 1.0
        t = target.to(dev).float() / HALF_UINT8 - 1.0
        dist: torch.Tensor = model(p, t)
    return dist.cpu()
