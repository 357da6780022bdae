"""DPTN (Dual-task Pose Transformer Network, CVPR 2022), its MBConv teacher and 1 CAB + 1 TTB student.

Wiring, widths, init and parameter counts follow the official code (PangzeCheung/Dual-task-Pose-
Transformer-Network, ``models/networks.py``, ``PTM.py``, ``base_function.py``); module names are
pgdata's own. With :class:`DPTNConfig` defaults (DeepFashion) the generator has **9,794,371**
parameters and the 4-layer discriminator **664,577** (3 layers, Market-1501: 238,209).

Generator (``(B, C, H, W)`` tensors; images in [-1, 1], pose = 18 heatmaps in [0, 1]):

    En_c  = content_encoder: stem Conv4 s2 (3+18+18 → 64) · 2 EncoderBlocks (→128 →256), H/8 × W/8
    blocks: 3 ResBlocks (1×1-conv shortcut) or, for the teacher, MBConv (identity skip); shared by both branches
    F_ss = blocks(En_c(cat[Xs, Ps, Ps]))      s→s (self-reconstruction) features
    F_st = blocks(En_c(cat[Xs, Ps, Pt]))      s→t features
    F_s  = source_encoder(Xs)                 En_s: same layout, 3 channels in, own weights
    out_t = output(decoder(PTM(F_ss, F_st, F_s)))
    out_s = output(decoder(F_ss))             training only (``with_source=True``); same decoder

Teacher and student. The teacher swaps the three ResBlocks (1,246,976 each) for MBConv blocks
(``block="mbconv"``: expand e, depthwise k, squeeze-excitation s; see :mod:`pgdata.models.mbconv`).
The default e5, k3, SE 64 gives **8,566,531** parameters; the student keeps 1 CAB + 1 TTB of the
teacher's PTM: 8,566,531 − 395,776 − 659,456 = **7,511,299**. The study's teacher figure of 8.520 M
(student 7.464 M) is *not reachable with a standard MBConv*: it needs ≈ 822 k parameters per
block, i.e. a hidden width of ≈ 1256 under ``P = 654·h + 576`` (not a multiple of 256), or a
contrived block (e5, SE 32, BN only after expand and depthwise, one conv bias, unbiased 1×1
shortcut). pgdata uses the standard block and reports its real counts. DPTN with the original
ResBlocks and 1 CAB + 1 TTB has 8,739,139.

Resolution. Any ``H, W`` divisible by ``2**n_downs`` (8) works natively (256×176 for DeepFashion:
704 PTM tokens). ``resize_to=(256, 256)`` reproduces DPTN's quirk: its dataset stretches the
176×256 photos to 256×256 and its test script resizes the outputs back with ``cv2.resize``. Here,
when the input size differs from ``resize_to``:

- images are stretched to ``resize_to`` with bilinear interpolation (half-pixel centres, no
  antialias: what PIL's bilinear upscale does);
- pose heatmaps already of size ``resize_to`` are used as they are (DPTN renders σ = 6 px
  Gaussians at 256×256 from rescaled keypoints: render them that way for an exact reproduction);
  heatmaps of the input size are stretched like the images (their Gaussians become elliptical);
- with ``resize_back=True`` (default) both outputs are resized back to the input size, bilinear
  without antialias (``cv2.INTER_LINEAR``); with ``resize_back=False`` they stay at ``resize_to``,
  which is how DPTN trains (losses and D at 256×256 against stretched targets: stretch them with
  :func:`resize_bilinear`).

Init (``init_dptn_weights_``): orthogonal with gain 0.02 on every Conv/ConvTranspose/Linear weight
(attention output projections included), biases 0; BatchNorm2d weight N(1, 0.02), bias 0; the
attention input projections keep Xavier-uniform; other norms weight 1, bias 0. Spectral norm on
every D conv (``torch.nn.utils.parametrizations``), none in G.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from pgdata.models.dptn_blocks import (
    DecoderBlock,
    DiscBlock,
    DiscStem,
    EncoderBlock,
    EncoderStem,
    NormKind,
    OutputBlock,
    ResBlock,
)
from pgdata.models.mbconv import MBConv
from pgdata.models.ptm import PTM

__all__ = [
    "PRESETS",
    "DPTNConfig",
    "DPTNGenerator",
    "Encoder",
    "ResDiscriminator",
    "build_discriminator",
    "build_dptn",
    "build_generator",
    "init_dptn_weights_",
    "resize_bilinear",
]

BN_INIT_STD = 0.02  # BatchNorm2d weight ~ N(1, 0.02), fixed in DPTN's init (not the gain)


@dataclass(frozen=True)
class DPTNConfig:
    """Architecture of a DPTN generator and its discriminator. Defaults = DeepFashion DPTN.

    Attributes:
        image_channels: image channels (3, RGB in [-1, 1]).
        pose_channels: pose heatmap channels (18, COCO-18 / OpenPose order, values in [0, 1]).
        ngf: width of the first encoder level (64).
        max_channels: width cap (DPTN's ``img_f`` = 512, never reached with 3 downs).
        n_downs: stride-2 downsamplings (3 → features at H/8 × W/8); H and W must be multiples of ``2**n_downs``.
        block: middle blocks: ``"res"`` (DPTN ResBlocks) or ``"mbconv"`` (the teacher).
        n_blocks: number of middle blocks (3, hard-coded in DPTN).
        mbconv_expand: MBConv expansion factor (hidden width = expand × d_model).
        mbconv_kernel: MBConv depthwise kernel size (odd).
        mbconv_se: MBConv squeeze-excitation width (0 = no SE; 64 = d_model / 4 at DPTN widths).
        n_cab: Context Augment Blocks in the PTM (2; the student 1).
        n_ttb: Texture Transfer Blocks in the PTM (2; the student 1).
        heads: attention heads (2); must divide d_model. Parameter counts do not depend on it.
        ffn_dim: PTM feed-forward width; ``None`` = d_model (DPTN: 256, not 4×).
        norm: ``"instance"`` (affine IN2d/IN1d, DPTN's default) or ``"batch"``; MBConv always uses BatchNorm2d.
        negative_slope: LeakyReLU slope everywhere (0.1).
        dis_layers: discriminator levels (4 DeepFashion, 3 Market-1501); output is H/2**dis_layers.
        ndf: discriminator base width (32).
        dis_max_channels: discriminator width cap (128).
        resize_to: ``(H, W)`` working size for DPTN's stretch quirk, or ``None`` (native size).
        init_gain: gain of the orthogonal init (0.02).
    """

    image_channels: int = 3
    pose_channels: int = 18
    ngf: int = 64
    max_channels: int = 512
    n_downs: int = 3
    block: Literal["res", "mbconv"] = "res"
    n_blocks: int = 3
    mbconv_expand: int = 5
    mbconv_kernel: int = 3
    mbconv_se: int = 64
    n_cab: int = 2
    n_ttb: int = 2
    heads: int = 2
    ffn_dim: int | None = None
    norm: NormKind = "instance"
    negative_slope: float = 0.1
    dis_layers: int = 4
    ndf: int = 32
    dis_max_channels: int = 128
    resize_to: tuple[int, int] | None = None
    init_gain: float = 0.02

    def __post_init__(self) -> None:
        positive: tuple[str, ...] = (
            "image_channels",
            "pose_channels",
            "ngf",
            "max_channels",
            "n_downs",
            "heads",
        )
        positive += ("mbconv_expand", "mbconv_kernel", "dis_layers", "ndf", "dis_max_channels")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("n_blocks", "n_cab", "n_ttb", "mbconv_se"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.block not in ("res", "mbconv"):
            raise ValueError(f"block must be 'res' or 'mbconv', got {self.block!r}")
        if self.norm not in ("instance", "batch"):
            raise ValueError(f"norm must be 'instance' or 'batch', got {self.norm!r}")
        if self.max_channels < self.ngf or self.dis_max_channels < self.ndf:
            raise ValueError("max_channels must be >= ngf and dis_max_channels >= ndf")
        if self.mbconv_kernel % 2 == 0:
            raise ValueError(f"mbconv_kernel must be odd, got {self.mbconv_kernel}")
        if self.d_model % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide d_model ({self.d_model})")
        if self.ffn_dim is not None and self.ffn_dim < 1:
            raise ValueError(f"ffn_dim must be >= 1 or None, got {self.ffn_dim}")
        if self.resize_to is not None:
            if len(self.resize_to) != 2 or any(s % self.multiple for s in self.resize_to):
                raise ValueError(
                    f"resize_to must be (H, W), multiples of {self.multiple}; got {self.resize_to}"
                )

    @property
    def multiple(self) -> int:
        """H and W of the working size must be multiples of this (``2**n_downs``)."""
        return int(2**self.n_downs)

    @property
    def encoder_widths(self) -> tuple[int, ...]:
        """Output width of each encoder level (DPTN: 64, 128, 256)."""
        cap = self.max_channels // self.ngf
        return tuple(self.ngf * min(2**i, cap) for i in range(self.n_downs))

    @property
    def decoder_widths(self) -> tuple[int, ...]:
        """Output width of each decoder level (DPTN: 128, 64, 64; the last is always ngf)."""
        cap = self.max_channels // self.ngf
        n = self.n_downs
        return tuple(
            self.ngf * min(2 ** (n - i - 2), cap) if i < n - 1 else self.ngf for i in range(n)
        )

    @property
    def d_model(self) -> int:
        """Feature width at H/8 × W/8: the PTM token width (256)."""
        return self.encoder_widths[-1]


PRESETS: dict[str, DPTNConfig] = {
    "dptn": DPTNConfig(),
    "dptn-market": DPTNConfig(dis_layers=3),
    "dptn-1cab-1ttb": DPTNConfig(n_cab=1, n_ttb=1),
    "dptn-teacher": DPTNConfig(block="mbconv"),
    "dptn-student": DPTNConfig(block="mbconv", n_cab=1, n_ttb=1),
}
"""Named architectures: DPTN DeepFashion / Market-1501, 1 CAB + 1 TTB with ResBlocks, teacher, student."""


def resize_bilinear(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``(B, C, H, W)`` to ``size`` = (H', W'), half-pixel centres, no antialias.

    A no-op (the same tensor) when the size already matches.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=False)


def init_dptn_weights_(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """DPTN's init, in place (see the module docstring); returns ``module``.

    Must run before spectral norm is applied (it writes the plain ``weight`` parameters).
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.orthogonal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, BN_INIT_STD)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.MultiheadAttention):
            nn.init.xavier_uniform_(m.in_proj_weight)
            if m.in_proj_bias is not None:
                nn.init.zeros_(m.in_proj_bias)
    return module


class Encoder(nn.Module):
    """Stem + ``n_downs − 1`` EncoderBlocks. ``(B, cin, H, W) → (B, d_model, H/8, W/8)``."""

    def __init__(self, cin: int, cfg: DPTNConfig) -> None:
        super().__init__()
        w = cfg.encoder_widths
        self.stem = EncoderStem(cin, w[0], cfg.norm, cfg.negative_slope)
        self.downs = nn.ModuleList(
            EncoderBlock(a, b, cfg.norm, cfg.negative_slope)
            for a, b in zip(w[:-1], w[1:], strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.downs:
            x = block(x)
        return x


class DPTNGenerator(nn.Module):
    """DPTN generator (or teacher / student, by config), initialised as DPTN does.

    Call ``G(src_img, src_pose, tgt_pose, with_source=..., resize_back=...)``:

    Args:
        src_img: ``(B, 3, H, W)`` source image in [-1, 1].
        src_pose: ``(B, 18, H, W)`` source pose heatmaps in [0, 1] (or ``resize_to``-sized).
        tgt_pose: ``(B, 18, H, W)`` target pose heatmaps, same size as ``src_pose``.
        with_source: also decode the s→s branch (DPTN's ``is_train``; the dual task in training).
        resize_back: with ``resize_to`` set, resize outputs back to ``(H, W)`` (module docstring).

    Returns:
        ``(out_t, out_s)``: ``(B, 3, H, W)`` images in [-1, 1]; ``out_s`` is ``None`` unless
        ``with_source``. (Sizes are ``resize_to`` instead of ``(H, W)`` when ``resize_back=False``.)

    ``DPTNGenerator(cfg, init=False)`` skips DPTN's init (torch defaults): for shape-only uses such
    as counting parameters or loading a state dict right away (also on the ``meta`` device).
    """

    def __init__(self, cfg: DPTNConfig, *, init: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        slope, norm, d = cfg.negative_slope, cfg.norm, cfg.d_model
        self.content_encoder = Encoder(cfg.image_channels + 2 * cfg.pose_channels, cfg)
        blocks: list[nn.Module] = [
            ResBlock(d, norm, slope)
            if cfg.block == "res"
            else MBConv(d, cfg.mbconv_expand, cfg.mbconv_kernel, cfg.mbconv_se)
            for _ in range(cfg.n_blocks)
        ]
        self.blocks = nn.ModuleList(blocks)
        ffn = cfg.ffn_dim if cfg.ffn_dim is not None else d
        self.ptm = PTM(d, cfg.heads, ffn, cfg.n_cab, cfg.n_ttb, norm, slope)
        self.source_encoder = Encoder(cfg.image_channels, cfg)
        widths = (d, *cfg.decoder_widths)
        self.decoder = nn.ModuleList(
            DecoderBlock(a, b, norm, slope) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.output = OutputBlock(cfg.ngf, cfg.image_channels, slope)
        if init:
            init_dptn_weights_(self, cfg.init_gain)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.content_encoder(x)
        for block in self.blocks:
            x = block(x)
        return x

    def _decode(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.decoder:
            x = block(x)
        return self.output(x)  # type: ignore[no-any-return]

    def _working_inputs(
        self, src_img: torch.Tensor, src_pose: torch.Tensor, tgt_pose: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Check shapes and apply ``resize_to``; raise ``ValueError`` naming the bad input."""
        cfg = self.cfg
        if src_img.ndim != 4 or src_img.shape[1] != cfg.image_channels:
            raise ValueError(
                f"src_img must be (B, {cfg.image_channels}, H, W), got {tuple(src_img.shape)}"
            )
        size = (int(src_img.shape[-2]), int(src_img.shape[-1]))  # ints, also when traced
        allowed = {size} if cfg.resize_to is None else {size, tuple(cfg.resize_to)}
        for name, p in (("src_pose", src_pose), ("tgt_pose", tgt_pose)):
            if p.ndim != 4 or p.shape[1] != cfg.pose_channels or p.shape[0] != src_img.shape[0]:
                raise ValueError(
                    f"{name} must be (B, {cfg.pose_channels}, H, W) with B = {src_img.shape[0]}, got {tuple(p.shape)}"
                )
            if (int(p.shape[-2]), int(p.shape[-1])) not in allowed:
                raise ValueError(
                    f"{name} is {tuple(p.shape[-2:])}, expected one of {sorted(allowed)}"
                )
        if cfg.resize_to is not None:
            work = (cfg.resize_to[0], cfg.resize_to[1])
            src_img, src_pose, tgt_pose = (
                resize_bilinear(t, work) for t in (src_img, src_pose, tgt_pose)
            )
        h, w = src_img.shape[-2:]
        if h % cfg.multiple or w % cfg.multiple:
            raise ValueError(f"image size {h}×{w} must be a multiple of {cfg.multiple} in H and W")
        return src_img, src_pose, tgt_pose

    def forward(
        self,
        src_img: torch.Tensor,
        src_pose: torch.Tensor,
        tgt_pose: torch.Tensor,
        *,
        with_source: bool = False,
        resize_back: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        in_size = (int(src_img.shape[-2]), int(src_img.shape[-1]))
        x, ps, pt = self._working_inputs(src_img, src_pose, tgt_pose)
        f_ss = self._features(torch.cat((x, ps, ps), 1))  # (B, d, H/8, W/8) s→s
        f_st = self._features(torch.cat((x, ps, pt), 1))  # s→t
        f_s = self.source_encoder(x)
        out_t = self._decode(self.ptm(f_ss, f_st, f_s))  # (B, 3, H, W)
        out_s = self._decode(f_ss) if with_source else None
        if self.cfg.resize_to is not None and resize_back:
            out_t = resize_bilinear(out_t, in_size)
            out_s = resize_bilinear(out_s, in_size) if out_s is not None else None
        return out_t, out_s


class ResDiscriminator(nn.Module):
    """DPTN's unconditional residual discriminator, spectral norm on every conv, no norm layers.

    ``D(img)``: ``(B, 3, H, W)`` in [-1, 1] → ``(B, 1, H/2**L, W/2**L)`` raw scores (LSGAN),
    ``L = dis_layers`` (16×16 at 256², 16×11 at 256×176 with L = 4).
    """

    def __init__(self, cfg: DPTNConfig) -> None:
        super().__init__()
        slope = cfg.negative_slope
        cap = cfg.dis_max_channels // cfg.ndf
        widths = [cfg.ndf * min(2**i, cap) for i in range(cfg.dis_layers)]
        self.stem = DiscStem(cfg.image_channels, widths[0], slope)
        self.downs = nn.ModuleList(
            DiscBlock(a, b, slope) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.act = nn.LeakyReLU(slope)
        self.head = nn.Conv2d(widths[-1], 1, 1)
        init_dptn_weights_(self, cfg.init_gain)
        convs = [m for m in self.modules() if isinstance(m, nn.Conv2d)]
        for conv in convs:
            nn.utils.parametrizations.spectral_norm(conv)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.stem(img)
        for block in self.downs:
            x = block(x)
        return self.head(self.act(x))  # type: ignore[no-any-return]


def build_generator(cfg: DPTNConfig) -> DPTNGenerator:
    """A freshly initialised generator (DPTN, teacher or student, by ``cfg``), in train mode."""
    return DPTNGenerator(cfg)


def build_discriminator(cfg: DPTNConfig) -> ResDiscriminator:
    """A freshly initialised spectral-norm discriminator of ``cfg.dis_layers`` levels."""
    return ResDiscriminator(cfg)


def build_dptn(cfg: DPTNConfig) -> tuple[DPTNGenerator, ResDiscriminator]:
    """``(G, D)`` for ``cfg``, both freshly initialised as DPTN does."""
    return build_generator(cfg), build_discriminator(cfg)
