"""``pgdata eval --run RUN --data SHARDS --out REPORT``: generate a trained model's test outputs, score them.

1. The generator of the run's newest checkpoint (or ``checkpoint``) is loaded alone
   (:func:`pgdata.training.inference.load_trained`); the shards must be of the family's kind.
2. Every pair (image, face) of the split is generated in batches on the chosen device, in eval
   mode, float32, and written as PNG at the dataset's size: ``REPORT/generated/<name>.png``, the
   ground truth beside it as ``REPORT/target/<name>.png`` (names as
   :mod:`pgdata.training.inference` describes: DPTN's for pose transfer). Inpainting (DMFN) is
   scored on the composite, with the masks of ``mask_set`` (a ``pgdata masks`` folder; default the
   run's own ``mask_set``, else masks seeded by the sample index: fixed either way).
3. The two folders are scored like any two folders (:mod:`pgdata.jobs.evaluate.folders`), plus
   ``params`` (the generator's parameters) and, with ``speed``, the ``speed`` preset
   (:mod:`pgdata.jobs.evaluate.speed`).
4. The report (``index.html`` last) shows the grids' input panels (source and target pose, the
   masked face, the input half) from ``REPORT/inputs/<panel>/<name>.png``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from pgdata.errors import ConfigError
from pgdata.io.atomic import atomic_write_bytes
from pgdata.io.images import encode_png
from pgdata.jobs.evaluate.common import EvalResult, ScoreOptions, prepare_report_dir
from pgdata.jobs.evaluate.speed import model_speed
from pgdata.metrics.evaluators import MetricValue
from pgdata.metrics.folders import score_folders
from pgdata.metrics.report import grid_names, write_report
from pgdata.metrics.speed import count_parameters
from pgdata.training.inference import (
    Trained,
    eval_names,
    eval_targets,
    grid_panels,
    load_trained,
    to_rgb_uint8,
)

__all__ = ["EvalModelConfig", "run_eval_model"]

GENERATED, TARGET, INPUTS = "generated", "target", "inputs"


@dataclass(frozen=True)
class EvalModelConfig:
    """Options of a trained-model evaluation.

    Attributes:
        data: the shard folder (its ``split`` is evaluated).
        out: the report folder.
        run: the run folder (its newest checkpoint unless ``checkpoint`` is given).
        checkpoint: a checkpoint file (or a run folder).
        split: shard split to evaluate.
        options: scoring options (presets, padding, weights, FID real set, batch, device).
        speed: also time the generator (the ``speed`` preset).
        onnx: an exported ``.onnx`` of this generator for the ONNX Runtime timing (else exported).
        mask_set: fixed evaluation masks for inpainting (a ``pgdata masks`` folder).
        workers: DataLoader worker processes.
        limit: evaluate only the first ``limit`` pairs (quick looks; ``None`` = all).
    """

    data: Path
    out: Path
    run: Path | None = None
    checkpoint: Path | None = None
    split: str = "test"
    options: ScoreOptions = field(default_factory=ScoreOptions)
    speed: bool = False
    onnx: Path | None = None
    mask_set: Path | None = None
    workers: int = 0
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.run is None and self.checkpoint is None:
            raise ConfigError("give --run RUN or --checkpoint FILE")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be at least 1, found {self.limit}")
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0, found {self.workers}")
        if self.onnx is not None and not self.speed:
            raise ConfigError("--onnx is the model --speed times with ONNX Runtime: add --speed")


def _write(folder: Path, name: str, image: np.ndarray) -> None:
    atomic_write_bytes(folder / f"{name}.png", encode_png(image))


def _dataset(cfg: EvalModelConfig, trained: Trained) -> Any:
    family = type(trained.step)
    family.check_data(cfg.data)
    train_cfg = trained.cfg
    if cfg.mask_set is not None:
        train_cfg = dataclasses.replace(train_cfg, mask_set=str(cfg.mask_set))
    if train_cfg.mask_set and not Path(train_cfg.mask_set).is_dir():
        raise ConfigError(
            f"mask set {train_cfg.mask_set} (the run's mask_set) not found: give --mask-set DIR"
        )
    return family.dataset(train_cfg, cfg.data, cfg.split, train=False)


def run_eval_model(
    cfg: EvalModelConfig, progress: Callable[[int], None] | None = None
) -> EvalResult:
    """Generate, score, report (see the module docstring); ``progress(n)`` per batch."""
    opts = cfg.options
    trained = load_trained(cfg.run, cfg.checkpoint, opts.device)
    step = trained.step
    dataset = _dataset(cfg, trained)
    indices = list(range(len(dataset)))[: cfg.limit]
    prepare_report_dir(cfg.out)
    folders = {k: cfg.out / k for k in (GENERATED, TARGET)}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)

    loader: DataLoader[Any] = DataLoader(
        Subset(dataset, indices),
        batch_size=opts.batch_size,
        shuffle=False,
        num_workers=cfg.workers,
        collate_fn=step.collate,
    )
    index_of: dict[str, int] = {}
    duplicates = 0
    position = 0
    for cpu_batch in loader:
        names = eval_names(step.schema, cpu_batch)
        batch = step.to_device(cpu_batch)
        outputs = to_rgb_uint8(step.infer(batch))
        targets = to_rgb_uint8(eval_targets(step, batch))
        for name, out, target in zip(names, outputs, targets, strict=True):
            if name in index_of:
                duplicates += 1
            else:
                index_of[name] = indices[position]
                _write(folders[GENERATED], name, out)
                _write(folders[TARGET], name, target)
            position += 1
        if progress is not None:
            progress(len(names))

    presets = opts.chosen(("params",))
    if cfg.speed and "speed" not in presets:
        presets = (*presets, "speed")
    scores = score_folders(
        opts.folder_config(
            folders[GENERATED], folders[TARGET], presets, strict=True, real_split=cfg.split
        )
    )
    if "params" in presets:
        scores.values["params"] = MetricValue(
            count_parameters(trained.generator), 1, {"network": "G", "family": trained.family}
        )
    if "speed" in presets:
        scores.values["speed"] = model_speed(trained, dataset[indices[0]], onnx=cfg.onnx)

    columns = _grid_inputs(cfg.out / INPUTS, trained, dataset, grid_names(scores), index_of)
    context = {
        "family": trained.family,
        "checkpoint": f"{trained.checkpoint} (step {trained.trained_steps})",
        "data": f"{cfg.data} (split {cfg.split}, {len(index_of)} pairs)",
        "outputs": f"{folders[GENERATED]} (PNG, rounded from the generator's float output)",
    }
    if step.schema == "faces":
        masks = cfg.mask_set or trained.cfg.mask_set
        context["masks"] = str(masks) if masks else "seeded per sample index (fixed)"
    report = write_report(
        cfg.out,
        scores,
        title=f"pgdata eval: {trained.family} {trained.run or trained.checkpoint}",
        extra_columns=columns,
        context=context,
    )
    return EvalResult(cfg.out, scores, report, generated=len(index_of), duplicates=duplicates)


def _grid_inputs(
    folder: Path, trained: Trained, dataset: Any, names: list[str], index_of: dict[str, int]
) -> dict[str, dict[str, Path]]:
    """Write the grid rows' input panels; ``{panel: {pair name: path}}`` for the report."""
    step = trained.step
    wanted = [n for n in (Path(name).stem for name in names) if n in index_of]
    if not wanted:
        return {}
    batch = step.to_device(step.collate([dataset[index_of[n]] for n in wanted]))
    columns: dict[str, dict[str, Path]] = {}
    with torch.no_grad():
        panels = grid_panels(step, batch)
    for panel, images in panels.items():
        sub = folder / panel.replace(" ", "_")
        sub.mkdir(parents=True, exist_ok=True)
        columns[panel] = {}
        for name, image in zip(wanted, images, strict=True):
            _write(sub, name, image)
            columns[panel][f"{name}.png"] = sub / f"{name}.png"
    return columns
