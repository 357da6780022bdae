"""The DMFN family: face inpainting with dense multi-scale fusion blocks (generators.md §5).

One step, as DMFN's ``optimize_parameters``: forward, then D, then G:

    G forward:  out = G(cat(image · (1 − mask), mask));  comp = mask · out + (1 − mask) · image
    D step:     RaGAN: ½ [BCE(D(image) − mean D(comp), 1) + BCE(D(comp) − mean D(image), 0)]
    G step:     the terms of ``dmfn_losses`` that are on:
                gan         λ_gan   RaGAN with the roles swapped                       (0.003)
                l1          λ_rec   mean |comp − image|                                  (1)
                vgg         λ_vgg   self-guided VGG19 feature loss (relu1_1 … relu5_1)   (25)
                center      λ_center alignment loss on relu4_1's centres of mass         (1)
                fm          λ_fm    local-D feature matching                             (5)
                landmark    λ_landmark   MSE of a user landmark network's outputs        (1)
                expression  λ_expression L1 of a user expression network's outputs       (1)

D is the global + local discriminator; its local window (``crop_size / 2``) is centred on each
mask's hole (:func:`pgdata.models.dmfn.local_boxes`). VGG19 gets ImageNet-normalised input by
default (``vgg_input_norm = "dmfn_released"`` reproduces the released shift). The landmark and
expression networks are frozen user plugins (:mod:`pgdata.training.face_nets`), so the eight
ablation variants (VGG, expression, landmark on or off: ``train/dmfn-abl-*.toml``) differ only
in their configs. Masks are drawn per sample and epoch (``mask_kinds``) or from a fixed set
(``mask_set``); grids use fixed masks. Adam 2e-4 (0.5, 0.999) for both networks, lr halved at
``lr_milestones``.

Batch keys (``pgdata.data.faces_to_device``): ``image`` (B, 3, S, S) in [-1, 1], ``mask``
(B, 1, S, S) in {0, 1} (1 = hole), ``boxes`` (B, 2) the local windows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, default_collate

from pgdata.data import FacesDataset, faces_to_device
from pgdata.errors import ConfigError
from pgdata.io.masks import read_mask_set
from pgdata.models.dmfn import (
    DMFNConfig,
    DMFNDiscriminator,
    DMFNGenerator,
    build_dmfn,
    composite,
    generator_input,
    local_boxes,
)
from pgdata.training.config import TrainConfig
from pgdata.training.face_nets import (
    FrozenNet,
    expression_loss,
    landmark_loss,
    load_face_net,
)
from pgdata.training.logs import to_uint8
from pgdata.training.losses_dmfn import (
    DMFN_VGG_LAYERS,
    DMFNLossWeights,
    dmfn_generator_loss,
    relativistic_discriminator_loss,
)
from pgdata.training.steps.base import Batch, Outputs, Phase, TrainStep
from pgdata.training.steps.common import vgg_features

__all__ = ["DMFNStep", "dmfn_config"]

DMFN_MULTIPLE = 4  # the generator's two stride-2 convolutions
HOLE_GREY = 0.0  # holes in the grid's input column: mid grey in [-1, 1]
FACE_NETS = ("landmark", "expression")


def dmfn_config(cfg: TrainConfig) -> DMFNConfig:
    """The network config of a training config (square ``crop_size`` images)."""
    return DMFNConfig(
        nf=cfg.ngf,
        n_blocks=cfg.dmfn_blocks,
        fusion_kernel=cfg.fusion_kernel,
        ndf=cfg.ndf,
        image_hw=(cfg.crop_size, cfg.crop_size),
    )


def _loss_weights(cfg: TrainConfig) -> DMFNLossWeights:
    on = set(cfg.dmfn_losses)
    return DMFNLossWeights(
        gan=cfg.lambda_gan if "gan" in on else 0.0,
        l1=cfg.lambda_rec if "l1" in on else 0.0,
        vgg=cfg.lambda_vgg if "vgg" in on else 0.0,
        center=cfg.lambda_center if "center" in on else 0.0,
        feature_matching=cfg.lambda_fm if "fm" in on else 0.0,
        center_released_quirk=cfg.center_released_quirk,
    )


class DMFNStep(TrainStep):
    """DMFN's recipe (see the module docstring)."""

    family = "dmfn"
    schema = "faces"
    recipe_hint = "pgdata build --recipe pipelines/faces.toml"

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        if cfg.crop_size % DMFN_MULTIPLE:
            raise ConfigError(
                f"crop_size: DMFN needs a multiple of {DMFN_MULTIPLE}, found {cfg.crop_size}"
            )
        for kind in FACE_NETS:
            spec, weights, sha = (getattr(cfg, f"{kind}_{k}") for k in ("net", "weights", "sha256"))
            if kind in cfg.dmfn_losses and not spec:
                raise ConfigError(
                    f"{kind}_net: dmfn_losses has {kind!r} but no network is given; set "
                    f"{kind}_net = 'module:factory', {kind}_weights and {kind}_sha256, or drop "
                    f"{kind!r} from dmfn_losses"
                )
            if weights and not sha:
                raise ConfigError(
                    f"{kind}_sha256: {kind}_weights = {weights!r} needs its sha256 (at least 8 "
                    "hex digits, e.g. from `sha256sum`) so another file is never used by mistake"
                )

    def __init__(self, cfg: TrainConfig, device: torch.device, steps_per_epoch: int) -> None:
        super().__init__(cfg, device, steps_per_epoch)
        self.networks = self.build_networks(cfg)
        for net in self.networks.values():
            self.place(net).train()
        self.G, self.D = self.networks["G"], self.networks["D"]
        self.local_hw = dmfn_config(cfg).local_hw
        self.weights = _loss_weights(cfg)
        self.vgg = None
        if self.weights.vgg > 0 or self.weights.center > 0:
            self.vgg = self.place(vgg_features(cfg, DMFN_VGG_LAYERS, "imagenet"))
        self.face_nets: dict[str, FrozenNet] = {}
        for kind in FACE_NETS:
            if kind in cfg.dmfn_losses:
                net = load_face_net(
                    kind,
                    getattr(cfg, f"{kind}_net"),
                    getattr(cfg, f"{kind}_weights"),
                    getattr(cfg, f"{kind}_sha256"),
                )
                self.face_nets[kind] = net.to(self.device)
        self.gan_optimizers(self.G, {"D": self.D})

    @staticmethod
    def build_networks(cfg: TrainConfig, *, init: bool = True) -> dict[str, nn.Module]:
        net = dmfn_config(cfg)
        if init:
            g, d = build_dmfn(net)
        else:  # shapes only (pgdata models)
            g, d = DMFNGenerator(net), DMFNDiscriminator(net)
        return {"G": g, "D": d}

    def setup_inference(self) -> None:
        self.G, self.D = self.networks["G"], self.networks["D"]
        self.local_hw = dmfn_config(self.cfg).local_hw

    def inference_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """cat(image · (1 − mask), mask): ``(B, 4, S, S)``."""
        return (generator_input(batch["image"], batch["mask"]),)

    def finish(self, batch: Batch, out: torch.Tensor) -> torch.Tensor:
        """The composite: generated pixels in the hole, the known ones elsewhere."""
        return composite(out, batch["image"], batch["mask"])

    # ------------------------------------------------------------------------------ data

    @classmethod
    def dataset(cls, cfg: TrainConfig, folder: Path, split: str, *, train: bool) -> Dataset[Any]:
        masks = None
        if cfg.mask_set:
            masks = read_mask_set(Path(cfg.mask_set), (cfg.crop_size, cfg.crop_size))
        ds = FacesDataset(
            folder,
            split,
            mask_kinds=cfg.mask_kinds,
            masks=masks,
            train=train,
            flip_prob=cfg.flip_prob,
            seed=cfg.seed,
        )
        if ds.size != cfg.crop_size:
            raise ConfigError(
                f"crop_size: the face shards in {folder} hold {ds.size}x{ds.size} images, the "
                f"config builds DMFN for {cfg.crop_size}x{cfg.crop_size}; set crop_size = "
                f"{ds.size} or rebuild the shards with --image-size"
            )
        return ds

    def collate(self, samples: list[Any]) -> Batch:
        batch: Batch = default_collate(samples)
        return batch

    def to_device(self, batch: Batch) -> Batch:
        b = faces_to_device(batch, self.device)
        b["boxes"] = local_boxes(b["mask"], self.local_hw)  # (B, 2) local windows on the holes
        return b

    # ------------------------------------------------------------------------------ step

    def forward(self, batch: Batch) -> Outputs:
        image, mask = batch["image"], batch["mask"]
        out = self.G(generator_input(image, mask))
        return {"out": out, "comp": composite(out, image, mask)}

    def phases(self) -> list[Phase]:
        return [
            Phase("D", self.d_loss, through_forward=False),
            Phase("G", self.g_loss, through_forward=True, frozen=("D",)),
        ]

    def d_loss(self, batch: Batch, out: Outputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Relativistic-average GAN on the real face and the detached composite."""
        real, _ = self.D(batch["image"], batch["boxes"])
        fake, _ = self.D(out["comp"].detach(), batch["boxes"])
        loss = relativistic_discriminator_loss(real, fake)
        return loss, {"D": loss}

    def g_loss(self, batch: Batch, out: Outputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The switched-on generator terms (see the module docstring)."""
        image, comp, w = batch["image"], out["comp"], self.weights
        d_args: dict[str, Any] = {}
        if w.gan > 0 or w.feature_matching > 0:
            real_logits, real_feats = self.D(image, batch["boxes"])
            fake_logits, fake_feats = self.D(comp, batch["boxes"])
            d_args = {
                "real_logits": real_logits,
                "fake_logits": fake_logits,
                "real_d_feats": real_feats,
                "fake_d_feats": fake_feats,
            }
        if self.vgg is not None:
            with torch.no_grad():
                d_args["target_vgg"] = self.vgg(image)
            d_args["out_vgg"] = self.vgg(comp)
        terms = dmfn_generator_loss(w, comp, image, **d_args)
        loss = terms.pop("total")
        if "landmark" in self.face_nets:
            terms["landmark"] = self.cfg.lambda_landmark * landmark_loss(
                self.face_nets["landmark"], comp, image
            )
            loss = loss + terms["landmark"]
        if "expression" in self.face_nets:
            terms["expression"] = self.cfg.lambda_expression * expression_loss(
                self.face_nets["expression"], comp, image
            )
            loss = loss + terms["expression"]
        terms["G"] = loss
        return loss, terms

    def sample_columns(self, batch: Batch) -> list[np.ndarray]:
        """masked input (holes grey) | raw output | composite | real."""
        image, mask = batch["image"], batch["mask"]
        self.G.eval()
        with torch.no_grad(), self.autocast():
            out = self.eager("G")(generator_input(image, mask))
        self.G.train()
        masked = image * (1 - mask) + HOLE_GREY * mask
        return [
            to_uint8(masked),
            to_uint8(out),
            to_uint8(composite(out.float(), image, mask)),
            to_uint8(image),
        ]
