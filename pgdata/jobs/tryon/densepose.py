"""``pgdata densepose``: HR-VITON ``image-densepose/<id>.jpg`` for every person photo.

Backends: ``import`` reads precomputed DensePose outputs from ``import_dir`` (``<id>`` or
``<split>/<id>`` with one of the suffixes below); ``detectron2`` runs DensePose R-CNN when
detectron2 is installed (:mod:`pgdata.backends.densepose_detectron2`).

Import formats (``.npy``, ``.npz``, ``_IUV.png``, ``.png``, rendered ``.jpg``) are read by
:mod:`pgdata.io.densepose`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pgdata.errors import ConfigError
from pgdata.executor import Executor
from pgdata.io.densepose import IMPORT_SUFFIXES, read_densepose
from pgdata.io.images import read_rgb, write_jpeg
from pgdata.io.viton import find_import, find_input, output_path, person_ids, split_dirs
from pgdata.jobs.tryon.common import (
    Item,
    Processor,
    Rejected,
    StageResult,
    photo_size,
    rejecting,
    run_stage,
)
from pgdata.stages.densepose import render_densepose

__all__ = ["BACKENDS", "DenseposeConfig", "run_densepose"]

Backend = Literal["import", "detectron2"]
BACKENDS: tuple[Backend, ...] = ("import", "detectron2")


@dataclass(frozen=True)
class DenseposeConfig:
    """Options of ``pgdata densepose``."""

    root: Path
    backend: Backend = "import"
    import_dir: Path | None = None
    config_file: Path | None = None  # detectron2: DensePose R-CNN yaml
    weights: Path | None = None  # detectron2: model weights
    quality: int = 95
    force: bool = False
    strict: bool = False

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"densepose backend {self.backend!r}: expected one of {BACKENDS}")
        if self.backend == "import" and self.import_dir is None:
            raise ConfigError("--backend import needs --import DIR (precomputed DensePose)")


def _process(cfg: DenseposeConfig, model: Any, split_of: dict[Path, str], item: Item) -> None:
    """Write one person's ``image-densepose`` rendering (or raise Rejected)."""
    image = find_input(item.split_dir, "image", item.key)
    assert image is not None
    size = photo_size(image)
    if model is not None:
        found = model.parts(read_rgb(image))
        if found is None:
            raise Rejected(image, "no person detected")
        parts = found
    else:
        assert cfg.import_dir is not None
        names = [item.key + suffix for suffix in IMPORT_SUFFIXES]
        src = find_import(cfg.import_dir, split_of[item.split_dir], names)
        if src is None:
            raise Rejected(image, f"no DensePose result for {item.key} in {cfg.import_dir}")
        with rejecting():
            parts = read_densepose(src, size)
        if parts.shape != size:
            raise Rejected(
                src,
                f"size mismatch: DensePose is {parts.shape[1]}x{parts.shape[0]}, "
                f"image is {size[1]}x{size[0]} (W x H)",
            )
    if not parts.any():
        raise Rejected(image, "no person detected (DensePose map is empty)")
    write_jpeg(
        output_path(item.split_dir, "densepose", item.key),
        render_densepose(parts),
        cfg.quality,
    )


@contextmanager
def _processor(cfg: DenseposeConfig) -> Iterator[Processor]:
    """The detectron2 model (``backend = "detectron2"``) is loaded once per processor."""
    model = None
    if cfg.backend == "detectron2":
        from pgdata.backends.densepose_detectron2 import DetectronDensePose

        model = DetectronDensePose(cfg.config_file, cfg.weights)
    split_of = {d: s for s, d in split_dirs(cfg.root)}
    yield functools.partial(_process, cfg, model, split_of)


def run_densepose(
    cfg: DenseposeConfig,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> StageResult:
    """Fill ``image-densepose/`` of every split folder of ``cfg.root`` (here, or in chunks on
    ``executor``)."""
    return run_stage(
        "densepose",
        cfg.root,
        person_ids,
        ("densepose",),
        functools.partial(_processor, cfg),
        force=cfg.force,
        strict=cfg.strict,
        progress=progress,
        executor=executor,
    )
