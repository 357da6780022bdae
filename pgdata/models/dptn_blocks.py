"""Convolutional blocks of DPTN's generator and discriminator.

Layer order, kernel sizes and biases follow the official code (PangzeCheung/Dual-task-Pose-Transformer-Network,
``models/base_function.py``), so parameter counts match it exactly; the attribute names are pgdata's own.
"Pre-activation" means norm, LeakyReLU, conv. Every conv has a bias. Shapes are ``(B, C, H, W)``.

Parameter counts at DPTN's widths (see ``docs`` / the tests): ``EncoderStem`` 39→64 77,056;
``EncoderBlock`` 64→128 279,168 and 128→256 1,115,392; ``ResBlock`` 256 1,246,976; ``DecoderBlock``
256→128 738,432, 128→64 184,896, 64→64 111,040; ``OutputBlock`` 64→3 1,731; D ``DiscStem`` 3→32
17,440, ``DiscBlock`` 32→64 44,192, 64→128 176,448, 128→128 426,368.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = [
    "DecoderBlock",
    "DiscBlock",
    "DiscStem",
    "EncoderBlock",
    "EncoderStem",
    "NormKind",
    "OutputBlock",
    "ResBlock",
    "norm2d",
]

NormKind = Literal["instance", "batch"]


def norm2d(kind: NormKind, channels: int) -> nn.Module:
    """DPTN's 2-D norm: affine InstanceNorm2d (the default) or BatchNorm2d (``--norm batch``)."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.BatchNorm2d(channels)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    """Biased conv; kernel 4 stride 2 pads 1 (halves H, W), odd kernels pad ``kernel // 2``."""
    padding = 1 if kernel == 4 else kernel // 2
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding)


def _up(cin: int, cout: int) -> nn.ConvTranspose2d:
    """Transposed conv 3×3, stride 2, padding 1, output padding 1: doubles H and W exactly."""
    return nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)


class EncoderStem(nn.Module):
    """First encoder block: Conv4 s2 · norm · act · Conv3 (no skip). ``(B, cin, H, W) → (B, cout, H/2, W/2)``."""

    def __init__(self, cin: int, cout: int, norm: NormKind, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(cin, cout, 4, 2), norm2d(norm, cout), nn.LeakyReLU(slope), _conv(cout, cout, 3)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # type: ignore[no-any-return]


class EncoderBlock(nn.Module):
    """Pre-activation Conv4 s2 then pre-activation Conv3, no skip. ``(B, cin, H, W) → (B, cout, H/2, W/2)``."""

    def __init__(self, cin: int, cout: int, norm: NormKind, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            norm2d(norm, cin),
            nn.LeakyReLU(slope),
            _conv(cin, cout, 4, 2),
            norm2d(norm, cout),
            nn.LeakyReLU(slope),
            _conv(cout, cout, 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # type: ignore[no-any-return]


class ResBlock(nn.Module):
    """Two pre-activation Conv3 plus a biased 1×1 conv shortcut (not identity). Shape-preserving."""

    def __init__(self, channels: int, norm: NormKind, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            norm2d(norm, channels),
            nn.LeakyReLU(slope),
            _conv(channels, channels, 3),
            norm2d(norm, channels),
            nn.LeakyReLU(slope),
            _conv(channels, channels, 3),
        )
        self.shortcut = _conv(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)  # type: ignore[no-any-return]


class DecoderBlock(nn.Module):
    """Pre-activation Conv3 then pre-activation ConvT3 s2; shortcut ConvT3 s2.

    ``(B, cin, H, W) → (B, cout, 2H, 2W)``; the hidden width equals ``cout``.
    """

    def __init__(self, cin: int, cout: int, norm: NormKind, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            norm2d(norm, cin),
            nn.LeakyReLU(slope),
            _conv(cin, cout, 3),
            norm2d(norm, cout),
            nn.LeakyReLU(slope),
            _up(cout, cout),
        )
        self.shortcut = _up(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)  # type: ignore[no-any-return]


class OutputBlock(nn.Module):
    """act · ReflectionPad 1 · Conv3 · tanh (no norm). ``(B, cin, H, W) → (B, cout, H, W)`` in [-1, 1]."""

    def __init__(self, cin: int, cout: int, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LeakyReLU(slope),
            nn.ReflectionPad2d(1),
            nn.Conv2d(cin, cout, 3),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # type: ignore[no-any-return]


class DiscStem(nn.Module):
    """D's first block: Conv3 · act · Conv4 s2, plus AvgPool 2 → 1×1 conv shortcut. No norm.

    ``(B, cin, H, W) → (B, cout, H/2, W/2)``; the hidden width equals ``cout``.
    """

    def __init__(self, cin: int, cout: int, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(cin, cout, 3), nn.LeakyReLU(slope), _conv(cout, cout, 4, 2))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), _conv(cin, cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)  # type: ignore[no-any-return]


class DiscBlock(nn.Module):
    """act · Conv3 (cin→cin) · act · Conv4 s2 (cin→cout), plus AvgPool 2 → 1×1 conv shortcut. No norm.

    ``(B, cin, H, W) → (B, cout, H/2, W/2)``.
    """

    def __init__(self, cin: int, cout: int, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LeakyReLU(slope),
            _conv(cin, cin, 3),
            nn.LeakyReLU(slope),
            _conv(cin, cout, 4, 2),
        )
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), _conv(cin, cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)  # type: ignore[no-any-return]
