"""Pure loss functions of the PATN and pix2pix families, and the GAN terms shared with DMFN.

Every function takes tensors already computed by the networks; perceptual terms take VGG19
feature dicts ``{"relu1_1": (B, C, h, w), ...}`` (what :class:`pgdata.models.vgg.VGG19` returns;
PATN's come from ``input_norm="imagenet"``), so nothing here runs a network.
DMFN's terms are in :mod:`pgdata.training.losses_dmfn`.
Targets of the generator-side terms (real features, real logits) are detached inside, as in the
references, so a caller cannot leak gradients into them by accident.

Discriminator logits are raw (no sigmoid): ``mode="vanilla"`` is BCE-with-logits, which equals
the references' Sigmoid + BCE computed stably; ``mode="lsgan"`` is MSE against 1 / 0.

Where a function combines several terms it returns a dict of the **weighted** terms plus
``"total"`` (their sum), ready for logging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch.nn import functional as F

from pgdata.errors import ConfigError
from pgdata.models._blocks_gan import InputSizeError
from pgdata.training.losses import bce_d_loss, bce_g_loss, lsgan_d_loss, lsgan_g_loss

__all__ = [
    "GanMode",
    "LossTerms",
    "PATNLossWeights",
    "PATN_DEEPFASHION",
    "PATN_MARKET",
    "PATN_PERCEPTUAL_LAYER",
    "PIX2PIX_LAMBDA_L1",
    "feature_of",
    "gan_d_loss",
    "gan_g_loss",
    "patn_discriminator_loss",
    "patn_generator_loss",
    "patn_l1_perceptual",
    "pix2pix_discriminator_loss",
    "pix2pix_generator_loss",
]

GanMode = Literal["lsgan", "vanilla"]
GAN_MODES: tuple[str, ...] = ("lsgan", "vanilla")

LossTerms = dict[str, torch.Tensor]
"""Weighted loss terms by name plus ``"total"``, their sum."""


# ---------------------------------------------------------------------------------------------
# GAN terms by mode (the elementary terms are pgdata.training.losses')


def gan_g_loss(fake_logits: torch.Tensor, mode: GanMode) -> torch.Tensor:
    """Generator GAN term: ``mean (D(fake) − 1)²`` (lsgan) or ``mean BCE(D(fake), 1)`` (vanilla)."""
    if mode == "lsgan":
        return lsgan_g_loss(fake_logits)
    if mode == "vanilla":
        return bce_g_loss(fake_logits)
    raise ConfigError(f"gan_mode: {mode!r} is not one of {list(GAN_MODES)}")


def gan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, mode: GanMode) -> torch.Tensor:
    """Discriminator term ``0.5 · (ℓ(real, 1) + ℓ(fake, 0))``; ``fake_logits`` from detached fakes."""
    if mode == "lsgan":
        return lsgan_d_loss(real_logits, fake_logits)
    if mode == "vanilla":
        return bce_d_loss(real_logits, fake_logits)
    raise ConfigError(f"gan_mode: {mode!r} is not one of {list(GAN_MODES)}")


# ---------------------------------------------------------------------------------------------
# pix2pix

PIX2PIX_LAMBDA_L1 = 100.0


def pix2pix_generator_loss(
    fake_logits: torch.Tensor,
    fake: torch.Tensor,
    target: torch.Tensor,
    *,
    lambda_l1: float = PIX2PIX_LAMBDA_L1,
) -> LossTerms:
    """pix2pix G: ``gan = BCE(D(cat(A, fake)), 1)``, ``l1 = λ · mean|fake − target|``.

    Args:
        fake_logits: PatchGAN logits of ``cat(input, fake)`` (not detached).
        fake: generated image ``(B, 3, H, W)``.
        target: real image, same shape.
        lambda_l1: weight of the L1 term (100).

    Returns:
        ``{"gan", "l1", "total"}``.
    """
    gan = bce_g_loss(fake_logits)
    l1 = lambda_l1 * F.l1_loss(fake, target.detach())
    return {"gan": gan, "l1": l1, "total": gan + l1}


def pix2pix_discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """pix2pix D: ``0.5 · (BCE(D(cat(A, B)), 1) + BCE(D(cat(A, fake.detach())), 0))``."""
    return bce_d_loss(real_logits, fake_logits)


# ---------------------------------------------------------------------------------------------
# PATN

PATN_PERCEPTUAL_LAYER = "relu1_2"
"""PATN's perceptual layer: VGG19 ``features[:4]`` (``--perceptual_layers 3``)."""


@dataclass(frozen=True)
class PATNLossWeights:
    """PATN's loss weights (``--lambda_A``, ``--lambda_B``, ``--lambda_GAN``, LSGAN or not)."""

    lambda_l1: float = 1.0
    lambda_perceptual: float = 1.0
    lambda_gan: float = 5.0
    gan_mode: GanMode = "lsgan"

    def __post_init__(self) -> None:
        if self.gan_mode not in GAN_MODES:
            raise ConfigError(
                f"PATNLossWeights.gan_mode: {self.gan_mode!r} is not one of {list(GAN_MODES)}"
            )


PATN_DEEPFASHION = PATNLossWeights(1.0, 1.0, 5.0, "lsgan")
PATN_MARKET = PATNLossWeights(10.0, 10.0, 5.0, "vanilla")


def feature_of(feats: Mapping[str, torch.Tensor], layer: str, which: str) -> torch.Tensor:
    """``feats[layer]``, or InputSizeError naming ``which`` dict lacks it and what it holds."""
    if layer not in feats:
        raise InputSizeError(
            f"{which} has no VGG19 layer {layer!r} (found {sorted(feats)}); build the VGG19 "
            f"extractor with layers including {layer!r}"
        )
    return feats[layer]


def patn_l1_perceptual(
    fake: torch.Tensor,
    target: torch.Tensor,
    fake_feats: Mapping[str, torch.Tensor],
    target_feats: Mapping[str, torch.Tensor],
    *,
    lambda_l1: float,
    lambda_perceptual: float,
    layer: str = PATN_PERCEPTUAL_LAYER,
) -> LossTerms:
    """PATN's ``L1_plus_perceptualLoss``: ``λ_A · mean|fake − target| + λ_B · mean|φ(fake) − φ(target)|``.

    ``φ`` is VGG19 up to ``relu1_2`` on ImageNet-normalised input (``(x + 1) / 2``, then mean /
    std), i.e. the ``layer`` entry of the feature dicts. Returns ``{"l1", "perceptual", "total"}``.
    """
    l1 = lambda_l1 * F.l1_loss(fake, target.detach())
    f_fake = feature_of(fake_feats, layer, "fake_feats")
    f_real = feature_of(target_feats, layer, "target_feats").detach()
    perceptual = lambda_perceptual * F.l1_loss(f_fake, f_real)
    return {"l1": l1, "perceptual": perceptual, "total": l1 + perceptual}


def patn_generator_loss(
    fake: torch.Tensor,
    target: torch.Tensor,
    fake_feats: Mapping[str, torch.Tensor],
    target_feats: Mapping[str, torch.Tensor],
    pb_fake_logits: torch.Tensor | None,
    pp_fake_logits: torch.Tensor | None,
    weights: PATNLossWeights = PATN_DEEPFASHION,
) -> LossTerms:
    """PATN G: L1 + perceptual L1 + ``λ_GAN`` × the mean of the used discriminators' GAN terms.

    Args:
        fake, target: generated and real target image ``(B, 3, H, W)`` in [-1, 1].
        fake_feats, target_feats: VGG19 feature dicts holding ``relu1_2``.
        pb_fake_logits: ``D_PB(cat(fake, BP2))`` or ``None`` without D_PB.
        pp_fake_logits: ``D_PP(cat(fake, P1))`` or ``None`` without D_PP.
        weights: the recipe's weights.

    Returns:
        ``{"l1", "perceptual", "gan", "total"}``; ``gan`` is ``λ_GAN (g_PB + g_PP) / 2`` with
        both, ``λ_GAN g`` with one, 0 with none (as ``backward_G``).
    """
    terms = patn_l1_perceptual(
        fake,
        target,
        fake_feats,
        target_feats,
        lambda_l1=weights.lambda_l1,
        lambda_perceptual=weights.lambda_perceptual,
    )
    used = [x for x in (pb_fake_logits, pp_fake_logits) if x is not None]
    gan = fake.new_zeros(())
    for logits in used:
        gan = gan + gan_g_loss(logits, weights.gan_mode)
    if used:
        gan = weights.lambda_gan * gan / len(used)
    terms["gan"] = gan
    terms["total"] = terms["total"] + gan
    return terms


def patn_discriminator_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    weights: PATNLossWeights = PATN_DEEPFASHION,
) -> torch.Tensor:
    """One PATN discriminator: ``0.5 · λ_GAN · (gan(real, 1) + gan(fake, 0))``.

    Real pairs are ``(P2, BP2)`` for D_PB and ``(P2, P1)`` for D_PP; fakes are detached.
    """
    return weights.lambda_gan * gan_d_loss(real_logits, fake_logits, weights.gan_mode)
