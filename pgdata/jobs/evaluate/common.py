"""What both ``pgdata eval`` modes share: scoring options, the report folder, the result.

A report folder ``REPORT`` holds ``metrics.json``, ``metrics.csv``, ``pairs.csv``, ``images/`` and
``index.html`` (written last, :mod:`pgdata.metrics.report`); a model evaluation adds
``generated/`` (the outputs), ``target/`` (the ground truth, same names) and ``inputs/`` (the input
panels of the grid rows). An existing folder is reused only when it is empty or an earlier report
(it holds ``metrics.json``); the folders a model evaluation writes are then cleared first, so no
stale image is scored.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pgdata.errors import ConfigError, InputFormatError
from pgdata.metrics.evaluators import MetricValue
from pgdata.metrics.folders import FolderScoreConfig, FolderScores
from pgdata.metrics.presets import DEFAULT_PRESETS, get_preset
from pgdata.metrics.report import ReportFiles
from pgdata.metrics.report_html import format_value
from pgdata.training.inference import resolve_device

__all__ = [
    "EvalResult",
    "REPORT_DIRS",
    "ScoreOptions",
    "listed",
    "prepare_report_dir",
]

REPORT_DIRS = ("generated", "target", "inputs", "images")
"""Sub-folders of a report that an evaluation (re)writes whole."""
REPORT_MARK = "metrics.json"
NOTES_LISTED = 10  # missing / extra / unreadable files named on stderr


@dataclass(frozen=True)
class ScoreOptions:
    """Scoring options of both modes (see :class:`~pgdata.metrics.folders.FolderScoreConfig`).

    Attributes:
        presets: preset names; empty = the mode's default (:data:`DEFAULT_PRESETS`, plus
            ``params`` for a model, plus ``speed`` with ``--speed``).
        pad_white: white padding width for PSNR/SSIM (256 for DeepFashion's 256×176), or None.
        weights: folder (or file) of the pretrained weight files.
        lpips_heads: the LPIPS v0.1 ``alex.pth`` (default: the ``lpips`` package's copy).
        fid_real: real images for FID: a folder or an ``.npz`` of statistics; default: the ground
            truth of the scored pairs.
        fid_real_split: which split the real set is (recorded in ``metrics.json``).
        cache_dir: where FID real statistics are cached (keyed by the real set's hash).
        batch_size: images per batch (generation and scoring).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``.
    """

    presets: tuple[str, ...] = ()
    pad_white: int | None = None
    weights: Path | None = None
    lpips_heads: Path | None = None
    fid_real: Path | None = None
    fid_real_split: str | None = None
    cache_dir: Path | None = None
    batch_size: int = 16
    device: str = "auto"

    def __post_init__(self) -> None:
        for name in self.presets:
            get_preset(name)  # ConfigError naming the closest valid names
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, found {self.batch_size}")
        if self.pad_white is not None and self.pad_white < 1:
            raise ConfigError(f"pad_white must be a width in pixels, found {self.pad_white}")
        if self.fid_real is not None and not self.fid_real.exists():
            raise ConfigError(f"--fid-real {self.fid_real}: no such folder or .npz file")

    def folder_config(
        self,
        pred: Path,
        gt: Path,
        presets: tuple[str, ...],
        *,
        strict: bool,
        match: Literal["name", "stem"] = "name",
        real_split: str | None = None,
    ) -> FolderScoreConfig:
        """The folder scoring config of these options for ``pred`` against ``gt``."""
        return FolderScoreConfig(
            pred=pred,
            gt=gt,
            presets=presets,
            pad_white=self.pad_white,
            strict=strict,
            match=match,
            batch_size=self.batch_size,
            device=str(resolve_device(self.device)),
            weights=self.weights,
            lpips_heads=self.lpips_heads,
            fid_real=self.fid_real,
            fid_real_split=self.fid_real_split or real_split,
            cache_dir=self.cache_dir,
        )

    def chosen(self, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The presets to compute: as given, else the defaults plus ``extra``."""
        return self.presets or (*DEFAULT_PRESETS, *extra)


def prepare_report_dir(out: Path) -> None:
    """Make ``out`` ready for a report: create it, or clear the folders an earlier report wrote.

    Raises:
        InputFormatError: ``out`` is a file, or a non-empty folder that is not a pgdata report.
    """
    if out.exists() and not out.is_dir():
        raise InputFormatError(out, "is a file: give a folder for the report")
    if out.is_dir() and any(out.iterdir()):
        if not (out / REPORT_MARK).is_file():
            raise InputFormatError(
                out, f"is not empty and holds no {REPORT_MARK}: choose a new or empty folder"
            )
        for name in REPORT_DIRS:
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


@dataclass
class EvalResult:
    """What an evaluation wrote.

    Attributes:
        out: the report folder.
        scores: the scores (values by preset, pairs, missing/extra/unreadable files).
        report: the files of the report.
        generated: images a model evaluation generated (0 for folder scoring).
        duplicates: test pairs whose output name repeats an earlier one (scored once).
        notes: lines for stderr (what was skipped and why).
    """

    out: Path
    scores: FolderScores
    report: ReportFiles
    generated: int = 0
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per preset: ``name value (n=…)`` or ``name skipped: reason``."""
        out = []
        for name, mv in self.scores.values.items():
            out.append(_line(name, mv))
        out.append(f"report: {self.report.index_html}")
        return out

    def summary(self) -> str:
        """One line of counts."""
        head = f"eval: generated {self.generated} images; " if self.generated else "eval: "
        dup = f"; {self.duplicates} repeated pairs scored once" if self.duplicates else ""
        return f"{head}{self.scores.summary()}{dup}; wrote {self.out}"


def listed(label: str, items: list[str], limit: int = NOTES_LISTED) -> list[str]:
    """Note lines ``label: item`` for the first ``limit`` items, then one ``… N more`` line."""
    lines = [f"{label}: {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"{label}: … {len(items) - limit} more (see index.html)")
    return lines


def _line(name: str, mv: MetricValue) -> str:
    if mv.skipped:
        return f"{name}: skipped ({mv.skipped})"
    return f"{name}: {format_value(name, mv.value)} (n={mv.n})"
