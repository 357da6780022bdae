"""The DPTN family: DPTN, its MBConv teacher and the distilled 1 CAB + 1 TTB student.

One step, as DPTN's ``optimize_parameters`` (generators.md §2.3–2.4):

    G forward, both branches:  out_t = G(Xs, Ps, Pt) (s→t),  out_s (s→s)
    D step:  L_D = ½ [MSE(D(Xt), 1) + MSE(D(out_t.detach()), 0)]
    G step:  L_G = r (λ_rec L1_t + λ_c C_t + λ_s S_t) + (1 − r)(λ_rec L1_s + λ_c C_s + λ_s S_s)
                   + λ_g MSE(D(out_t), 1)  [+ λ_kd ‖out_t − T(x)_t‖₁ (+ s→s) with a teacher]

``C``/``S`` are the VGG19 content and style terms (``perceptual = false`` drops both). With
``teacher_checkpoint`` the frozen teacher (eval mode, no gradient, run under ``no_grad``) gives
the distillation target, and with ``init_from_teacher`` the student starts from the teacher's
weights (every tensor but the dropped CAB/TTB; D starts fresh).

``resize_to = [256, 256]`` reproduces DPTN's training at 256×256: source and target images are
stretched (bilinear), heatmaps rendered at 256×256 from keypoints scaled by the stretch, the
generator works and is scored at that size (``resize_back=False``); sample grids are resized
back to the native size.

Batch keys (``pgdata.data.to_device``): ``P1``, ``P2`` (B, 3, H, W) in [-1, 1]; ``BP1``,
``BP2`` (B, 18, h, w) heatmaps; ``K1``, ``K2`` (B, 18, 3) keypoints; ``P1w``, ``P2w`` the images
at the working size.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from pgdata.data import PoseCollate, PoseTransferDataset, to_device
from pgdata.errors import ConfigError, InputFormatError, WeightsError
from pgdata.models import VGG19, DPTNConfig, DPTNGenerator, build_discriminator
from pgdata.models.dptn import resize_bilinear
from pgdata.stages.heatmaps import render_heatmaps_torch
from pgdata.training.checkpoint import list_checkpoints, load_checkpoint
from pgdata.training.config import RANDOM_VGG, TrainConfig, TrainingError
from pgdata.training.logs import pose_panel, to_uint8
from pgdata.training.losses import (
    DPTNLossWeights,
    FrozenTeacher,
    PerceptualLoss,
    build_vgg,
    distillation_loss,
    dptn_generator_loss,
    init_student_from_teacher,
    load_teacher,
    lsgan_d_loss,
)
from pgdata.training.steps.base import Batch, Outputs, Phase, TrainStep

__all__ = ["ARCH_KEYS", "DPTNInference", "DPTNStep", "dptn_config", "teacher_config"]

ARCH_KEYS = (
    "ngf", "block", "mbconv_expand", "mbconv_kernel", "mbconv_se", "n_cab", "n_ttb", "heads",
    "norm", "dis_layers", "ndf",
)  # fmt: skip
"""TrainConfig keys handed to :class:`pgdata.models.DPTNConfig` under the same names."""

TEACHER_BLOCKS = 2  # CAB and TTB count of a teacher whose checkpoint holds no config


def dptn_config(cfg: TrainConfig | dict[str, Any]) -> DPTNConfig:
    """The network config of a training config (or of its JSON form, as saved in checkpoints)."""
    values = cfg.to_json() if isinstance(cfg, TrainConfig) else cfg
    try:
        return DPTNConfig(
            **{k: values[k] for k in ARCH_KEYS if k in values},
            resize_to=tuple(values["resize_to"]) if values.get("resize_to") else None,
        )
    except ValueError as e:
        raise ConfigError(f"DPTN network: {e}") from None


def teacher_config(path: Path, student: TrainConfig) -> tuple[Path, DPTNConfig]:
    """The teacher checkpoint file and its generator's architecture.

    ``path`` is a checkpoint file or a run folder (its newest checkpoint). The teacher is the
    student's network with the checkpoint's ``n_cab``/``n_ttb`` (2 and 2 when the checkpoint holds
    no config). TrainingError when the checkpoint's other network keys differ from the student's.
    """
    if path.is_dir():  # a teacher run folder: its newest checkpoint
        found = list_checkpoints(path)
        if not found:
            raise InputFormatError(
                path,
                "teacher run folder holds no checkpoint: train the teacher first (train/dptn-teacher.toml)",
            )
        path = found[-1][1]
    ckpt = load_checkpoint(path)
    saved: dict[str, Any] = ckpt["config"] if isinstance(ckpt.get("config"), dict) else {}
    own = student.to_json()
    differ = [
        f"{k} {saved[k]!r} (student {own[k]!r})"
        for k in ARCH_KEYS
        if k in saved and k not in ("n_cab", "n_ttb", "dis_layers") and saved[k] != own[k]
    ]
    if differ:
        raise TrainingError(
            f"teacher checkpoint {path} is another architecture: {', '.join(differ)}; train the "
            "teacher with the student's network keys (train/dptn-teacher.toml)"
        )
    arch = dataclasses.replace(
        dptn_config(student),
        n_cab=int(saved.get("n_cab", TEACHER_BLOCKS)),
        n_ttb=int(saved.get("n_ttb", TEACHER_BLOCKS)),
    )
    return path, arch


def _perceptual(cfg: TrainConfig) -> PerceptualLoss:
    if cfg.vgg_weights == RANDOM_VGG:
        return PerceptualLoss(VGG19())  # smoke tests only: random features
    try:
        return PerceptualLoss(build_vgg(cfg.vgg_weights or None))
    except WeightsError as e:
        raise WeightsError(
            f"{e}; or train without the content and style terms: --set perceptual=false"
        ) from None


class DPTNInference(nn.Module):
    """DPTN's generator for inference: ``(source, source_pose, target_pose)`` → the s→t image.

    ``(B, 3, H, W)`` in [-1, 1], ``(B, 18, h, w)`` heatmaps (``h, w`` = H, W or ``resize_to``) →
    ``(B, 3, H, W)`` in [-1, 1] (resized back to the source's size, as DPTN's test saves it).
    """

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(
        self, source: torch.Tensor, source_pose: torch.Tensor, target_pose: torch.Tensor
    ) -> torch.Tensor:
        out_t: torch.Tensor = self.generator(source, source_pose, target_pose)[0]
        return out_t


class DPTNStep(TrainStep):
    """DPTN's recipe (see the module docstring)."""

    family = "dptn"
    schema = "pose-transfer"
    inference_names = ("source", "source_pose", "target_pose")

    def __init__(self, cfg: TrainConfig, device: torch.device, steps_per_epoch: int) -> None:
        super().__init__(cfg, device, steps_per_epoch)
        self.networks = self.build_networks(cfg)
        self.G, self.D = self.networks["G"], self.networks["D"]
        self.teacher: FrozenTeacher | None = None
        if cfg.teacher_checkpoint:
            path, arch = teacher_config(Path(cfg.teacher_checkpoint), cfg)
            self.teacher = load_teacher(path, arch)
            if cfg.init_from_teacher:
                init_student_from_teacher(self.G, self.teacher.generator)
            self.place(self.teacher)
        for net in self.networks.values():
            self.place(net).train()
        self.perceptual = self.place(_perceptual(cfg)) if cfg.perceptual else None
        self.weights = DPTNLossWeights(
            rec=cfg.lambda_rec,
            content=cfg.lambda_content,
            style=cfg.lambda_style,
            gan=cfg.lambda_gan,
            ratio=cfg.t_s_ratio,
        )
        self.gan_optimizers(self.G, {"D": self.D})
        self.work_hw = self._work_hw(cfg)

    @staticmethod
    def build_networks(cfg: TrainConfig, *, init: bool = True) -> dict[str, nn.Module]:
        net = dptn_config(cfg)
        return {"G": DPTNGenerator(net, init=init), "D": build_discriminator(net)}

    def setup_inference(self) -> None:
        self.G = self.networks["G"]
        self.work_hw = self._work_hw(self.cfg)

    @staticmethod
    def _work_hw(cfg: TrainConfig) -> tuple[int, int] | None:
        return (int(cfg.resize_to[0]), int(cfg.resize_to[1])) if cfg.resize_to else None

    def inference_net(self) -> nn.Module:
        return DPTNInference(self.networks["G"])

    def inference_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        return batch["P1"], batch["BP1"], batch["BP2"]

    # ------------------------------------------------------------------------------ data

    @classmethod
    def dataset(cls, cfg: TrainConfig, folder: Path, split: str, *, train: bool) -> Dataset[Any]:
        return PoseTransferDataset(
            folder, split, flip_prob=cfg.flip_prob if train else 0.0, seed=cfg.seed
        )

    def collate(self, samples: list[Any]) -> Batch:
        return PoseCollate(heatmaps=False)(samples)

    def to_device(self, batch: Batch) -> Batch:
        b = to_device(batch, self.device, self.cfg.heatmap_sigma)  # one heatmap render per batch
        b["P1w"], b["P2w"] = b["P1"], b["P2"]
        if self.work_hw is not None and tuple(b["P1"].shape[-2:]) != self.work_hw:
            h, w = b["P1"].shape[-2:]
            scale = torch.tensor(
                [self.work_hw[1] / w, self.work_hw[0] / h, 1.0], device=self.device
            )
            for k in ("1", "2"):
                b[f"P{k}w"] = resize_bilinear(b[f"P{k}"], self.work_hw)
                b[f"BP{k}"] = render_heatmaps_torch(
                    b[f"K{k}"] * scale, self.work_hw, self.cfg.heatmap_sigma
                )
        if self.device.type == "cuda" and self.cfg.channels_last:
            for k in ("P1", "P2", "P1w", "P2w", "BP1", "BP2"):
                b[k] = b[k].contiguous(memory_format=torch.channels_last)
        return b

    # ------------------------------------------------------------------------------ step

    def forward(self, batch: Batch) -> Outputs:
        out_t, out_s = self.G(
            batch["P1"], batch["BP1"], batch["BP2"], with_source=True, resize_back=False
        )
        return {"out_t": out_t, "out_s": out_s}

    def phases(self) -> list[Phase]:
        return [
            Phase("D", self.d_loss, through_forward=False),
            Phase("G", self.g_loss, through_forward=True, frozen=("D",)),
        ]

    def d_loss(self, batch: Batch, out: Outputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """LSGAN discriminator loss on the real target and the detached s→t output."""
        loss = lsgan_d_loss(self.D(batch["P2w"]), self.D(out["out_t"].detach()))
        return loss, {"D": loss}

    def g_loss(self, batch: Batch, out: Outputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Dual-task reconstruction mix + LSGAN on s→t (+ distillation to the teacher)."""
        cfg = self.cfg
        terms = dptn_generator_loss(
            out["out_t"],
            batch["P2w"],
            self.D(out["out_t"]) if cfg.lambda_gan > 0 else None,
            self.weights,
            out_s=out["out_s"],
            source=batch["P1w"],
            perceptual=self.perceptual,
        )
        loss = terms.pop("total")
        if self.teacher is not None:
            t_t, t_s = self.teacher(
                batch["P1"],
                batch["BP1"],
                batch["BP2"],
                with_source=cfg.kd_source,
                resize_back=False,
            )
            terms["kd_t"] = distillation_loss(out["out_t"], t_t, cfg.lambda_kd)
            loss = loss + terms["kd_t"]
            if t_s is not None:
                terms["kd_s"] = distillation_loss(out["out_s"], t_s, cfg.lambda_kd)
                loss = loss + terms["kd_s"]
        terms["G"] = loss
        return loss, terms

    def sample_columns(self, batch: Batch) -> list[np.ndarray]:
        """source | source pose | target pose | target | output, at the native size."""
        self.G.eval()
        with torch.no_grad(), self.autocast():
            out_t, _ = self.eager("G")(batch["P1"], batch["BP1"], batch["BP2"])
        self.G.train()
        hw = (int(batch["P1"].shape[-2]), int(batch["P1"].shape[-1]))
        return [
            to_uint8(batch["P1"]),
            pose_panel(batch["K1"], hw),
            pose_panel(batch["K2"], hw),
            to_uint8(batch["P2"]),
            to_uint8(out_t),
        ]
