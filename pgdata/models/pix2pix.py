"""pix2pix (Isola et al., CVPR 2017): the ``unet_256`` generator and the 70×70 PatchGAN.

Written from ``shared/reference/generators.md`` §4 and the layer order of
junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py`` (``UnetGenerator``,
``UnetSkipConnectionBlock``, ``NLayerDiscriminator``), so counts and parameter order match:

==========================================  ====================  ==========
network                                     batch norm (default)  instance
==========================================  ====================  ==========
``unet_256``, 3 → 3                         54,413,955            54,409,603
``unet_256``, 39 → 3 (pose baseline)        54,450,819            —
PatchGAN, 3 layers, 6 channels in           2,768,705             —
PatchGAN, 3 layers, 42 channels in          2,805,569             —
==========================================  ====================  ==========

U-Net (``num_downs`` 8 = ``unet_256``): eight Conv4 s2 p1 downsamplings 3 → 64 → 128 → 256 →
512 × 5 (1×1 at the innermost for a 256² input), LeakyReLU(0.2) before every down conv but the
outermost, a norm after every down conv but the outermost and innermost. The up path is ReLU ·
ConvT4 s2 p1 · norm, concatenated with the skip, with Dropout(0.5) after the norm of the 3
blocks next to the innermost; the outermost up is ReLU · ConvT4 (biased) → 3 · Tanh. The skip
is ``LeakyReLU(x)``, not ``x``: the reference's in-place LeakyReLU rewrites the block input
before ``cat`` reads it (see :class:`UnetBlock`). Convolutions have no bias under batch norm
(the reference's ``use_bias``); instance norm is ``affine=False``. ``H`` and ``W`` must be
multiples of ``2 ** num_downs`` (256): 256×176 fails with :class:`InputSizeError` (pad the pose
baseline to 256×256).

PatchGAN (``n_layers`` 3): Conv4 s2 → 64 (biased) · LReLU 0.2; Conv4 s2 → 128, s2 → 256,
**s1** → 512 (norm, no bias) · LReLU; Conv4 s1 → 1 (biased). Output ``(B, 1, 30, 30)`` logits at
256² (70×70 receptive field); no sigmoid (the GAN loss uses BCE-with-logits).

Init (``init_weights('normal', 0.02)``): Conv2d / ConvTranspose2d / Linear weights ~ N(0, 0.02),
their biases 0; BatchNorm γ ~ N(1, 0.02), β = 0. Note the reference keeps BN and dropout in
train mode at test time unless ``--eval``; that choice belongs to the caller (``.train()`` /
``.eval()``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from pgdata.errors import ConfigError
from pgdata.models._blocks_gan import (
    NORMS,
    Norm,
    check_choice,
    check_input,
    check_positive,
    init_normal_,
    norm_layer,
)

__all__ = [
    "PatchDiscriminator",
    "Pix2PixConfig",
    "UnetBlock",
    "UnetGenerator",
    "build_pix2pix",
]

DROPOUT_P = 0.5
LEAKY_SLOPE = 0.2
KERNEL = 4
MAX_WIDTH_MULT = 8
MIN_NUM_DOWNS = 5
"""The U-Net's fixed levels: outermost, 64 → 128, 128 → 256, 256 → 512, innermost."""


@dataclass(frozen=True)
class Pix2PixConfig:
    """Network options of pix2pix.

    Attributes:
        input_channels: generator input channels (3; 39 = source + source pose + target pose
            for the pose-transfer baseline).
        output_channels: generated channels (3).
        ngf: generator width at the outermost level (64).
        num_downs: U-Net downsamplings (8 = ``unet_256``; 7 = ``unet_128``); inputs must be
            multiples of ``2 ** num_downs``.
        norm: ``"batch"`` (default) or ``"instance"`` (``affine=False``), both networks.
        dropout: Dropout(0.5) in the 3 blocks next to the innermost (on in the reference).
        ndf: PatchGAN width (64).
        d_layers: PatchGAN stride-2 layers (``n_layers`` 3 = the 70×70 PatchGAN).
    """

    input_channels: int = 3
    output_channels: int = 3
    ngf: int = 64
    num_downs: int = 8
    norm: Norm = "batch"
    dropout: bool = True
    ndf: int = 64
    d_layers: int = 3

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_positive(
            owner,
            input_channels=self.input_channels,
            output_channels=self.output_channels,
            ngf=self.ngf,
            num_downs=self.num_downs,
            ndf=self.ndf,
            d_layers=self.d_layers,
        )
        check_choice(owner, "norm", self.norm, NORMS)
        if self.num_downs < MIN_NUM_DOWNS:
            raise ConfigError(
                f"{owner}.num_downs: must be >= {MIN_NUM_DOWNS}, found {self.num_downs}"
            )

    @property
    def discriminator_channels(self) -> int:
        """PatchGAN input channels: ``cat(generator input, image)`` (6; 42 for the pose baseline)."""
        return self.input_channels + self.output_channels

    @property
    def multiple(self) -> int:
        """``H`` and ``W`` must be multiples of this (256 for ``unet_256``)."""
        return int(2**self.num_downs)


class UnetBlock(nn.Module):
    """One U-Net level.

    Outermost: ``up(inner(down(x)))``. Other levels: ``h = LeakyReLU(x, 0.2)``, then
    ``cat(h, up(inner(down(h))))``. The skip therefore carries ``LeakyReLU(x)``, not ``x``: the
    reference applies an in-place LeakyReLU to its block input before the concatenation reads
    it, and weights trained with it expect that; here it is written out explicitly.

    Args:
        outer: channels of this level's input (and of its up conv's output).
        inner: channels after its down conv.
        norm: the norm kind.
        inner_block: the next level, or ``None`` at the innermost.
        in_channels: input channels of the outermost level (the image); else ``outer``.
        outermost: no activation/norm around the down conv, biased ConvT + Tanh on the way up.
        dropout: Dropout(0.5) after the up norm.
    """

    def __init__(
        self,
        outer: int,
        inner: int,
        norm: Norm,
        *,
        inner_block: UnetBlock | None = None,
        in_channels: int | None = None,
        outermost: bool = False,
        dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        down_in = outer if in_channels is None else in_channels
        down_conv = nn.Conv2d(down_in, inner, KERNEL, stride=2, padding=1, bias=bias)
        layers: list[nn.Module]
        if inner_block is None:  # innermost: no norm at the 1x1 bottleneck
            if outermost:
                raise ValueError("UnetBlock: the outermost level needs an inner_block")
            up_conv = nn.ConvTranspose2d(inner, outer, KERNEL, stride=2, padding=1, bias=bias)
            layers = [down_conv, nn.ReLU(True), up_conv, norm_layer(norm, outer)]
        elif outermost:
            up_conv = nn.ConvTranspose2d(2 * inner, outer, KERNEL, stride=2, padding=1)
            layers = [down_conv, inner_block, nn.ReLU(True), up_conv, nn.Tanh()]
        else:  # the inner level returns cat(h, up) with 2 * inner channels
            up_conv = nn.ConvTranspose2d(2 * inner, outer, KERNEL, stride=2, padding=1, bias=bias)
            layers = [
                down_conv,
                norm_layer(norm, inner),
                inner_block,
                nn.ReLU(True),
                up_conv,
                norm_layer(norm, outer),
            ]
            if dropout:
                layers.append(nn.Dropout(DROPOUT_P))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            out: torch.Tensor = self.model(x)
            return out
        h = F.leaky_relu(x, LEAKY_SLOPE)
        return torch.cat([h, self.model(h)], dim=1)


class UnetGenerator(nn.Module):
    """pix2pix U-Net: ``forward(x) -> out``.

    Args of forward:
        x: ``(B, input_channels, H, W)`` float in [-1, 1] (heatmap channels in [0, 1]); ``H`` and
            ``W`` multiples of ``2 ** num_downs`` (256 for ``unet_256``).

    Returns:
        ``(B, output_channels, H, W)`` float in [-1, 1].

    Raises:
        InputSizeError: wrong channels or a size that is not a multiple of 256 (e.g. 256×176).
    """

    def __init__(self, cfg: Pix2PixConfig) -> None:
        super().__init__()
        self.cfg = cfg
        ngf, norm = cfg.ngf, cfg.norm
        widest = ngf * MAX_WIDTH_MULT
        block = UnetBlock(widest, widest, norm)  # innermost
        for _ in range(cfg.num_downs - MIN_NUM_DOWNS):
            block = UnetBlock(widest, widest, norm, inner_block=block, dropout=cfg.dropout)
        block = UnetBlock(ngf * 4, widest, norm, inner_block=block)
        block = UnetBlock(ngf * 2, ngf * 4, norm, inner_block=block)
        block = UnetBlock(ngf, ngf * 2, norm, inner_block=block)
        self.model = UnetBlock(
            cfg.output_channels,
            ngf,
            norm,
            inner_block=block,
            in_channels=cfg.input_channels,
            outermost=True,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        check_input(
            f"UnetGenerator (unet_{cfg.multiple})",
            "x",
            x,
            cfg.input_channels,
            multiple=cfg.multiple,
            fix=f"{cfg.num_downs} stride-2 convolutions need multiples of {cfg.multiple}: "
            f"pad or resize (e.g. 256x176 -> pad to 256x256)",
        )
        out: torch.Tensor = self.model(x)
        return out


class PatchDiscriminator(nn.Module):
    """The PatchGAN (``NLayerDiscriminator``): ``forward(x) -> logits``.

    Args of forward:
        x: ``(B, input_channels + output_channels, H, W)``: ``cat(G input, real or fake image)``.

    Returns:
        ``(B, 1, h, w)`` float logits, ``30×30`` at 256² for ``d_layers`` 3.
    """

    def __init__(self, cfg: Pix2PixConfig) -> None:
        super().__init__()
        self.in_channels = cfg.discriminator_channels
        ndf, norm = cfg.ndf, cfg.norm
        bias = norm == "instance"
        layers: list[nn.Module] = [
            nn.Conv2d(self.in_channels, ndf, KERNEL, stride=2, padding=1),
            nn.LeakyReLU(LEAKY_SLOPE, True),
        ]
        width = ndf
        for n in range(1, cfg.d_layers + 1):
            stride = 2 if n < cfg.d_layers else 1  # the last feature layer keeps the resolution
            new = ndf * min(2**n, MAX_WIDTH_MULT)
            layers += [
                nn.Conv2d(width, new, KERNEL, stride=stride, padding=1, bias=bias),
                norm_layer(norm, new),
                nn.LeakyReLU(LEAKY_SLOPE, True),
            ]
            width = new
        layers.append(nn.Conv2d(width, 1, KERNEL, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(
            "PatchDiscriminator",
            "x",
            x,
            self.in_channels,
            fix="give cat(generator input, image) along channels",
        )
        out: torch.Tensor = self.model(x)
        return out


def build_pix2pix(cfg: Pix2PixConfig) -> tuple[UnetGenerator, PatchDiscriminator]:
    """Build and initialise ``(G, D)`` as ``init_net(..., 'normal', 0.02)``.

    Conv2d / ConvTranspose2d / Linear weights ~ N(0, 0.02), biases 0; BatchNorm γ ~ N(1, 0.02),
    β = 0. Draws from torch's global RNG: seed it first for reproducible weights.
    """
    g, d = UnetGenerator(cfg), PatchDiscriminator(cfg)
    for net in (g, d):
        init_normal_(net, layer_types=(nn.Conv2d, nn.ConvTranspose2d, nn.Linear), zero_bias=True)
    return g, d
