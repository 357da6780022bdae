"""Inception-v3 feature extractors for FID, with the state-dict key names of the files users have.

Two variants share one layout (torchvision's ``Inception3``: stem convs, Mixed_5b … Mixed_7c, global
average pool → 2048-d "pool3" features):

- :class:`FIDInceptionV3`, the TF-FID network (``fid_tf``): the layout of pytorch-fid's
  ``fid_inception_v3()`` (torchvision's blocks patched as ``FIDInceptionA/C/E_1/E_2``: average pools
  that ignore the zero padding, and a 3×3 *max* pool in the last block's pool branch), 1008 classes,
  no auxiliary head: 566 state-dict keys, the keys of ``pt_inception-2015-12-05-6726825d.pth``.
  Input: ``(B, 3, H, W)`` **uint8** RGB, resized to 299×299 with TensorFlow 1.x's bilinear rule
  (:func:`tf1_resize_bilinear`), scaled as ``(x − 128) / 128`` (torch-fidelity's semantics).
- :class:`TorchvisionInceptionV3`, torchvision's ImageNet network as the legacy GFLA/DPTN FID used it
  (``fid_legacy_gfla``): 1000 classes with the auxiliary head, 580 keys, the keys of
  ``inception_v3_google-0cc3c7bd.pth``. Input: ``(B, 3, H, W)`` float RGB in [0, 1], resized with
  PyTorch's plain bilinear rule (``align_corners=False``, no antialias), then the pre-2019
  pytorch-fid normalisation ``x · (std / 0.5) + (mean − 0.5) / 0.5`` per channel with the ImageNet
  mean/std (range ≈ [−0.03, 0.43] for the red channel).

The classifier (and auxiliary head) exist only so the files load with ``strict=True``; ``forward``
never runs them. This module never opens files: ``pgdata.metrics`` finds and sha256-checks the
weights (``pgdata.io.weights``) and hands the state dict in. Networks are frozen (eval mode, no
parameter requires a gradient).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FID_INPUT_SIZE",
    "FIDInceptionV3",
    "TorchvisionInceptionV3",
    "tf1_resize_bilinear",
]

FID_INPUT_SIZE = 299
FEATURE_DIM = 2048
_BN_EPS = 0.001  # torchvision's BasicConv2d
_UINT8_CENTRE = 128.0  # TF-FID scaling: (x - 128) / 128
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def tf1_resize_bilinear(x: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    """TensorFlow 1.x ``resize_bilinear`` (``align_corners=False``, no half-pixel centres).

    Output pixel ``i`` samples input coordinate ``i · in / out`` (not ``(i + 0.5) · in / out − 0.5``
    as PyTorch does), linearly between the floor and the next pixel, the last one repeated at the
    edge. Interpolates along the width, then along the height, with torch-fidelity's operation order.

    Args:
        x: ``(B, C, H, W)`` floating tensor.
        size_hw: output ``(H', W')``.

    Returns:
        ``(B, C, H', W')`` of ``x``'s dtype and device.
    """
    if not x.is_floating_point() or x.dim() != 4:
        raise ValueError(f"expected a (B, C, H, W) float tensor, got {x.dtype} {tuple(x.shape)}")

    def grid(n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pos = torch.arange(n_out, dtype=x.dtype, device=x.device) * torch.tensor(
            n_in / n_out, dtype=torch.float32, device=x.device
        )
        lo = pos.long()
        hi = (lo + 1).clamp_max(n_in - 1)
        return lo, hi, pos - lo.to(x.dtype)

    ylo, yhi, dy = grid(x.shape[2], size_hw[0])
    xlo, xhi, dx = grid(x.shape[3], size_hw[1])
    left = x.index_select(3, xlo)
    rows = left + (x.index_select(3, xhi) - left) * dx
    top = rows.index_select(2, ylo)
    return top + (rows.index_select(2, yhi) - top) * dy.view(-1, 1)


class BasicConv2d(nn.Module):
    """Conv (no bias) → BatchNorm (eps 0.001) → ReLU; keys ``conv.*``, ``bn.*``."""

    def __init__(self, cin: int, cout: int, **conv: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **conv)  # type: ignore[arg-type]
        self.bn = nn.BatchNorm2d(cout, eps=_BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg3(x: torch.Tensor, include_pad: bool) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=include_pad)


class InceptionA(nn.Module):
    """Mixed_5b/c/d: 1×1 | 5×5 | double 3×3 | pool → 1×1 branches (64 + 64 + 96 + ``pool``)."""

    def __init__(self, cin: int, pool_features: int, include_pad: bool) -> None:
        super().__init__()
        self.include_pad = include_pad
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg3(x, self.include_pad))
        return torch.cat([self.branch1x1(x), b5, b3, bp], 1)


class InceptionB(nn.Module):
    """Mixed_6a (grid reduction 35 → 17): strided 3×3 | double 3×3 | max pool."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    """Mixed_6b–6e: factorised 7×7 branches of width ``c7``, 4 × 192 output channels."""

    def __init__(self, cin: int, c7: int, include_pad: bool) -> None:
        super().__init__()
        self.include_pad = include_pad
        row, col = (
            {"kernel_size": (1, 7), "padding": (0, 3)},
            {"kernel_size": (7, 1), "padding": (3, 0)},
        )
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, **row)
        self.branch7x7_3 = BasicConv2d(c7, 192, **col)
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, **row)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, **row)
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            d = layer(d)
        bp = self.branch_pool(_avg3(x, self.include_pad))
        return torch.cat([self.branch1x1(x), b7, d, bp], 1)


class InceptionD(nn.Module):
    """Mixed_7a (grid reduction 17 → 8): 1×1 → strided 3×3 | 1×1 → 1×7 → 7×1 → strided 3×3 | max pool."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """Mixed_7b/7c: 1×1 | 3×3 split into 1×3 and 3×1 | double 3×3 split | pool (2048 channels).

    ``pool``: ``"avg"`` (torchvision), ``"avg_nopad"`` (TF-FID Mixed_7b) or ``"max"`` (TF-FID Mixed_7c).
    """

    def __init__(self, cin: int, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        if self.pool == "max":
            p = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            p = _avg3(x, include_pad=self.pool == "avg")
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(p)], 1)


class InceptionAux(nn.Module):
    """torchvision's auxiliary classifier (keys ``AuxLogits.*``); loaded, never run here."""

    def __init__(self, cin: int, num_classes: int) -> None:
        super().__init__()
        self.conv0 = BasicConv2d(cin, 128, kernel_size=1)
        self.conv1 = BasicConv2d(128, 768, kernel_size=5)
        self.fc = nn.Linear(768, num_classes)


class _InceptionV3(nn.Module):
    """The shared layout; ``features`` maps a preprocessed ``(B, 3, 299, 299)`` batch to ``(B, 2048)``."""

    def __init__(self, *, num_classes: int, aux_logits: bool, fid_blocks: bool) -> None:
        super().__init__()
        pad = not fid_blocks  # TF's average pool ignores the zero padding
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, 32, pad)
        self.Mixed_5c = InceptionA(256, 64, pad)
        self.Mixed_5d = InceptionA(288, 64, pad)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128, pad)
        self.Mixed_6c = InceptionC(768, 160, pad)
        self.Mixed_6d = InceptionC(768, 160, pad)
        self.Mixed_6e = InceptionC(768, 192, pad)
        if aux_logits:
            self.AuxLogits = InceptionAux(768, num_classes)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, "avg_nopad" if fid_blocks else "avg")
        self.Mixed_7c = InceptionE(2048, "max" if fid_blocks else "avg")
        self.fc = nn.Linear(FEATURE_DIM, num_classes)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> _InceptionV3:
        """Stays in eval mode whatever ``mode`` is (a frozen feature extractor)."""
        return super().train(False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 299, 299)`` preprocessed float → ``(B, 2048)`` pool3 features (after ReLU, ≥ 0)."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
        ):
            x = block(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


class FIDInceptionV3(_InceptionV3):
    """TF-FID Inception (pytorch-fid / torch-fidelity layout, 1008 classes, no auxiliary head).

    ``forward(x)``: ``x`` ``(B, 3, H, W)`` uint8 RGB → ``(B, 2048)`` float32 features. Any ``H, W``:
    the TF1 bilinear resize brings it to 299×299 first.
    """

    NUM_CLASSES = 1008

    def __init__(self) -> None:
        super().__init__(num_classes=self.NUM_CLASSES, aux_logits=False, fid_blocks=True)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, 3, H, W)`` → TF1 resize to 299 → ``(x − 128) / 128`` float32."""
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) uint8 RGB, got {x.dtype} {tuple(x.shape)}")
        x = tf1_resize_bilinear(x.float(), (FID_INPUT_SIZE, FID_INPUT_SIZE))
        return (x - _UINT8_CENTRE) / _UINT8_CENTRE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.preprocess(x))


class TorchvisionInceptionV3(_InceptionV3):
    """torchvision's ImageNet Inception-v3 (1000 classes + auxiliary head), legacy FID preprocessing.

    ``forward(x)``: ``x`` ``(B, 3, H, W)`` float RGB in [0, 1] → ``(B, 2048)`` features.
    """

    NUM_CLASSES = 1000
    scale: torch.Tensor  # (1, 3, 1, 1) std / 0.5, non-persistent
    shift: torch.Tensor  # (1, 3, 1, 1) (mean - 0.5) / 0.5

    def __init__(self) -> None:
        super().__init__(num_classes=self.NUM_CLASSES, aux_logits=True, fid_blocks=False)
        # computed in float64 like the reference's Python constants, then rounded once
        std = torch.tensor(_IMAGENET_STD, dtype=torch.float64)
        mean = torch.tensor(_IMAGENET_MEAN, dtype=torch.float64)
        self.register_buffer("scale", (std / 0.5).float().view(1, 3, 1, 1), persistent=False)
        self.register_buffer(
            "shift", ((mean - 0.5) / 0.5).float().view(1, 3, 1, 1), persistent=False
        )

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] float ``(B, 3, H, W)`` → bilinear resize to 299 → old pytorch-fid normalisation."""
        if not x.is_floating_point() or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) float RGB, got {x.dtype} {tuple(x.shape)}")
        size = (FID_INPUT_SIZE, FID_INPUT_SIZE)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x * self.scale + self.shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.preprocess(x))
