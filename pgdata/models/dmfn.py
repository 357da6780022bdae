"""DMFN-style inpainting (Hui et al., "Image Fine-grained Inpainting", arXiv 2002.02609).

Written from ``shared/reference/generators.md`` §5 and the layer order of Zheng222/DMFN
``models/architecture.py`` / ``models/block.py`` (35bee4f), so counts and parameter order match:

=====================================================  ==========
part                                                   parameters
=====================================================  ==========
generator, released 3×3 fusion conv                    9,037,443
generator, paper's 1×1 fusion (``fusion_kernel = 1``)  4,843,139
encoder / one DMFB (3×3 fusion) / decoder              523,072 / 885,312 / 1,431,875
discriminator (global + local, 256²)                   36,673,025
=====================================================  ==========

Generator (instance norm ``affine=False``, ReLU, zero padding, biased convs): input
``cat(masked RGB, mask)`` (4 channels, see :func:`generator_input`). Encoder Conv5 4 → 64 (no
norm) · ReLU, Conv3 s2 → 128, Conv3 128 → 128, Conv3 s2 → 256 (each · IN · ReLU). 8 dense
multi-scale fusion blocks (:class:`DMFB`) at ``(B, 256, H/4, W/4)``. Decoder Conv3 256 → 256 ·
IN · ReLU, 2 × [ConvT4 s2 · IN · ReLU · Conv3 · IN · ReLU] to 64, Conv3 64 → 3 · Tanh. ``H`` and
``W`` must be multiples of 4 (256² native; 256×176 works). The raw output replaces the whole
image; :func:`composite` keeps the known pixels (``mask · out + (1 − mask) · image``).

Discriminator (BatchNorm, LeakyReLU 0.2, Conv5 s2 p2, biased convs): a global branch of six
convs 3 → 64 → 128 → 256 → 512 → 512 → 512 on the whole ``(H, W)`` image and a local branch of
five convs on an ``(H/2, W/2)`` crop, each flattened into a Linear → 512; ``cat(local, global)``
· LeakyReLU · Linear 1024 → 1. At 256² both branches end at 512×4×4 (8192 features); the
released D runs only there. ``DMFNConfig.image_hw`` sizes the Linear layers for other images
(256×176: 512×4×3 features, 34,575,873 parameters). The crop
box is passed as ``boxes``, a ``(B, 2)`` integer tensor of ``(top, left)`` per sample (the
reference's ``bbox`` without its height and width, which are always ``H/2``, ``W/2``);
:func:`local_boxes` centres that window on each mask's hole.

Init (the released ``weights_init``, which matches the class name ``Conv2d`` only): Conv2d
weights ~ N(0, 0.02), biases 0; BatchNorm γ ~ N(1, 0.02), β = 0; ConvTranspose2d and Linear keep
PyTorch's default init. Applied to both networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from pgdata.errors import ConfigError
from pgdata.models._blocks_gan import (
    InputSizeError,
    check_choice,
    check_input,
    check_positive,
    init_normal_,
    norm_layer,
)

__all__ = [
    "DMFB",
    "DMFNConfig",
    "DMFNDiscriminator",
    "DMFNGenerator",
    "build_dmfn",
    "composite",
    "crop_local",
    "generator_input",
    "local_boxes",
]

DILATIONS = (1, 2, 4, 8)
FUSION_KERNELS = (1, 3)
LEAKY_SLOPE = 0.2
D_KERNEL = 5
D_GLOBAL_CONVS = 6
D_LOCAL_CONVS = 5
D_MAX_MULT = 8
D_FEATURES = 512
"""Width of each branch's Linear layer (the classifier sees 2 × 512)."""
DOWNSAMPLING = 4
"""The generator's two stride-2 convs: ``H`` and ``W`` must be multiples of 4."""


@dataclass(frozen=True)
class DMFNConfig:
    """Network options of DMFN.

    Attributes:
        image_channels: RGB channels (3); the generator takes ``image_channels + 1`` (the mask).
        nf: generator width at full resolution (64); the DMFBs run at ``4 nf``.
        n_blocks: dense multi-scale fusion blocks (8).
        fusion_kernel: kernel of each DMFB's fusion conv: 3 as released (9,037,443 parameters)
            or 1 as in the paper (4,843,139).
        ndf: discriminator width (64).
        image_hw: ``(H, W)`` the discriminator is built for (its Linear layers depend on it);
            the local branch sees ``(H // 2, W // 2)`` crops. ``(256, 256)`` gives the released
            36,673,025 parameters. Both must be even.
    """

    image_channels: int = 3
    nf: int = 64
    n_blocks: int = 8
    fusion_kernel: int = 3
    ndf: int = 64
    image_hw: tuple[int, int] = (256, 256)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_positive(
            owner,
            image_channels=self.image_channels,
            nf=self.nf,
            n_blocks=self.n_blocks,
            ndf=self.ndf,
        )
        check_choice(owner, "fusion_kernel", self.fusion_kernel, FUSION_KERNELS)
        h, w = self.image_hw
        if h < 2 or w < 2 or h % 2 or w % 2:
            raise ConfigError(
                f"{owner}.image_hw: expected two even sizes >= 2, found {self.image_hw}"
            )

    @property
    def local_hw(self) -> tuple[int, int]:
        """Size of the local discriminator's crop: half the image (128×128 at 256²)."""
        return self.image_hw[0] // 2, self.image_hw[1] // 2


def _conv(in_c: int, out_c: int, k: int, *, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    """Biased Conv2d with zero 'same' padding (``dilation * (k - 1) / 2``)."""
    return nn.Conv2d(in_c, out_c, k, stride, padding=dilation * (k - 1) // 2, dilation=dilation)


class DMFB(nn.Module):
    """Dense multi-scale fusion block at width ``dim`` (a multiple of 4).

    ``y = ReLU(IN(Conv3 dim → dim/4 (x)))``; ``d_i = Conv3_{dilation i}(y)`` for dilations 1, 2, 4,
    8; ``k_1 = d_1``, ``k_i = k_{i-1} + d_i``; ``z = fuse(ReLU(IN(cat(k_1..k_4))))`` with a 3×3
    (released) or 1×1 (paper) conv; returns ``x + IN(z)``. Shapes ``(B, dim, h, w)`` in and out.
    """

    def __init__(self, dim: int, fusion_kernel: int) -> None:
        super().__init__()
        branch = dim // 4
        self.reduce = _conv(dim, branch, 3)
        self.dilated = nn.ModuleList(_conv(branch, branch, 3, dilation=d) for d in DILATIONS)
        self.fuse = _conv(dim, dim, fusion_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(F.instance_norm(self.reduce(x)))  # (B, dim/4, h, w)
        sums: list[torch.Tensor] = []
        for conv in self.dilated:
            d = conv(y)
            sums.append(d if not sums else sums[-1] + d)
        z = self.fuse(F.relu(F.instance_norm(torch.cat(sums, dim=1))))  # (B, dim, h, w)
        return x + F.instance_norm(z)


def _conv_block(
    in_c: int, out_c: int, k: int, *, stride: int = 1, norm: bool = True
) -> list[nn.Module]:
    """Conv (zero padding, biased) · [IN] · ReLU."""
    layers: list[nn.Module] = [_conv(in_c, out_c, k, stride=stride)]
    if norm:
        layers.append(norm_layer("instance", out_c))
    layers.append(nn.ReLU())
    return layers


def _up_block(in_c: int, out_c: int) -> list[nn.Module]:
    """ConvT4 s2 p1 · IN · ReLU · Conv3 · IN · ReLU."""
    return [
        nn.ConvTranspose2d(in_c, out_c, 4, 2, 1),
        norm_layer("instance", out_c),
        nn.ReLU(),
        *_conv_block(out_c, out_c, 3),
    ]


class DMFNGenerator(nn.Module):
    """DMFN generator: ``forward(x) -> out``.

    Args of forward:
        x: ``(B, image_channels + 1, H, W)`` float: ``cat(image · (1 − mask), mask)``
            (:func:`generator_input`), image in [-1, 1], mask in {0, 1} with 1 = hole. ``H`` and
            ``W`` multiples of 4.

    Returns:
        ``(B, image_channels, H, W)`` float in [-1, 1]: the raw prediction over the whole image
        (compose with :func:`composite`).
    """

    def __init__(self, cfg: DMFNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        nf = cfg.nf
        self.encoder = nn.Sequential(
            *_conv_block(cfg.image_channels + 1, nf, 5, norm=False),
            *_conv_block(nf, 2 * nf, 3, stride=2),
            *_conv_block(2 * nf, 2 * nf, 3),
            *_conv_block(2 * nf, 4 * nf, 3, stride=2),
        )
        self.blocks = nn.Sequential(*(DMFB(4 * nf, cfg.fusion_kernel) for _ in range(cfg.n_blocks)))
        self.decoder = nn.Sequential(
            *_conv_block(4 * nf, 4 * nf, 3),
            *_up_block(4 * nf, 2 * nf),
            *_up_block(2 * nf, nf),
            _conv(nf, cfg.image_channels, 3),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(
            "DMFNGenerator",
            "x",
            x,
            self.cfg.image_channels + 1,
            multiple=DOWNSAMPLING,
            fix="give cat(image * (1 - mask), mask) at a multiple of 4 (e.g. 256x256 or 256x176)",
        )
        h = self.encoder(x)  # (B, 4 nf, H/4, W/4)
        h = self.blocks(h)
        out: torch.Tensor = self.decoder(h)  # (B, 3, H, W)
        return out


def _d_convs(in_c: int, ndf: int, n: int) -> nn.ModuleList:
    """``n`` × [Conv5 s2 p2 · BN · LeakyReLU 0.2], widths ndf, 2 ndf, 4 ndf, 8 ndf, 8 ndf, ..."""
    layers = nn.ModuleList()
    width = in_c
    for i in range(n):
        new = ndf * min(2**i, D_MAX_MULT)
        layers.append(
            nn.Sequential(
                _conv(width, new, D_KERNEL, stride=2),
                nn.BatchNorm2d(new),
                nn.LeakyReLU(LEAKY_SLOPE),
            )
        )
        width = new
    return layers


def _halvings(size: int, n: int) -> int:
    """Spatial size after ``n`` Conv5 s2 p2 layers (each maps ``s`` to ``ceil(s / 2)``)."""
    for _ in range(n):
        size = (size + 1) // 2
    return size


class DMFNDiscriminator(nn.Module):
    """Global + local discriminator: ``forward(image, boxes) -> (logits, local_features)``.

    Args of forward:
        image: ``(B, image_channels, H, W)`` float in [-1, 1], ``(H, W) == cfg.image_hw``: the
            composite (fake) or the real image.
        boxes: ``(B, 2)`` integer tensor, ``(top, left)`` of each sample's local window of size
            ``cfg.local_hw`` (``H/2 × W/2``); the window must lie inside the image.

    Returns:
        ``(B, 1)`` float logits and the 5 local-branch feature maps (after each conv block's
        LeakyReLU: ``(B, 64, H/4, W/4)`` … ``(B, 512, H/64, W/64)``) for feature matching.
    """

    def __init__(self, cfg: DMFNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, ndf = cfg.image_channels, cfg.ndf
        h, w = cfg.image_hw
        lh, lw = cfg.local_hw
        # parameter order as released: global convs, local convs, global fc, local fc, classifier
        self.global_convs = _d_convs(c, ndf, D_GLOBAL_CONVS)
        self.local_convs = _d_convs(c, ndf, D_LOCAL_CONVS)
        g_width = ndf * min(2 ** (D_GLOBAL_CONVS - 1), D_MAX_MULT)
        l_width = ndf * min(2 ** (D_LOCAL_CONVS - 1), D_MAX_MULT)
        g_in = g_width * _halvings(h, D_GLOBAL_CONVS) * _halvings(w, D_GLOBAL_CONVS)
        l_in = l_width * _halvings(lh, D_LOCAL_CONVS) * _halvings(lw, D_LOCAL_CONVS)
        self.global_fc = nn.Linear(g_in, D_FEATURES)
        self.local_fc = nn.Linear(l_in, D_FEATURES)
        self.classifier = nn.Sequential(nn.LeakyReLU(LEAKY_SLOPE), nn.Linear(2 * D_FEATURES, 1))

    def forward(
        self, image: torch.Tensor, boxes: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        cfg = self.cfg
        check_input(
            "DMFNDiscriminator",
            "image",
            image,
            cfg.image_channels,
            size_hw=cfg.image_hw,
            fix="build the discriminator with DMFNConfig(image_hw=...) for this size",
        )
        local = crop_local(image, boxes, cfg.local_hw)  # (B, C, H/2, W/2)
        feats: list[torch.Tensor] = []
        h = local
        for block in self.local_convs:
            h = block(h)
            feats.append(h)
        local_vec = self.local_fc(h.flatten(1))  # (B, 512)
        g = image
        for block in self.global_convs:
            g = block(g)
        global_vec = self.global_fc(g.flatten(1))  # (B, 512)
        logits: torch.Tensor = self.classifier(torch.cat([local_vec, global_vec], dim=1))
        return logits, feats


def crop_local(image: torch.Tensor, boxes: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    """Crop ``(B, C, H, W)`` → ``(B, C, h, w)`` at ``boxes[i] = (top, left)`` (differentiable).

    Raises:
        InputSizeError: ``boxes`` is not ``(B, 2)`` integers or a window leaves the image.
    """
    b, _, height, width = image.shape
    if boxes.dim() != 2 or boxes.shape != (b, 2) or boxes.is_floating_point():
        raise InputSizeError(
            f"crop_local: boxes must be a (B, 2) = ({b}, 2) integer tensor of (top, left), "
            f"found {tuple(boxes.shape)} {boxes.dtype}"
        )
    h, w = size_hw
    crops = []
    for i, (top, left) in enumerate(boxes.tolist()):
        if not (0 <= top <= height - h and 0 <= left <= width - w):
            raise InputSizeError(
                f"crop_local: box {i} (top {top}, left {left}) puts a {h}x{w} window outside "
                f"the {height}x{width} image; use top in [0, {height - h}], left in [0, {width - w}]"
            )
        crops.append(image[i, :, top : top + h, left : left + w])
    return torch.stack(crops)


def local_boxes(mask: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    """``(top, left)`` of a ``size_hw`` window centred on each mask's hole, clamped inside.

    Args:
        mask: ``(B, 1, H, W)`` float or bool, nonzero = hole.
        size_hw: window ``(h, w)``, at most ``(H, W)``.

    Returns:
        ``(B, 2)`` int64 on ``mask``'s device. A sample without a hole gets the centred window.
        For the released 128×128 box masks at 256² the window is the box itself.
    """
    b, _, height, width = mask.shape
    h, w = size_hw
    hole = mask.reshape(b, height, width) != 0
    rows, cols = hole.any(dim=2), hole.any(dim=1)  # (B, H), (B, W)
    out = torch.empty(b, 2, dtype=torch.int64, device=mask.device)
    for i in range(b):
        for j, (line, extent, size) in enumerate(((rows[i], height, h), (cols[i], width, w))):
            idx = torch.nonzero(line).flatten()
            centre2 = int(idx[0] + idx[-1] + 1) if idx.numel() else extent  # 2 × centre
            start = (centre2 - size) // 2
            out[i, j] = min(max(start, 0), extent - size)
    return out


def generator_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``cat(image · (1 − mask), mask)``: ``(B, C, H, W)`` in [-1, 1] and ``(B, 1, H, W)`` {0, 1}."""
    return torch.cat([image * (1 - mask), mask], dim=1)


def composite(out: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``mask · out + (1 − mask) · image``: generated pixels in the hole, known ones elsewhere."""
    return mask * out + (1 - mask) * image


def build_dmfn(cfg: DMFNConfig) -> tuple[DMFNGenerator, DMFNDiscriminator]:
    """Build and initialise ``(G, D)`` as released.

    Conv2d weights ~ N(0, 0.02), biases 0; BatchNorm γ ~ N(1, 0.02), β = 0; ConvTranspose2d and
    Linear keep PyTorch's default. Draws from torch's global RNG: seed it first.
    """
    g, d = DMFNGenerator(cfg), DMFNDiscriminator(cfg)
    for net in (g, d):
        init_normal_(net, layer_types=(nn.Conv2d,), zero_bias=True)
    return g, d
