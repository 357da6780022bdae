"""A trained generator for evaluation and export, and what each shard kind evaluates.

:func:`load_trained` reads a run folder or a checkpoint (``ckpt-*.pt`` of ``pgdata train``) and
builds the family's step with only its networks (:meth:`TrainStep.for_inference`), the generator's
state loaded. Everything that can be wrong is refused in one line naming the file: not a pgdata
checkpoint (a bare state dict, another tool's file), a checkpoint of another family than the run
folder it is given with, a generator state that does not fit the network its config describes.

Per shard kind (the family's ``schema``) this module says how an evaluated sample is named, what
it is compared with, and which input panels the report's grids show:

==================  ==============================================  ====================  ==========================
schema              output file name                                ground truth          grid panels
==================  ==============================================  ====================  ==========================
``pose-transfer``   ``<source stem>_2_<target stem>_vis.png``       the target image      source, target pose
``aligned``         ``<image stem>.png``                            the B (or A) half     input
``faces``           ``<face stem>.png``                             the face              masked input
==================  ==============================================  ====================  ==========================

The pose-transfer name is DPTN's ``save_results``: the image path is the source name without its
extension + ``_2_`` + the target name, saved as ``<that stem>_vis.<ext>``; DPTN writes ``jpg``,
pgdata PNG (lossless, as the issue's protocol asks, so the scores see exactly the generated
pixels). Float outputs become uint8 by **rounding** (DPTN's ``tensor2im`` truncates, which darkens
by half a level on average).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import torch

from pgdata.config import config_from_mapping
from pgdata.errors import ConfigError, InputFormatError, PgdataError
from pgdata.shards.manifest import read_manifest
from pgdata.training.checkpoint import (
    CHECKPOINT_FORMAT,
    RUN_CONFIG,
    list_checkpoints,
    load_checkpoint,
)
from pgdata.training.config import TrainConfig, TrainingError
from pgdata.training.logs import pose_panel, to_uint8
from pgdata.training.steps import TrainStep, get_family
from pgdata.training.steps.common import panel

__all__ = [
    "GENERATOR",
    "Trained",
    "default_size",
    "eval_names",
    "eval_targets",
    "example_batch",
    "find_checkpoint",
    "grid_panels",
    "load_trained",
    "resolve_device",
    "to_rgb_uint8",
]

GENERATOR = "G"  # the generator's key in every family's checkpoint
EXAMPLE_SEED = 0  # seeds the random example inputs of export and speed runs
_KEYPOINT_MARGIN = 0.1  # example keypoints stay this fraction of the frame inside it
_LISTED_KEYS = 3  # mismatched state dict keys named in an error


def resolve_device(device: str) -> torch.device:
    """``"auto"`` → CUDA when available, else the CPU; anything else as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass
class Trained:
    """A generator loaded for inference.

    Attributes:
        step: the family's step (:meth:`TrainStep.for_inference`), generator state loaded.
        cfg: the config saved in the checkpoint (runtime keys as :meth:`for_inference` sets them).
        checkpoint: the checkpoint file read.
        trained_steps: optimiser steps the checkpoint had done.
        run: the run folder, when one was given (or the checkpoint sits in one).
    """

    step: TrainStep
    cfg: TrainConfig
    checkpoint: Path
    trained_steps: int
    run: Path | None

    @property
    def family(self) -> str:
        """The family name (``dptn``, ``patn``, ...)."""
        return self.cfg.family

    @property
    def generator(self) -> torch.nn.Module:
        """The generator network (state loaded, eval mode)."""
        return self.step.networks[GENERATOR]


def find_checkpoint(run: Path | None, checkpoint: Path | None) -> Path:
    """The checkpoint to load: ``checkpoint`` (a file, or a run folder: its newest), else the
    newest ``ckpt-*.pt`` of ``run``. InputFormatError when there is none."""
    if checkpoint is not None and checkpoint.is_dir():
        run, checkpoint = checkpoint, None
    if checkpoint is not None:
        return checkpoint
    if run is None:
        raise ConfigError("give a run folder or a checkpoint file")
    if not run.is_dir():
        raise InputFormatError(run, "run folder not found")
    found = list_checkpoints(run)
    if not found:
        raise InputFormatError(
            run, "holds no checkpoint (ckpt-*.pt): train there first, or give --checkpoint FILE"
        )
    return found[-1][1]


def _run_family(run: Path) -> str:
    path = run / RUN_CONFIG
    if not path.is_file():
        raise InputFormatError(run, f"not a pgdata run folder (no {RUN_CONFIG})")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputFormatError(path, f"not valid JSON ({e})") from None
    return str(record.get("family"))


def _mismatch(model: dict[str, torch.Tensor], state: dict[str, Any]) -> str | None:
    """Why ``state`` does not load into a network with ``model`` (its state dict), in one line."""
    parts = []
    for label, keys in (
        ("missing", [k for k in model if k not in state]),
        ("unexpected", [k for k in state if k not in model]),
        (
            "other shapes for",
            [
                k
                for k in model
                if k in state and tuple(getattr(state[k], "shape", ())) != tuple(model[k].shape)
            ],
        ),
    ):
        if keys:
            more = f" and {len(keys) - _LISTED_KEYS} more" if len(keys) > _LISTED_KEYS else ""
            parts.append(f"{label} {', '.join(keys[:_LISTED_KEYS])}{more}")
    return "; ".join(parts) or None


def load_trained(
    run: Path | None, checkpoint: Path | None, device: str | torch.device = "cpu"
) -> Trained:
    """Load the generator of ``checkpoint`` (or of ``run``'s newest checkpoint) onto ``device``.

    Raises:
        InputFormatError: no checkpoint, not a pgdata checkpoint, or a generator state that does
            not fit the network of the checkpoint's own config.
        TrainingError: a checkpoint of another family than the run folder given with it.
        ConfigError: the saved config is not valid for this pgdata (unknown family or keys).
    """
    if checkpoint is not None and checkpoint.is_dir():  # a run folder: its newest checkpoint
        run, checkpoint = checkpoint, None
    path = find_checkpoint(run, checkpoint)
    ckpt = load_checkpoint(path)
    if ckpt.get("format") != CHECKPOINT_FORMAT or not isinstance(ckpt.get("config"), dict):
        raise InputFormatError(
            path,
            f"not a pgdata training checkpoint (no format {CHECKPOINT_FORMAT!r} with a config): "
            "give a ckpt-*.pt written by `pgdata train`",
        )
    family = str(ckpt.get("family"))
    if run is not None:
        run_family = _run_family(run)
        if run_family != family:
            raise TrainingError(
                f"{path} is a {family!r} checkpoint, but the run {run} trains {run_family!r}: "
                "give a checkpoint of this run"
            )
    cfg = config_from_mapping(TrainConfig, ckpt["config"], origin=str(path))
    if cfg.family != family:
        raise InputFormatError(path, f"family {family!r} but its config says {cfg.family!r}")
    step = get_family(family).for_inference(cfg, resolve_device(str(device)))
    state = ckpt.get(GENERATOR)
    if not isinstance(state, dict):
        raise InputFormatError(path, f"holds no generator state (key {GENERATOR!r})")
    net = step.networks[GENERATOR]
    wrong = _mismatch(net.state_dict(), state)
    if wrong is not None:
        raise InputFormatError(
            path, f"its generator does not fit the {family!r} network of its config ({wrong})"
        )
    net.load_state_dict(state)
    if run is None and (path.parent / RUN_CONFIG).is_file():
        run = path.parent
    return Trained(step, step.cfg, path, int(ckpt.get("step", 0)), run)


# ------------------------------------------------------------------------- what is evaluated


def _stem(name: str) -> str:
    return PurePath(name).stem


def eval_names(schema: str, batch: dict[str, Any]) -> list[str]:
    """Output file stems of a CPU batch (see the module docstring)."""
    if schema == "pose-transfer":
        return [
            f"{_stem(a)}_2_{_stem(b)}_vis"
            for a, b in zip(batch["P1_path"], batch["P2_path"], strict=True)
        ]
    return [_stem(n) for n in batch["name"]]


def to_rgb_uint8(images: torch.Tensor) -> np.ndarray:
    """``(B, 1 or 3, H, W)`` float in [-1, 1] → ``(B, H, W, 3)`` uint8 (rounded; grey repeated)."""
    return panel(images)


def eval_targets(step: TrainStep, batch: dict[str, Any]) -> torch.Tensor:
    """The ground truth of a device batch, ``(B, C, H, W)`` in [-1, 1]."""
    if step.schema == "pose-transfer":
        target: torch.Tensor = batch["P2"]
    elif step.schema == "faces":
        target = batch["image"]
    else:
        target = batch["target"]
    return target


def grid_panels(step: TrainStep, batch: dict[str, Any]) -> dict[str, np.ndarray]:
    """The input panels a report grid shows before *target* and *output* (``(B, H, W, 3)`` uint8)."""
    if step.schema == "pose-transfer":
        hw = (int(batch["P1"].shape[-2]), int(batch["P1"].shape[-1]))
        return {"source": to_uint8(batch["P1"]), "target pose": pose_panel(batch["K2"], hw)}
    if step.schema == "faces":
        return {"masked input": to_uint8(batch["image"] * (1 - batch["mask"]))}
    return {"input": panel(batch["input"])}


# ------------------------------------------------------------------- inputs without any data


def default_size(trained: Trained) -> tuple[int, int] | None:
    """The image size (H, W) the model was trained at, when the checkpoint or its run says it.

    Faces and aligned images: ``crop_size`` squared. Pose transfer: the shard manifest of the run
    (``RUN/config.json``'s ``data``) when it can still be read, else pix2pix-pose's ``pad_to`` or
    DPTN's ``resize_to``; ``None`` when nothing says.
    """
    cfg = trained.cfg
    if trained.step.schema in ("faces", "aligned"):
        return cfg.crop_size, cfg.crop_size
    if trained.run is not None and (trained.run / RUN_CONFIG).is_file():
        try:
            data = json.loads((trained.run / RUN_CONFIG).read_text(encoding="utf-8"))["data"]
            h, w = read_manifest(Path(data)).config["image_hw"]
            return int(h), int(w)
        except (PgdataError, KeyError, ValueError, TypeError, OSError):
            pass
    for size in (cfg.pad_to, cfg.resize_to):
        if len(size) == 2:
            return int(size[0]), int(size[1])
    return None


def example_batch(
    step: TrainStep, batch_size: int, size_hw: Sequence[int], *, joints: int | None = None
) -> dict[str, Any]:
    """A CPU batch of random inputs of the family's shard kind (export, speed): seeded, so the
    same every time. Pose keypoints lie inside the frame; face masks are a centre square."""
    gen = torch.Generator().manual_seed(EXAMPLE_SEED)
    h, w = int(size_hw[0]), int(size_hw[1])
    b = batch_size

    def image(side_h: int, side_w: int) -> torch.Tensor:
        return torch.randint(0, 256, (b, 3, side_h, side_w), generator=gen, dtype=torch.uint8)

    if step.schema == "pose-transfer":
        j = joints or step.cfg.pose_channels
        lo = torch.tensor([w * _KEYPOINT_MARGIN, h * _KEYPOINT_MARGIN])
        span = torch.tensor([w, h]) * (1 - 2 * _KEYPOINT_MARGIN)
        kps = []
        for _ in range(2):
            xy = lo + torch.rand((b, j, 2), generator=gen) * span
            kps.append(torch.cat([xy, torch.ones(b, j, 1)], dim=-1))
        names = [f"example{i}.jpg" for i in range(b)]
        return {
            "P1": image(h, w), "P2": image(h, w), "K1": kps[0], "K2": kps[1],
            "P1_path": names, "P2_path": names,
        }  # fmt: skip
    names = [f"example{i}.png" for i in range(b)]
    if step.schema == "faces":
        mask = torch.zeros((b, 1, h, w), dtype=torch.uint8)
        mask[..., h // 4 : h - h // 4, w // 4 : w - w // 4] = 1
        return {"image": image(h, w), "mask": mask, "name": names}
    return {"A": image(h, w), "B": image(h, w), "name": names}
