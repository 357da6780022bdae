"""``pgdata cloth-mask``: VITON-HD ``cloth-mask/<cid>.jpg`` for every garment in ``cloth/``.

The mask kernel is :func:`pgdata.stages.cloth_mask.cloth_mask` (``auto``: the alpha channel when
the garment has one, else light-background thresholding with morphology, largest component and
hole filling; ``grabcut`` refines the threshold mask). Masks are greyscale JPEGs, garment 255.
Garments that are not ``.jpg`` (e.g. transparent PNG packshots) are also written as
``cloth/<cid>.jpg``, flattened onto white, because HR-VITON and VITON-HD read JPEG names.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgdata.errors import ConfigError
from pgdata.executor import Executor
from pgdata.io.images import write_jpeg
from pgdata.io.viton import (
    cloth_ids,
    find_input,
    output_path,
    read_garment,
    write_mask_jpeg,
)
from pgdata.jobs.tryon.common import Item, Processor, Rejected, StageResult, run_stage
from pgdata.stages.cloth_mask import METHODS, MaskMethod, cloth_mask

__all__ = ["ClothMaskConfig", "flatten_on_white", "run_cloth_mask"]


@dataclass(frozen=True)
class ClothMaskConfig:
    """Options of ``pgdata cloth-mask``."""

    root: Path
    method: MaskMethod = "auto"
    min_area: float = 0.01  # a mask covering less of the image means "no garment found"
    quality: int = 95
    force: bool = False
    strict: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"cloth-mask method {self.method!r}: expected one of {METHODS}")


def flatten_on_white(rgba: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` uint8 RGBA → ``(H, W, 3)`` uint8 RGB composited over white."""
    a = rgba[..., 3:4].astype(np.float32) / 255
    rgb = rgba[..., :3].astype(np.float32) * a + 255 * (1 - a)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _process(cfg: ClothMaskConfig, item: Item) -> None:
    """Write one garment's mask (and its flattened JPEG when it is not one); or raise Rejected."""
    src = find_input(item.split_dir, "cloth", item.key)
    assert src is not None
    garment = read_garment(src)
    try:
        mask = cloth_mask(garment, cfg.method)
    except ValueError as e:
        raise Rejected(src, str(e)) from None
    if (mask >= 128).mean() < cfg.min_area:
        raise Rejected(src, f"no garment found ({cfg.method} mask covers < {cfg.min_area:.0%})")
    jpg = output_path(item.split_dir, "cloth", item.key)
    if src != jpg and (cfg.force or not jpg.is_file()):
        rgb = flatten_on_white(garment) if garment.shape[2] == 4 else garment
        write_jpeg(jpg, rgb, cfg.quality)
    write_mask_jpeg(output_path(item.split_dir, "cloth_mask", item.key), mask, cfg.quality)


@contextmanager
def _processor(cfg: ClothMaskConfig) -> Iterator[Processor]:
    yield functools.partial(_process, cfg)


def run_cloth_mask(
    cfg: ClothMaskConfig,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> StageResult:
    """Fill ``cloth-mask/`` (and ``cloth/<cid>.jpg`` for non-JPEG garments) of every split (here,
    or in chunks on ``executor``)."""
    return run_stage(
        "cloth-mask",
        cfg.root,
        cloth_ids,
        ("cloth_mask", "cloth"),
        functools.partial(_processor, cfg),
        force=cfg.force,
        strict=cfg.strict,
        progress=progress,
        executor=executor,
    )
