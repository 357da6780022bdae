"""``pgdata export --checkpoint C --format onnx|torchscript --out FILE``: the generator alone.

The generator of a checkpoint (or of a run folder's newest) is exported with its inference inputs
(:meth:`pgdata.training.steps.base.TrainStep.inference_net`): a dynamic batch dimension, the image
size fixed (``size_hw``; default the size the model was trained at, see
:func:`pgdata.training.inference.default_size`). No training data is read: the example inputs are
seeded random images and keypoints (:func:`pgdata.training.inference.example_batch`).

After writing, the file is loaded back (ONNX Runtime's CPU provider, or ``torch.jit.load``) and
run at batch 1 and 3 on other random inputs; the largest absolute difference from PyTorch's
output is reported, and above :data:`EXPORT_TOLERANCE` the export is refused (the file is
removed). Inputs and output are float32 NCHW; images in [-1, 1], heatmaps in [0, 1], masks in
{0, 1}; the output is the generator's raw image in [-1, 1] (DMFN's before compositing,
pix2pix-pose's still padded).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pgdata import __version__
from pgdata.errors import ConfigError
from pgdata.training.config import TrainingError
from pgdata.training.export import (
    EXPORT_FORMATS,
    EXPORTERS,
    Exporter,
    Format,
    export_onnx,
    export_torchscript,
    load_torchscript,
    onnx_session,
    run_onnx,
)
from pgdata.training.inference import default_size, example_batch, load_trained
from pgdata.training.steps import TrainStep

__all__ = ["EXPORT_TOLERANCE", "ExportConfig", "ExportResult", "run_export"]

EXPORT_TOLERANCE = 1e-4
"""Largest absolute output difference (images in [-1, 1]) an export may show against PyTorch."""
EXAMPLE_BATCH = 2  # traced / exported with a batch of 2, so no size-1 dimension is specialised
CHECK_BATCHES = (1, 3)  # the file must give PyTorch's output at other batch sizes too


@dataclass(frozen=True)
class ExportConfig:
    """Options of ``pgdata export``.

    Attributes:
        checkpoint: a checkpoint file or a run folder (its newest checkpoint).
        out: the file to write (``.onnx`` / ``.pt`` by convention).
        format: ``onnx`` or ``torchscript``.
        size_hw: the image size (H, W) to export at; default: the training size.
        exporter: ONNX exporter, ``dynamo`` (default) or ``legacy``.
        opset: ONNX opset (default 18; legacy 17).
    """

    checkpoint: Path
    out: Path
    format: Format = "onnx"
    size_hw: tuple[int, int] | None = None
    exporter: Exporter = "dynamo"
    opset: int | None = None

    def __post_init__(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise ConfigError(f"format {self.format!r} is not one of {list(EXPORT_FORMATS)}")
        if self.exporter not in EXPORTERS:
            raise ConfigError(f"exporter {self.exporter!r} is not one of {list(EXPORTERS)}")
        if self.opset is not None and self.opset < 17:
            raise ConfigError(f"opset must be at least 17, found {self.opset}")
        if self.out.is_dir():
            raise ConfigError(f"--out {self.out} is a folder: give the file to write")


@dataclass
class ExportResult:
    """What :func:`run_export` wrote and how close it is to PyTorch."""

    out: Path
    format: Format
    family: str
    checkpoint: Path
    input_shapes: dict[str, list[int | str]]
    max_abs_diff: float
    opset: int | None
    seconds: float

    def summary(self) -> str:
        """One line."""
        inputs = ", ".join(f"{k} {'x'.join(map(str, v))}" for k, v in self.input_shapes.items())
        how = f"ONNX opset {self.opset}" if self.format == "onnx" else "TorchScript"
        return (
            f"export: wrote {self.out} ({how}, {self.family} generator; inputs {inputs}); "
            f"max |file - PyTorch| {self.max_abs_diff:.1e} at batch "
            f"{' and '.join(map(str, CHECK_BATCHES))}; {self.seconds:.1f} s"
        )


def run_export(cfg: ExportConfig) -> ExportResult:
    """Export, reload, compare (see the module docstring)."""
    t0 = time.perf_counter()
    trained = load_trained(None, cfg.checkpoint, "cpu")
    step = trained.step
    size = cfg.size_hw or default_size(trained)
    if size is None:
        raise ConfigError(
            f"{trained.checkpoint}: the checkpoint does not say the image size it was trained "
            "at (its run folder or shards are gone): give --size HxW"
        )
    net = step.inference_net().eval()
    example = step.inference_inputs(step.to_device(example_batch(step, EXAMPLE_BATCH, size)))
    shapes: dict[str, list[int | str]] = {
        name: ["batch", *t.shape[1:]] for name, t in zip(step.inference_names, example, strict=True)
    }
    metadata = {
        "pgdata_version": __version__,
        "family": trained.family,
        "checkpoint": trained.checkpoint.name,
        "trained_steps": trained.trained_steps,
        "inputs": shapes,
        "output": "(batch, C, H, W) float32 image in [-1, 1]",
        "value_ranges": "images [-1, 1]; heatmaps [0, 1]; masks {0, 1}",
    }
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    opset: int | None = None
    if cfg.format == "onnx":
        opset = export_onnx(
            net,
            example,
            step.inference_names,
            cfg.out,
            exporter=cfg.exporter,
            opset=cfg.opset,
            metadata={k: str(v) for k, v in metadata.items()},
        )
    else:
        export_torchscript(net, example, cfg.out, metadata=metadata)
    try:
        diff = _compare(cfg, step, net, size)
    except Exception:
        cfg.out.unlink(missing_ok=True)
        raise
    if not diff <= EXPORT_TOLERANCE:
        cfg.out.unlink(missing_ok=True)
        raise TrainingError(
            f"the exported {cfg.format} model's output differs from PyTorch's by {diff:.2e} "
            f"(> {EXPORT_TOLERANCE:g}); nothing written"
        )
    return ExportResult(
        cfg.out,
        cfg.format,
        trained.family,
        trained.checkpoint,
        shapes,
        diff,
        opset,
        time.perf_counter() - t0,
    )


def _compare(
    cfg: ExportConfig, step: TrainStep, net: torch.nn.Module, size: tuple[int, int]
) -> float:
    """Largest |file − PyTorch| at :data:`CHECK_BATCHES` on fresh random inputs."""
    worst = 0.0
    runner = onnx_session(cfg.out) if cfg.format == "onnx" else load_torchscript(cfg.out)[0]
    for b in CHECK_BATCHES:
        cpu = example_batch(step, b + EXAMPLE_BATCH, size)  # other values than the example's
        inputs = tuple(t[-b:] for t in step.inference_inputs(step.to_device(cpu)))
        with torch.no_grad():
            want = net(*inputs).numpy()
            got = run_onnx(runner, inputs) if cfg.format == "onnx" else runner(*inputs).numpy()
        if got.shape != want.shape:
            raise TrainingError(f"the exported model gives {got.shape}, PyTorch {want.shape}")
        worst = max(worst, float(np.abs(got - want).max()))
    return worst
