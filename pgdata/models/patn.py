"""PATN: Progressive Pose Attention Transfer (Zhu et al., CVPR 2019).

Written from the description in ``shared/reference/generators.md`` §3 and the layer order of
tengteng95/Pose-Transfer ``models/model_variants.py`` / ``models/networks.py`` (master 281ee2d),
so the parameter counts and the order of the parameters equal the official ones:

======================  =======================  ===================
part                    instance norm (default)  batch norm (Market)
======================  =======================  ===================
generator               41,358,019               41,365,763
D_PB (image + BP2, 21)  3,975,424                —
D_PP (image + P1, 6)    3,928,384                —
======================  =======================  ===================

Generator (``ngf`` 64, 2 downsamplings, 9 Pose-Attentional Transfer Blocks, reflection padding):

* image stream ``(B, 3, H, W)`` and pose stream ``(B, 36, H, W)`` (``cat(BP1, BP2)``, source
  then target heatmaps) are each encoded by ReflPad3 · Conv7 → 64 · norm · ReLU, then 2 ×
  [Conv3 s2 · norm · ReLU] to ``(B, 256, H/4, W/4)`` (378,496 and 481,984 parameters).
* PATB ``i``: ``a = pose_branch(p)`` (Conv3 · norm · ReLU · [Dropout] · Conv3, no norm after the
  last conv), ``x ← x + image_branch(x) · sigmoid(a)``, ``p ← cat(a, x)`` (logits first). The
  first block's pose branch takes 256 channels (2,360,320 parameters); blocks 2–9 take 512
  (4,719,872 each).
* decoder: 2 × [ConvT3 s2 op1 · norm · ReLU], ReflPad3 · Conv7 64 → 3 (always biased) · Tanh
  (378,243). ``H`` and ``W`` must be multiples of 4; native size 256×176 (124 GMAC).

Convolutions carry a bias exactly when the norm is instance norm (the reference's ``use_bias``);
instance norm has no affine parameters. Dropout(0.5) sits after the first ReLU of every branch
and of every discriminator ResBlock when enabled (the reference default).

Discriminators (``ResnetDiscriminator``, ``ndf`` 64): the generator's stem and downsampling, then
3 ResBlocks with dropout, **no 1-channel head**: the ``(B, 256, H/4, W/4)`` map itself is the
logit (256×64×44 at 256×176). D_PB sees ``cat(image, BP2)``, D_PP ``cat(image, P1)``. PATN's
Market recipe (``--no_lsgan``) appends a Sigmoid and uses BCE; here the discriminator always
returns logits and :func:`pgdata.training.losses_gan.gan_loss` with ``mode="vanilla"`` applies
BCE-with-logits, which is the same function computed stably.

Initialisation: the generator's conv weights ~ N(0, 0.02), biases left at PyTorch's default,
BatchNorm γ ~ N(1, 0.02), β = 0 (``weights_init_normal``). The discriminators keep PyTorch's
default init: the reference's ``define_D`` never calls ``init_weights``.

Pose maps (decided on the data side, not here): the recipe key ``pose_maps = "gaussian" |
"patn_uint8"`` selects what the 18 + 18 pose channels hold. ``"gaussian"`` (default) feeds real
float Gaussians (σ = 6, peak 1, as DPTN). ``"patn_uint8"`` reproduces PATN's released maps,
which ``tool/generate_pose_map_fashion.py`` stored as uint8 so each channel is a single-pixel
one-hot at the joint (``render_heatmaps(..., patn_uint8_quirk=True)`` in
``pgdata.stages.heatmaps``); use it only to compare exactly with PATN's published numbers. The
network is the same for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pgdata.models._blocks_gan import (
    NORMS,
    InputSizeError,
    Norm,
    check_choice,
    check_input,
    check_positive,
    init_normal_,
    norm_layer,
)

__all__ = [
    "PATNBlock",
    "PATNConfig",
    "PATNDiscriminator",
    "PATNGenerator",
    "build_patn",
]

DROPOUT_P = 0.5
STEM_KERNEL = 7
N_DOWNSAMPLING = 2


@dataclass(frozen=True)
class PATNConfig:
    """Network options of PATN (the training recipe's losses and schedule live elsewhere).

    Attributes:
        image_channels: channels of the source / target image (3, RGB in [-1, 1]).
        pose_channels: heatmap channels of **one** pose (18 COCO joints); the generator's pose
            stream takes ``2 * pose_channels`` (source and target maps concatenated).
        output_channels: generated image channels (3).
        ngf: generator width at full resolution (64).
        n_blocks: Pose-Attentional Transfer Blocks (9; hard-coded in the reference).
        norm: ``"instance"`` (DeepFashion) or ``"batch"`` (Market-1501).
        dropout: Dropout(0.5) inside every PATB branch (on in the reference).
        ndf: discriminator width (64).
        d_blocks: discriminator ResBlocks (``--n_layers_D``, 3).
        d_dropout: Dropout(0.5) in the discriminator ResBlocks (on in the reference).
        d_norm: discriminator norm; ``None`` means the same as ``norm`` (the reference uses one
            ``--norm`` for both).
    """

    image_channels: int = 3
    pose_channels: int = 18
    output_channels: int = 3
    ngf: int = 64
    n_blocks: int = 9
    norm: Norm = "instance"
    dropout: bool = True
    ndf: int = 64
    d_blocks: int = 3
    d_dropout: bool = True
    d_norm: Norm | None = None

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_positive(
            owner,
            image_channels=self.image_channels,
            pose_channels=self.pose_channels,
            output_channels=self.output_channels,
            ngf=self.ngf,
            n_blocks=self.n_blocks,
            ndf=self.ndf,
            d_blocks=self.d_blocks,
        )
        check_choice(owner, "norm", self.norm, NORMS)
        if self.d_norm is not None:
            check_choice(owner, "d_norm", self.d_norm, NORMS)

    @property
    def discriminator_norm(self) -> Norm:
        """The norm the discriminators use (``d_norm``, else ``norm``)."""
        return self.norm if self.d_norm is None else self.d_norm


def _encoder(in_channels: int, ngf: int, norm: Norm) -> list[nn.Module]:
    """ReflPad3 · Conv7 → ngf · norm · ReLU, then 2 × [Conv3 s2 · norm · ReLU] doubling width."""
    bias = norm == "instance"
    layers: list[nn.Module] = [
        nn.ReflectionPad2d(STEM_KERNEL // 2),
        nn.Conv2d(in_channels, ngf, STEM_KERNEL, bias=bias),
        norm_layer(norm, ngf),
        nn.ReLU(True),
    ]
    width = ngf
    for _ in range(N_DOWNSAMPLING):
        layers += [
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=bias),
            norm_layer(norm, 2 * width),
            nn.ReLU(True),
        ]
        width *= 2
    return layers


def _branch(
    in_channels: int, out_channels: int, norm: Norm, dropout: bool, *, final_norm: bool
) -> nn.Sequential:
    """ReflPad1 · Conv3 in→in · norm · ReLU · [Dropout] · ReflPad1 · Conv3 in→out · [norm]."""
    bias = norm == "instance"
    layers: list[nn.Module] = [
        nn.ReflectionPad2d(1),
        nn.Conv2d(in_channels, in_channels, 3, bias=bias),
        norm_layer(norm, in_channels),
        nn.ReLU(True),
    ]
    if dropout:
        layers.append(nn.Dropout(DROPOUT_P))
    layers += [nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3, bias=bias)]
    if final_norm:
        layers.append(norm_layer(norm, out_channels))
    return nn.Sequential(*layers)


class PATNBlock(nn.Module):
    """One Pose-Attentional Transfer Block at width ``dim``.

    ``forward(x, p)``: ``x`` image features ``(B, dim, h, w)``; ``p`` pose features
    ``(B, dim, h, w)`` for the first block, ``(B, 2 dim, h, w)`` after. Returns
    ``(x + image_branch(x) * sigmoid(a), cat(a, x_new))`` with ``a = pose_branch(p)``.
    """

    def __init__(self, dim: int, norm: Norm, dropout: bool, *, first: bool) -> None:
        super().__init__()
        pose_in = dim if first else 2 * dim
        self.image_branch = _branch(dim, dim, norm, dropout, final_norm=True)
        self.pose_branch = _branch(pose_in, dim, norm, dropout, final_norm=False)

    def forward(self, x: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a: torch.Tensor = self.pose_branch(p)  # (B, dim, h, w) attention logits
        x = x + self.image_branch(x) * torch.sigmoid(a)
        return x, torch.cat([a, x], dim=1)  # logits first, as the reference


class PATNGenerator(nn.Module):
    """PATN generator: ``forward(src_img, pose_cat) -> out``.

    Args of forward:
        src_img: ``(B, image_channels, H, W)`` float source image in [-1, 1].
        pose_cat: ``(B, 2 * pose_channels, H, W)`` float ``cat(BP1, BP2)`` heatmaps in [0, 1].

    Returns:
        ``(B, output_channels, H, W)`` float in [-1, 1] (Tanh). ``H`` and ``W`` must be multiples
        of 4 (native 256×176); anything else raises :class:`InputSizeError`.
    """

    def __init__(self, cfg: PATNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        norm, ngf = cfg.norm, cfg.ngf
        width = ngf * 2**N_DOWNSAMPLING
        self.image_down = nn.Sequential(*_encoder(cfg.image_channels, ngf, norm))
        self.pose_down = nn.Sequential(*_encoder(2 * cfg.pose_channels, ngf, norm))
        self.blocks = nn.ModuleList(
            PATNBlock(width, norm, cfg.dropout, first=i == 0) for i in range(cfg.n_blocks)
        )
        bias = norm == "instance"
        up: list[nn.Module] = []
        for _ in range(N_DOWNSAMPLING):
            up += [
                nn.ConvTranspose2d(
                    width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=bias
                ),
                norm_layer(norm, width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        up += [
            nn.ReflectionPad2d(STEM_KERNEL // 2),
            nn.Conv2d(ngf, cfg.output_channels, STEM_KERNEL),
            nn.Tanh(),
        ]
        self.up = nn.Sequential(*up)

    def forward(self, src_img: torch.Tensor, pose_cat: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        multiple = 2**N_DOWNSAMPLING
        fix = "resize or pad to a multiple of 4 (PATN's native size is 256x176)"
        check_input(
            "PATNGenerator", "src_img", src_img, cfg.image_channels, multiple=multiple, fix=fix
        )
        check_input(
            "PATNGenerator", "pose_cat", pose_cat, 2 * cfg.pose_channels, multiple=multiple, fix=fix
        )
        if src_img.shape[0] != pose_cat.shape[0] or src_img.shape[2:] != pose_cat.shape[2:]:
            raise InputSizeError(
                f"PATNGenerator: src_img {tuple(src_img.shape)} and pose_cat "
                f"{tuple(pose_cat.shape)} must share batch size, height and width"
            )
        x = self.image_down(src_img)  # (B, 256, H/4, W/4)
        p = self.pose_down(pose_cat)  # (B, 256, H/4, W/4)
        for block in self.blocks:
            x, p = block(x, p)
        out: torch.Tensor = self.up(x)  # (B, 3, H, W)
        return out


class _ResBlock(nn.Module):
    """``x + [ReflPad1 · Conv3 · norm · ReLU · [Dropout] · ReflPad1 · Conv3 · norm](x)``."""

    def __init__(self, dim: int, norm: Norm, dropout: bool) -> None:
        super().__init__()
        self.body = _branch(dim, dim, norm, dropout, final_norm=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x + self.body(x)
        return out


class PATNDiscriminator(nn.Module):
    """PATN's ``ResnetDiscriminator``: ``forward(x) -> logits``.

    Args of forward:
        x: ``(B, in_channels, H, W)``: ``cat(image, BP2)`` (21 channels) for D_PB or
            ``cat(image, P1)`` (6) for D_PP; images in [-1, 1]. ``H``, ``W`` multiples of 4.

    Returns:
        ``(B, 4 ndf, H/4, W/4)`` float logits (256×64×44 at 256×176); no head, no sigmoid.
    """

    def __init__(self, cfg: PATNConfig, in_channels: int) -> None:
        super().__init__()
        check_positive(type(self).__name__, in_channels=in_channels)
        self.in_channels = in_channels
        norm = cfg.discriminator_norm
        width = cfg.ndf * 2**N_DOWNSAMPLING
        layers = _encoder(in_channels, cfg.ndf, norm)
        layers += [_ResBlock(width, norm, cfg.d_dropout) for _ in range(cfg.d_blocks)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(
            "PATNDiscriminator",
            "x",
            x,
            self.in_channels,
            multiple=2**N_DOWNSAMPLING,
            fix="give cat(image, BP2) to D_PB or cat(image, P1) to D_PP at a multiple of 4",
        )
        out: torch.Tensor = self.model(x)
        return out


def build_patn(cfg: PATNConfig) -> tuple[PATNGenerator, PATNDiscriminator, PATNDiscriminator]:
    """Build and initialise ``(G, D_PB, D_PP)`` as the reference does.

    G's Conv2d / ConvTranspose2d weights ~ N(0, 0.02) (biases at PyTorch's default), BatchNorm
    γ ~ N(1, 0.02), β = 0. D_PB takes ``image_channels + pose_channels`` (21), D_PP
    ``2 * image_channels`` (6); both keep PyTorch's default init (the reference never
    initialises them). Draws from torch's global RNG: seed it first for reproducible weights.
    """
    g = PATNGenerator(cfg)
    init_normal_(g, layer_types=(nn.Conv2d, nn.ConvTranspose2d), zero_bias=False)
    d_pb = PATNDiscriminator(cfg, cfg.image_channels + cfg.pose_channels)
    d_pp = PATNDiscriminator(cfg, 2 * cfg.image_channels)
    return g, d_pb, d_pp
