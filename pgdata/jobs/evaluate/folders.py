"""``pgdata eval --pred DIR --gt DIR --out REPORT``: score any two folders of images.

Predictions and ground truths are matched by file name (or stem); missing and extra files are
listed in the report and on stderr, and ``strict`` makes them an error; so are unreadable images
(otherwise named, counted and their pairs skipped). Pairs of different sizes and empty folders are
always errors. This is how results of other code are scored: pose transfer (with
``pad_white = 256`` for DeepFashion 256×176 under DPTN's protocol), try-on (VITON-HD paired test
at 1024×768 or 512×384: ``ssim_hrviton``, ``lpips_hrviton`` as HR-VITON's ``evaluate.py``, and
``fid_tf``) and inpainting (composites against the originals over one fixed mask set).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pgdata.errors import ConfigError
from pgdata.jobs.evaluate.common import EvalResult, ScoreOptions, listed, prepare_report_dir
from pgdata.metrics.folders import score_folders
from pgdata.metrics.report import write_report

__all__ = ["EvalFoldersConfig", "run_eval_folders"]


@dataclass(frozen=True)
class EvalFoldersConfig:
    """Options of folder scoring: ``pred`` against ``gt`` into the report folder ``out``."""

    pred: Path
    gt: Path
    out: Path
    options: ScoreOptions = field(default_factory=ScoreOptions)
    strict: bool = False
    match: Literal["name", "stem"] = "name"

    def __post_init__(self) -> None:
        if self.out.resolve() in (self.pred.resolve(), self.gt.resolve()):
            raise ConfigError(f"--out {self.out} is an input folder: give another folder")


def run_eval_folders(
    cfg: EvalFoldersConfig, progress: Callable[[int], None] | None = None
) -> EvalResult:
    """Score ``cfg.pred`` against ``cfg.gt`` and write the report (see the module docstring).

    ``progress(n)`` is called with the pairs done since the last call.
    """
    opts = cfg.options
    presets = opts.chosen()
    done = [0]

    def tick(n: int, total: int) -> None:
        if progress is not None:
            progress(n - done[0])
        done[0] = n

    score_cfg = opts.folder_config(cfg.pred, cfg.gt, presets, strict=cfg.strict, match=cfg.match)
    prepare_report_dir(cfg.out)
    scores = score_folders(score_cfg, progress=tick)
    report = write_report(
        cfg.out,
        scores,
        title=f"pgdata eval: {cfg.pred.name} vs {cfg.gt.name}",
        context={"predictions": str(cfg.pred), "ground truth": str(cfg.gt)},
    )
    notes = listed("missing prediction", scores.missing)
    notes += listed("extra prediction (no ground truth)", scores.extra)
    notes += listed("unreadable, skipped", [f"{p} ({why})" for p, why in scores.unreadable])
    return EvalResult(cfg.out, scores, report, notes=notes)
