"""The PATN family (Zhu et al., CVPR 2019): pose-attentional transfer with two discriminators.

One step, as PATN's ``optimize_parameters`` (generators.md §3), in its order G, D_PP, D_PB:

    G forward:  fake = G(P1, cat(BP1, BP2))
    G step:     λ_A L1(fake, P2) + λ_B L1(φ(fake), φ(P2)) + λ_GAN (g(D_PB(fake, BP2)) + g(D_PP(fake, P1))) / 2
    D_PP step:  ½ λ_GAN [ℓ(D_PP(P2, P1), 1) + ℓ(D_PP(pool(fake, P1)), 0)]
    D_PB step:  ½ λ_GAN [ℓ(D_PB(P2, BP2), 1) + ℓ(D_PB(pool(fake, BP2)), 0)]

``φ`` is VGG19 up to relu1_2 on ImageNet-normalised input (``perceptual = false`` drops it);
``g``/``ℓ`` are LSGAN (DeepFashion) or BCE (Market, ``gan_mode = "vanilla"``). ``pool`` is
pix2pix's image pool of ``pool_size`` past fakes (0 on DeepFashion, 50 on Market; its content is
saved in checkpoints, rank 0's under DDP). λ_A = ``lambda_rec``, λ_B = ``lambda_perceptual``,
λ_GAN = ``lambda_gan``. An epoch of PATN's schedule is ``epoch_pairs`` = 4,000 random pairs.

Pose maps (``pose_maps``): ``"gaussian"`` feeds float Gaussians (σ = ``heatmap_sigma``) rendered
from the keypoints on the device; ``"patn_uint8"`` truncates them as PATN's released uint8 maps
did: 1 at a joint's pixel when the joint sits on integer coordinates, 0 everywhere else
(``render_heatmaps(..., patn_uint8_quirk=True)`` in :mod:`pgdata.stages.heatmaps`, same values).

Batch keys: as DPTN's (``pgdata.data.to_device``): ``P1``, ``P2``, ``BP1``, ``BP2``, ``K1``, ``K2``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from pgdata.data import PoseCollate, PoseTransferDataset, to_device
from pgdata.models.patn import PATNConfig, PATNDiscriminator, PATNGenerator, build_patn
from pgdata.training.config import TrainConfig
from pgdata.training.logs import pose_panel, to_uint8
from pgdata.training.losses_gan import (
    PATN_PERCEPTUAL_LAYER,
    PATNLossWeights,
    patn_discriminator_loss,
    patn_generator_loss,
)
from pgdata.training.steps.base import Batch, Outputs, Phase, TrainStep
from pgdata.training.steps.common import ImagePool, check_pose_data, vgg_features

__all__ = ["PATNStep", "patn_config"]

PATN_MULTIPLE = 4  # two stride-2 convolutions


def patn_config(cfg: TrainConfig) -> PATNConfig:
    """The network config of a training config."""
    return PATNConfig(
        pose_channels=cfg.pose_channels,
        ngf=cfg.ngf,
        n_blocks=cfg.patn_blocks,
        norm=cfg.norm,
        dropout=cfg.dropout,
        ndf=cfg.ndf,
        d_blocks=cfg.dis_layers,
        d_dropout=cfg.dropout,
    )


class PATNStep(TrainStep):
    """PATN's recipe (see the module docstring)."""

    family = "patn"
    schema = "pose-transfer"
    inference_names = ("source", "poses")

    def __init__(self, cfg: TrainConfig, device: torch.device, steps_per_epoch: int) -> None:
        super().__init__(cfg, device, steps_per_epoch)
        self.networks = self.build_networks(cfg)
        for net in self.networks.values():
            self.place(net).train()
        self.G = self.networks["G"]
        self.D_PB, self.D_PP = self.networks["D_PB"], self.networks["D_PP"]
        self.vgg = None
        if cfg.perceptual:
            self.vgg = self.place(vgg_features(cfg, (PATN_PERCEPTUAL_LAYER,), "imagenet"))
        self.weights = PATNLossWeights(
            lambda_l1=cfg.lambda_rec,
            lambda_perceptual=cfg.lambda_perceptual if cfg.perceptual else 0.0,
            lambda_gan=cfg.lambda_gan,
            gan_mode=cfg.gan_mode,
        )
        self.gan_optimizers(self.G, {"D_PP": self.D_PP, "D_PB": self.D_PB})
        self.pools = {name: ImagePool(cfg.pool_size) for name in ("D_PP", "D_PB")}

    @staticmethod
    def build_networks(cfg: TrainConfig, *, init: bool = True) -> dict[str, nn.Module]:
        net = patn_config(cfg)
        if init:
            g, d_pb, d_pp = build_patn(net)
        else:  # shapes only (pgdata models)
            g = PATNGenerator(net)
            d_pb = PATNDiscriminator(net, net.image_channels + net.pose_channels)
            d_pp = PATNDiscriminator(net, 2 * net.image_channels)
        return {"G": g, "D_PB": d_pb, "D_PP": d_pp}

    # ------------------------------------------------------------------------------ data

    @classmethod
    def dataset(cls, cfg: TrainConfig, folder: Path, split: str, *, train: bool) -> Dataset[Any]:
        ds = PoseTransferDataset(
            folder, split, flip_prob=cfg.flip_prob if train else 0.0, seed=cfg.seed
        )
        check_pose_data(cfg, ds, multiple=PATN_MULTIPLE, net="PATN")
        return ds

    def collate(self, samples: list[Any]) -> Batch:
        return PoseCollate(heatmaps=False)(samples)

    def to_device(self, batch: Batch) -> Batch:
        b = to_device(batch, self.device, self.cfg.heatmap_sigma)  # one heatmap render per batch
        if self.cfg.pose_maps == "patn_uint8":
            # uint8 truncation of maps in [0, 1]: only an exact 1.0 (an integer joint) survives
            b["BP1"], b["BP2"] = b["BP1"].floor(), b["BP2"].floor()
        return b

    def inference_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """The source image and cat(source heatmaps, target heatmaps) (``poses``: 2 × 18)."""
        return batch["P1"], torch.cat([batch["BP1"], batch["BP2"]], dim=1)

    # ------------------------------------------------------------------------------ step

    def forward(self, batch: Batch) -> Outputs:
        fake = self.G(batch["P1"], torch.cat([batch["BP1"], batch["BP2"]], dim=1))
        return {"fake": fake}

    def phases(self) -> list[Phase]:
        return [
            Phase("G", self.g_loss, through_forward=True, frozen=("D_PB", "D_PP")),
            Phase("D_PP", self.d_pp_loss, through_forward=False),
            Phase("D_PB", self.d_pb_loss, through_forward=False),
        ]

    def g_loss(self, batch: Batch, out: Outputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """L1 + perceptual L1 + the mean GAN term of both discriminators."""
        fake, target = out["fake"], batch["P2"]
        if self.vgg is not None:
            fake_feats = self.vgg(fake)
            with torch.no_grad():
                real_feats = self.vgg(target)
        else:  # λ_B is 0: the term is a constant 0
            fake_feats = real_feats = {PATN_PERCEPTUAL_LAYER: fake.new_zeros(())}
        terms = patn_generator_loss(
            fake,
            target,
            fake_feats,
            real_feats,
            self.D_PB(torch.cat([fake, batch["BP2"]], dim=1)),
            self.D_PP(torch.cat([fake, batch["P1"]], dim=1)),
            self.weights,
        )
        loss = terms.pop("total")
        if self.vgg is None:
            terms.pop("perceptual")
        terms["G"] = loss
        return loss, terms

    def _d_loss(self, name: str, batch: Batch, out: Outputs, cond: torch.Tensor) -> torch.Tensor:
        d = self.networks[name]
        real = d(torch.cat([batch["P2"], cond], dim=1))
        fake = self.pools[name].query(torch.cat([out["fake"].detach(), cond], dim=1))
        return patn_discriminator_loss(real, d(fake), self.weights)

    def d_pp_loss(self, batch: Batch, out: Outputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D_PP on (image, source image) pairs."""
        loss = self._d_loss("D_PP", batch, out, batch["P1"])
        return loss, {"D_PP": loss}

    def d_pb_loss(self, batch: Batch, out: Outputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D_PB on (image, target pose) pairs."""
        loss = self._d_loss("D_PB", batch, out, batch["BP2"])
        return loss, {"D_PB": loss}

    def sample_columns(self, batch: Batch) -> list[np.ndarray]:
        """source | source pose | target pose | target | output."""
        self.G.eval()
        with torch.no_grad(), self.autocast():
            fake = self.eager("G")(batch["P1"], torch.cat([batch["BP1"], batch["BP2"]], dim=1))
        self.G.train()
        hw = (int(batch["P1"].shape[-2]), int(batch["P1"].shape[-1]))
        return [
            to_uint8(batch["P1"]),
            pose_panel(batch["K1"], hw),
            pose_panel(batch["K2"], hw),
            to_uint8(batch["P2"]),
            to_uint8(fake),
        ]

    # ------------------------------------------------------------------------ checkpoint

    def state_dict(self) -> dict[str, Any]:
        """The base state plus the image pools (``pools``: name → list of CPU images)."""
        state = super().state_dict()
        state["pools"] = {name: pool.state() for name, pool in self.pools.items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        for name, pool in self.pools.items():
            pool.load(state["pools"][name], self.device)
