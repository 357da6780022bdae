"""``pgdata masks --n 1000 --out DIR``: a fixed evaluation mask set, so every variant sees the same holes.

Writes ``DIR/00000.png`` … (grey PNG, 255 = hole, 0 = known; ``size × size``) and, last,
``DIR/masks.json`` (the config and each mask's kind and hole fraction). Mask ``i`` is drawn from
``numpy.random.default_rng((seed, i))`` with the kind ``kinds[i % len(kinds)]``, so the set is
reproducible byte for byte and its kinds are balanced. Every mask is checked to cover something
and not everything (:func:`pgdata.stages.masks.coverage_problem`).

A folder that already holds another mask set is refused unless ``overwrite``; rewriting the same
set is allowed (the files come out identical).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pgdata import __version__
from pgdata.errors import ConfigError, InputFormatError, PgdataError
from pgdata.io.atomic import atomic_write_bytes, atomic_write_text
from pgdata.io.images import encode_png
from pgdata.io.masks import MASK_SET_JSON, mask_file_name
from pgdata.stages.masks import MASK_KINDS, coverage, coverage_problem, make_mask

__all__ = ["MasksConfig", "MasksResult", "run_masks"]

MIN_SIZE = 8
MASK_FILE = re.compile(r"\d+\.png")  # what mask_file_name writes
PNG_HOLE = 255


@dataclass(frozen=True)
class MasksConfig:
    """Options of ``pgdata masks``."""

    out: Path
    n: int = 1000
    size: int = 256
    kinds: tuple[str, ...] = MASK_KINDS
    seed: int = 0
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"n must be >= 1, found {self.n}")
        if self.size < MIN_SIZE:
            raise ConfigError(f"size must be >= {MIN_SIZE}, found {self.size}")
        unknown = [k for k in self.kinds if k not in MASK_KINDS]
        if unknown or not self.kinds:
            raise ConfigError(
                f"kinds: {unknown or 'none given'} not in {list(MASK_KINDS)}; give one or more"
            )

    def identity(self) -> dict[str, Any]:
        """What decides the set's bytes."""
        return {"n": self.n, "size": self.size, "kinds": list(self.kinds), "seed": self.seed}


@dataclass
class MasksResult:
    """What :func:`run_masks` wrote."""

    out: Path
    n: int
    size: int
    by_kind: dict[str, int]
    mean_coverage: float

    def summary(self) -> str:
        """One line of counts."""
        kinds = ", ".join(f"{k}={n}" for k, n in self.by_kind.items())
        return (
            f"masks: wrote {self.n} masks of {self.size}x{self.size} to {self.out} ({kinds}); "
            f"mean hole {100 * self.mean_coverage:.1f} %"
        )


class MaskSetError(PgdataError):
    """A generated mask is unusable (the settings make holes of nothing or of everything)."""


def _check_out(cfg: MasksConfig) -> None:
    """Refuse a folder holding something other than this same set, unless ``overwrite``."""
    if not cfg.out.exists() or cfg.overwrite:
        return
    if not cfg.out.is_dir():
        raise InputFormatError(cfg.out, "is a file: give a folder for the mask set")
    if not any(cfg.out.iterdir()):
        return
    meta = cfg.out / MASK_SET_JSON
    try:
        old = json.loads(meta.read_text(encoding="utf-8"))["config"]
    except (OSError, ValueError, KeyError, TypeError):
        old = None
    if old != cfg.identity():
        raise InputFormatError(
            cfg.out,
            "holds other files or another mask set; choose an empty folder or pass --overwrite",
        )


def run_masks(cfg: MasksConfig, progress: Callable[[int], None] | None = None) -> MasksResult:
    """Write the mask set (see the module doc); ``progress(1)`` after each mask.

    Raises:
        MaskSetError: a generated mask covers nothing or everything (none written then).
        InputFormatError: ``out`` holds something else (without ``overwrite``).
    """
    _check_out(cfg)
    size_hw = (cfg.size, cfg.size)
    masks, records = [], []
    for i in range(cfg.n):  # draw and check every mask before writing any
        kind = cfg.kinds[i % len(cfg.kinds)]
        mask = make_mask(kind, size_hw, np.random.default_rng((cfg.seed, i)))
        problem = coverage_problem(mask)
        if problem is not None:
            raise MaskSetError(
                f"mask {i} ({kind}, {cfg.size}x{cfg.size}) {problem}: use a larger --size or "
                "other --kinds"
            )
        masks.append(mask)
        records.append({"file": mask_file_name(i), "kind": kind, "coverage": coverage(mask)})
    if cfg.overwrite and cfg.out.is_dir():  # the old set's index first, then its masks
        (cfg.out / MASK_SET_JSON).unlink(missing_ok=True)
        for old in cfg.out.iterdir():
            if MASK_FILE.fullmatch(old.name):
                old.unlink()
    for i, mask in enumerate(masks):
        atomic_write_bytes(cfg.out / mask_file_name(i), encode_png(mask * np.uint8(PNG_HOLE)))
        if progress is not None:
            progress(1)
    by_kind = {k: sum(r["kind"] == k for r in records) for k in cfg.kinds}
    mean = float(np.mean([r["coverage"] for r in records]))
    meta = {
        "generator": f"pgdata {__version__}",
        "config": cfg.identity(),
        "hole": "pixel value 255 (>= 128 reads as a hole), known = 0",
        "masks": records,
    }
    atomic_write_text(cfg.out / MASK_SET_JSON, json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return MasksResult(cfg.out, cfg.n, cfg.size, by_kind, mean)
