"""The pix2pix families: ``unet_256`` + 70×70 PatchGAN, on aligned images or as a pose baseline.

One step, as pix2pix's ``optimize_parameters`` (generators.md §4): forward, then D, then G:

    G forward:  fake = G(x)
    D step:     ½ [BCE(D(cat(x, y)), 1) + BCE(D(cat(x, fake.detach())), 0)]
    G step:     λ_gan BCE(D(cat(x, fake)), 1) + λ_rec mean|fake − y|        (λ_rec = 100)

- ``pix2pix`` (:class:`Pix2PixStep`, aligned shards): ``x``, ``y`` are the A and B halves of an
  A|B image (``direction = "BtoA"`` swaps them), resized to ``load_size``, cropped to
  ``crop_size`` and flipped together; ``input_nc``/``output_nc`` 1 converts a side to grey.
- ``pix2pix_pose`` (:class:`Pix2PixPoseStep`, pose-transfer shards): ``x`` = cat(source image,
  source heatmaps, target heatmaps) (3 + 18 + 18 = 39 channels), ``y`` = the target image, both
  padded to ``pad_to`` (256×256 for DeepFashion's 256×176: images with white, heatmaps with 0),
  since ``unet_256`` needs multiples of 256; grids are cropped back to the native size.

Adam 2e-4 (0.5, 0.999) for both networks (``lr_d_ratio = 1``), 100 flat + 100 decaying epochs,
batch 1. Sample grids are drawn in eval mode (BatchNorm running statistics, no dropout): the
reference keeps train mode at test time unless ``--eval``, but a grid must not change the state a
resumed run continues from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset, default_collate

from pgdata.data import (
    AlignedDataset,
    PoseCollate,
    PoseTransferDataset,
    aligned_to_device,
    to_device,
)
from pgdata.errors import ConfigError
from pgdata.models.pix2pix import PatchDiscriminator, Pix2PixConfig, UnetGenerator, build_pix2pix
from pgdata.training.config import TrainConfig
from pgdata.training.logs import pose_panel, to_uint8
from pgdata.training.losses_gan import pix2pix_discriminator_loss, pix2pix_generator_loss
from pgdata.training.steps.base import Batch, Outputs, Phase, TrainStep
from pgdata.training.steps.common import check_pose_data, panel

__all__ = ["Pix2PixPoseStep", "Pix2PixStep", "pix2pix_config"]

IMAGE_PAD = 1.0  # white, in [-1, 1]: DeepFashion's background
HEATMAP_PAD = 0.0
ALIGNED_CHANNELS = (1, 3)  # RGB halves, or grey (pix2pix converts with Pillow's "L")


def pix2pix_config(cfg: TrainConfig) -> Pix2PixConfig:
    """The network config of a training config."""
    return Pix2PixConfig(
        input_channels=cfg.input_nc,
        output_channels=cfg.output_nc,
        ngf=cfg.ngf,
        num_downs=cfg.num_downs,
        norm=cfg.norm,
        dropout=cfg.dropout,
        ndf=cfg.ndf,
        d_layers=cfg.dis_layers,
    )


class _Pix2Pix(TrainStep):
    """What both pix2pix families share: networks, optimisers, the two phases.

    Subclasses put the generator input in ``batch["input"]`` and the target in
    ``batch["target"]`` (``to_device``) and draw the grid.
    """

    def __init__(self, cfg: TrainConfig, device: torch.device, steps_per_epoch: int) -> None:
        super().__init__(cfg, device, steps_per_epoch)
        self.networks = self.build_networks(cfg)
        for net in self.networks.values():
            self.place(net).train()
        self.G, self.D = self.networks["G"], self.networks["D"]
        self.gan_optimizers(self.G, {"D": self.D})

    @staticmethod
    def build_networks(cfg: TrainConfig, *, init: bool = True) -> dict[str, nn.Module]:
        net = pix2pix_config(cfg)
        if init:
            g, d = build_pix2pix(net)
        else:  # shapes only (pgdata models)
            g, d = UnetGenerator(net), PatchDiscriminator(net)
        return {"G": g, "D": d}

    def forward(self, batch: Batch) -> Outputs:
        return {"fake": self.G(batch["input"])}

    def phases(self) -> list[Phase]:
        return [
            Phase("D", self.d_loss, through_forward=False),
            Phase("G", self.g_loss, through_forward=True, frozen=("D",)),
        ]

    def d_loss(self, batch: Batch, out: Outputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """BCE on the real pair and the detached fake pair."""
        x = batch["input"]
        real = self.D(torch.cat([x, batch["target"]], dim=1))
        fake = self.D(torch.cat([x, out["fake"].detach()], dim=1))
        loss = pix2pix_discriminator_loss(real, fake)
        return loss, {"D": loss}

    def g_loss(self, batch: Batch, out: Outputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """λ_gan × BCE(D(x, fake), 1) + λ_rec × L1."""
        fake = out["fake"]
        logits = self.D(torch.cat([batch["input"], fake], dim=1))
        terms = pix2pix_generator_loss(logits, fake, batch["target"], lambda_l1=self.cfg.lambda_rec)
        gan = self.cfg.lambda_gan * terms["gan"]
        loss = gan + terms["l1"]
        return loss, {"gan": gan, "l1": terms["l1"], "G": loss}

    def inference_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        return (batch["input"],)

    def generate(self, batch: Batch) -> torch.Tensor:
        """The generator's output in eval mode, without gradients (sample grids)."""
        self.G.eval()
        with torch.no_grad(), self.autocast():
            fake: torch.Tensor = self.eager("G")(batch["input"])
        self.G.train()
        return fake


class Pix2PixStep(_Pix2Pix):
    """pix2pix on aligned A|B shards (see the module docstring)."""

    family = "pix2pix"
    schema = "aligned"
    recipe_hint = "pgdata build --recipe pipelines/aligned.toml"

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        multiple = 2**cfg.num_downs
        if cfg.crop_size % multiple:
            raise ConfigError(
                f"crop_size: unet_{multiple} (num_downs {cfg.num_downs}) needs multiples of "
                f"{multiple}, found {cfg.crop_size}"
            )

    @classmethod
    def dataset(cls, cfg: TrainConfig, folder: Path, split: str, *, train: bool) -> Dataset[Any]:
        for key in ("input_nc", "output_nc"):
            found = getattr(cfg, key)
            if found not in ALIGNED_CHANNELS:
                raise ConfigError(
                    f"{key}: the aligned images in {folder} give 3 channels (RGB) or 1 (grey), "
                    f"the config has {found}"
                )
        return AlignedDataset(
            folder,
            split,
            load_size=cfg.load_size,
            crop_size=cfg.crop_size,
            augment=train,
            seed=cfg.seed,
        )

    def collate(self, samples: list[Any]) -> Batch:
        batch: Batch = default_collate(samples)
        return batch

    def to_device(self, batch: Batch) -> Batch:
        cfg = self.cfg
        a_to_b = cfg.direction == "AtoB"
        a_nc, b_nc = (cfg.input_nc, cfg.output_nc) if a_to_b else (cfg.output_nc, cfg.input_nc)
        b = aligned_to_device(batch, self.device, a_channels=a_nc, b_channels=b_nc)
        b["input"], b["target"] = (b["A"], b["B"]) if a_to_b else (b["B"], b["A"])
        return b

    def sample_columns(self, batch: Batch) -> list[np.ndarray]:
        """input | target | output."""
        fake = self.generate(batch)
        return [panel(batch["input"]), panel(batch["target"]), panel(fake)]


class Pix2PixPoseStep(_Pix2Pix):
    """pix2pix as a pose-transfer baseline on pose-transfer shards (see the module docstring)."""

    family = "pix2pix_pose"
    schema = "pose-transfer"

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        multiple = 2**cfg.num_downs
        if len(cfg.pad_to) != 2 or any(x % multiple for x in cfg.pad_to):
            raise ConfigError(
                f"pad_to: unet_{multiple} needs [H, W] multiples of {multiple} to pad the "
                f"pairs to, found {list(cfg.pad_to)}"
            )

    @classmethod
    def dataset(cls, cfg: TrainConfig, folder: Path, split: str, *, train: bool) -> Dataset[Any]:
        ds = PoseTransferDataset(
            folder, split, flip_prob=cfg.flip_prob if train else 0.0, seed=cfg.seed
        )
        check_pose_data(cfg, ds, multiple=None, net="pix2pix")
        expected = 3 + 2 * ds.joints
        if cfg.input_nc != expected or cfg.output_nc != 3:
            key, want, found = (
                ("input_nc", expected, cfg.input_nc)
                if cfg.input_nc != expected
                else ("output_nc", 3, cfg.output_nc)
            )
            raise ConfigError(
                f"{key}: the pose-transfer shards in {folder} give {want} channels (image 3 + "
                f"source pose {ds.joints} + target pose {ds.joints} in, image 3 out), the "
                f"config has {found}"
            )
        h, w = (int(x) for x in ds.image_hw)
        ph, pw = cfg.pad_to
        if h > ph or w > pw:
            raise ConfigError(f"pad_to: {ph}x{pw} is smaller than the shards' {h}x{w} images")
        return ds

    def collate(self, samples: list[Any]) -> Batch:
        return PoseCollate(heatmaps=False)(samples)

    def _pad(self, x: torch.Tensor, value: float) -> torch.Tensor:
        """Pad ``(B, C, h, w)`` evenly to ``pad_to`` (the extra row/column at the bottom/right)."""
        ph, pw = self.cfg.pad_to
        h, w = x.shape[-2:]
        top, left = (ph - h) // 2, (pw - w) // 2
        return F.pad(x, (left, pw - w - left, top, ph - h - top), value=value)

    def to_device(self, batch: Batch) -> Batch:
        b = to_device(batch, self.device, self.cfg.heatmap_sigma)  # heatmaps at the native size
        poses = torch.cat([b["BP1"], b["BP2"]], dim=1)
        b["input"] = torch.cat(
            [self._pad(b["P1"], IMAGE_PAD), self._pad(poses, HEATMAP_PAD)], dim=1
        )
        b["target"] = self._pad(b["P2"], IMAGE_PAD)
        return b

    def finish(self, batch: Batch, out: torch.Tensor) -> torch.Tensor:
        """The padded output cropped back to the native size."""
        h, w = (int(x) for x in batch["P1"].shape[-2:])
        ph, pw = self.cfg.pad_to
        top, left = (ph - h) // 2, (pw - w) // 2
        return out[..., top : top + h, left : left + w]

    def sample_columns(self, batch: Batch) -> list[np.ndarray]:
        """source | source pose | target pose | target | output, at the native size."""
        fake = self.finish(batch, self.generate(batch))
        hw = (int(batch["P1"].shape[-2]), int(batch["P1"].shape[-1]))
        return [
            to_uint8(batch["P1"]),
            pose_panel(batch["K1"], hw),
            pose_panel(batch["K2"], hw),
            to_uint8(batch["P2"]),
            to_uint8(fake),
        ]
