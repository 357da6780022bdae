"""Pure loss functions of DMFN-style inpainting (Zheng222/DMFN ``models/loss.py``,
``models/inpainting_model.py``).

Inputs are tensors the networks already computed: discriminator logits ``(B, 1)`` and local
feature lists from :class:`pgdata.models.dmfn.DMFNDiscriminator`, and VGG19 feature dicts of the
composite and the real image (``relu1_1`` … ``relu5_1``). Real-side tensors are detached inside.

VGG input: the released ``VGGFeatureExtractor`` feeds ``(x − (mean − 1)) / (2 std)`` for ``x`` in
[-1, 1] (ImageNet mean / std). That is not quite ImageNet normalisation of ``(x + 1) / 2``, which
is ``(x − (2 mean − 1)) / (2 std)``: the released input is shifted by ``mean / (2 std)`` (0.90–1.06)
per channel. ``VGG19(input_norm="imagenet")`` gives the proper normalisation; the exact released
behaviour equals it applied to ``x + mean`` (per channel). The losses here do not care which.

Released CelebA-HQ weights (:class:`DMFNLossWeights`): relativistic-average GAN 0.003, L1 on the
composite 1, self-guided VGG feature loss 25, centre (alignment) loss on ``relu4_1`` 1, local-D
feature matching 5; per-layer weights ``1e3 / C²`` in both feature losses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from pgdata.errors import ConfigError
from pgdata.models._blocks_gan import InputSizeError
from pgdata.training.losses import bce_d_loss
from pgdata.training.losses_gan import LossTerms, feature_of

__all__ = [
    "CENTER_LAYER",
    "DMFNLossWeights",
    "DMFN_VGG_LAYERS",
    "GUIDED_LAYERS",
    "center_loss",
    "dmfn_generator_loss",
    "feature_centers",
    "feature_matching_loss",
    "layer_weight",
    "relativistic_discriminator_loss",
    "relativistic_generator_loss",
    "self_guided_error_map",
    "self_guided_feature_loss",
]


DMFN_VGG_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
GUIDED_LAYERS: dict[str, int] = {"relu1_1": 1, "relu2_1": 2}
"""Self-guided layers and how much their resolution is below the image's."""
CENTER_LAYER = "relu4_1"
LAYER_WEIGHT_NUMERATOR = 1e3
"""Per-layer weight ``1e3 / C²`` of DMFN's VGG and discriminator feature losses."""
CENTER_EPS = 1e-7
"""Added to every feature before it is turned into a spatial distribution (as released)."""


def layer_weight(channels: int) -> float:
    """DMFN's per-layer weight ``1e3 / C²`` (64 → 0.244, 512 → 0.0038)."""
    return LAYER_WEIGHT_NUMERATOR / channels**2


def relativistic_discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """RaGAN D: ``(BCE(r − mean f, 1) + BCE(f − mean r, 0)) / 2`` with BCE-with-logits.

    ``real_logits``, ``fake_logits``: ``(B, 1)`` D outputs on real images and detached composites.
    """
    return bce_d_loss(real_logits - fake_logits.mean(), fake_logits - real_logits.mean())


def relativistic_generator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """RaGAN G: ``(BCE(r − mean f, 0) + BCE(f − mean r, 1)) / 2``; ``real_logits`` is detached."""
    real = real_logits.detach()
    # the D loss with the roles of real and fake swapped
    return bce_d_loss(fake_logits - real.mean(), real - fake_logits.mean())


def self_guided_error_map(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """DMFN's guidance: ``mean_c (output − target)²`` divided by its per-sample maximum.

    Args:
        output, target: ``(B, C, H, W)``; ``output`` is detached (the map only weights the loss).

    Returns:
        ``(B, 1, H, W)`` in [0, 1]. A sample with zero error everywhere gets an all-zero map
        (the released code divides 0 by 0 there).
    """
    err = (output.detach() - target.detach()).pow(2).mean(dim=1, keepdim=True)  # (B, 1, H, W)
    peak = err.amax(dim=(2, 3), keepdim=True)
    return err / peak.clamp_min(torch.finfo(err.dtype).tiny)


def self_guided_feature_loss(
    out_feats: Mapping[str, torch.Tensor],
    target_feats: Mapping[str, torch.Tensor],
    output: torch.Tensor,
    target: torch.Tensor,
    layers: Sequence[str] = DMFN_VGG_LAYERS,
) -> torch.Tensor:
    """DMFN's VGG feature loss (unweighted by its recipe weight, 25).

    ``Σ_l 1e3 / C_l² · L_l`` where, for ``relu1_1`` and ``relu2_1`` (:data:`GUIDED_LAYERS`),
    ``L_l = mean(|φ_l(out) − φ_l(target)| · (1 + M_l))`` with ``M`` the
    :func:`self_guided_error_map` average-pooled to the layer's resolution, and
    ``L_l = mean|φ_l(out) − φ_l(target)|`` for the others (``relu3_1`` … ``relu5_1``).

    Args:
        out_feats, target_feats: VGG19 feature dicts holding ``layers``.
        output: the composite ``(B, 3, H, W)`` the features were computed from.
        target: the real image.
        layers: which layers to use (DMFN's five by default).
    """
    guide = self_guided_error_map(output, target)
    total = output.new_zeros(())
    for name in layers:
        f_out = feature_of(out_feats, name, "out_feats")
        f_real = feature_of(target_feats, name, "target_feats").detach()
        diff = (f_out - f_real).abs()
        if name in GUIDED_LAYERS:
            factor = GUIDED_LAYERS[name]
            g = F.avg_pool2d(guide, factor) if factor > 1 else guide
            if g.shape[2:] != diff.shape[2:]:
                raise InputSizeError(
                    f"self_guided_feature_loss: {name} is {tuple(diff.shape[2:])} but the error "
                    f"map pooled by {factor} is {tuple(g.shape[2:])}; give the image the "
                    f"features were computed from"
                )
            term = (diff * (1.0 + g)).mean()
        else:
            term = diff.mean()
        total = total + layer_weight(int(f_out.shape[1])) * term
    return total


def feature_centers(feat: torch.Tensor, *, released_quirk: bool = False) -> torch.Tensor:
    """Centre of mass of every channel of ``feat`` ``(B, C, h, w)`` → ``(B, C, 2)`` as (x, y).

    Each channel plus ``1e-7`` is normalised to sum 1 over ``(h, w)``; ``x = Σ p · (2 j / w − 1)``
    over columns ``j``, ``y = Σ p · (2 i / h − 1)`` over rows ``i`` (coordinates in [-1, 1)).
    ``released_quirk=True`` reproduces the released ``batch_get_centers``, whose two coordinate
    maps both vary along the columns (so ``y`` equals ``x``; it only ran on square maps).
    """
    _, _, h, w = feat.shape
    p = feat + CENTER_EPS
    p = p / p.sum(dim=(2, 3), keepdim=True)
    cols = torch.arange(w, dtype=feat.dtype, device=feat.device) / w * 2 - 1  # (w,)
    rows = torch.arange(h, dtype=feat.dtype, device=feat.device) / h * 2 - 1  # (h,)
    x = (p.sum(dim=2) * cols).sum(dim=2)  # (B, C)
    y = x if released_quirk else (p.sum(dim=3) * rows).sum(dim=2)
    return torch.stack([x, y], dim=2)


def center_loss(
    out_feat: torch.Tensor, target_feat: torch.Tensor, *, released_quirk: bool = False
) -> torch.Tensor:
    """DMFN's alignment loss: MSE between :func:`feature_centers` of ``relu4_1`` features.

    ``out_feat``, ``target_feat``: ``(B, C, h, w)`` (the target is detached).
    """
    return F.mse_loss(
        feature_centers(out_feat, released_quirk=released_quirk),
        feature_centers(target_feat.detach(), released_quirk=released_quirk),
    )


def feature_matching_loss(
    fake_feats: Sequence[torch.Tensor], real_feats: Sequence[torch.Tensor]
) -> torch.Tensor:
    """``Σ_i 1e3 / C_i² · mean|fake_i − real_i|`` over the local discriminator's features.

    ``real_feats`` are detached. Both sequences come from :class:`DMFNDiscriminator` (5 maps).
    """
    if len(fake_feats) != len(real_feats) or not fake_feats:
        raise InputSizeError(
            f"feature_matching_loss: {len(fake_feats)} fake and {len(real_feats)} real feature "
            f"maps; give the same non-empty list from both discriminator calls"
        )
    total = fake_feats[0].new_zeros(())
    for fake, real in zip(fake_feats, real_feats, strict=True):
        total = total + layer_weight(int(fake.shape[1])) * F.l1_loss(fake, real.detach())
    return total


@dataclass(frozen=True)
class DMFNLossWeights:
    """DMFN's generator loss weights (released CelebA-HQ config); 0 switches a term off."""

    gan: float = 0.003
    l1: float = 1.0
    vgg: float = 25.0
    center: float = 1.0
    feature_matching: float = 5.0
    center_released_quirk: bool = False

    def __post_init__(self) -> None:
        for key in ("gan", "l1", "vgg", "center", "feature_matching"):
            value = getattr(self, key)
            if value < 0:
                raise ConfigError(f"DMFNLossWeights.{key}: must be >= 0, found {value}")


def dmfn_generator_loss(
    weights: DMFNLossWeights,
    output: torch.Tensor,
    target: torch.Tensor,
    *,
    real_logits: torch.Tensor | None = None,
    fake_logits: torch.Tensor | None = None,
    out_vgg: Mapping[str, torch.Tensor] | None = None,
    target_vgg: Mapping[str, torch.Tensor] | None = None,
    fake_d_feats: Sequence[torch.Tensor] | None = None,
    real_d_feats: Sequence[torch.Tensor] | None = None,
) -> LossTerms:
    """DMFN G: the switched-on terms of ``weights``, as ``optimize_parameters`` sums them.

    Args:
        weights: term weights; a term with weight 0 is skipped and needs no inputs.
        output: the composite ``mask · G(x) + (1 − mask) · image``, ``(B, 3, H, W)``.
        target: the real image.
        real_logits, fake_logits: D on the real image and on the (non-detached) composite
            (``gan``).
        out_vgg, target_vgg: VGG19 dicts of ``output`` and ``target`` (``vgg``, ``center``).
        fake_d_feats, real_d_feats: local-D feature lists of the same two calls
            (``feature_matching``).

    Returns:
        the weighted terms that are on (``l1``, ``vgg``, ``center``, ``gan``,
        ``feature_matching``) and ``total``. Extra terms (landmark, expression) are added by the
        caller.

    Raises:
        ConfigError: a term is on but its inputs are missing.
    """
    terms: LossTerms = {}

    def missing(key: str) -> ConfigError:
        return ConfigError(
            f"DMFN loss {key!r} has weight {getattr(weights, key)} but its inputs were not "
            f"given; pass them or set its weight to 0"
        )

    if weights.l1 > 0:
        terms["l1"] = weights.l1 * F.l1_loss(output, target.detach())
    if weights.vgg > 0:
        if out_vgg is None or target_vgg is None:
            raise missing("vgg")
        terms["vgg"] = weights.vgg * self_guided_feature_loss(out_vgg, target_vgg, output, target)
    if weights.center > 0:
        if out_vgg is None or target_vgg is None:
            raise missing("center")
        terms["center"] = weights.center * center_loss(
            feature_of(out_vgg, CENTER_LAYER, "out_vgg"),
            feature_of(target_vgg, CENTER_LAYER, "target_vgg"),
            released_quirk=weights.center_released_quirk,
        )
    if weights.gan > 0:
        if real_logits is None or fake_logits is None:
            raise missing("gan")
        terms["gan"] = weights.gan * relativistic_generator_loss(real_logits, fake_logits)
    if weights.feature_matching > 0:
        if fake_d_feats is None or real_d_feats is None:
            raise missing("feature_matching")
        terms["feature_matching"] = weights.feature_matching * feature_matching_loss(
            fake_d_feats, real_d_feats
        )
    total = output.new_zeros(())
    for value in terms.values():
        total = total + value
    terms["total"] = total
    return terms
