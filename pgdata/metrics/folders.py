"""Score two folders of images matched by file name: ``pgdata eval --pred DIR --gt DIR``.

Files are matched by name (or by stem, so ``x.png`` scores against ``x.jpg``). Predictions
without a ground truth are *extra*, ground truths without a prediction *missing*; both are listed
and ``strict`` makes them an error. A pair of different image sizes is always an error naming both
files. An unreadable image is named and counted, and its pair skipped, unless ``strict``. An empty
folder is an error. Images are read with OpenCV (RGB), batched by size, and every requested preset
(:mod:`pgdata.metrics.presets`) is evaluated on each batch; presets whose weight files are absent
are *skipped* with the reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from pgdata.errors import InputFormatError, PgdataError
from pgdata.io.images import read_rgb
from pgdata.metrics.evaluators import KeypointFn, MetricValue, PckhEvaluator
from pgdata.metrics.folders_setup import build_evaluators
from pgdata.metrics.presets import DEFAULT_PRESETS, get_preset

__all__ = [
    "IMAGE_SUFFIXES",
    "FolderScoreConfig",
    "FolderScores",
    "Pair",
    "list_images",
    "match_folders",
    "score_folders",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_LISTED = 5  # names shown in an error before "…"


@dataclass(frozen=True)
class FolderScoreConfig:
    """Options of folder scoring.

    Attributes:
        pred, gt: the folders (generated images, ground truth).
        presets: preset names to compute (:data:`~pgdata.metrics.presets.DEFAULT_PRESETS`).
        pad_white: pad PSNR/SSIM inputs with white to this width (256 for DeepFashion 256×176).
        strict: missing/extra files and unreadable images are errors.
        match: ``"name"`` (``a.png`` ↔ ``a.png``) or ``"stem"`` (``a.png`` ↔ ``a.jpg``).
        batch_size: pairs per batch.
        device: where networks and SSIM run (``cpu``, ``cuda``, ``cuda:1``).
        weights: a weight file folder searched before ``$PGDATA_WEIGHTS_DIR`` and the torch cache.
        lpips_heads: the LPIPS v0.1 ``alex.pth`` (default: the ``lpips`` package's copy).
        fid_real: real images for FID: a folder, or an ``.npz`` of statistics (``mu``, ``sigma``);
            default: the ground-truth images of the scored pairs.
        fid_real_split: which split the real set is (``train`` for the legacy protocol), recorded.
        cache_dir: where real-set statistics are cached, keyed by the real set's hash.
        check_weights: verify sha256 prefixes (tests with random weights turn it off).
    """

    pred: Path
    gt: Path
    presets: tuple[str, ...] = DEFAULT_PRESETS
    pad_white: int | None = None
    strict: bool = False
    match: Literal["name", "stem"] = "name"
    batch_size: int = 16
    device: str = "cpu"
    weights: Path | None = None
    lpips_heads: Path | None = None
    fid_real: Path | None = None
    fid_real_split: str | None = None
    cache_dir: Path | None = None
    check_weights: bool = True


@dataclass(frozen=True)
class Pair:
    """A matched pair: ``name`` (the prediction's file name), both paths."""

    name: str
    pred: Path
    gt: Path


@dataclass
class FolderScores:
    """What :func:`score_folders` found.

    Attributes:
        values: preset → result (skipped presets have ``value None`` and a reason).
        per_image: pair name → preset → value, for per-pair presets (PSNR, SSIM, LPIPS).
        pairs: the pairs scored (unreadable ones excluded).
        missing: ground-truth names without a prediction; extra: predictions without one.
        unreadable: ``(path, reason)`` of images that could not be decoded.
    """

    values: dict[str, MetricValue]
    per_image: dict[str, dict[str, float]]
    pairs: list[Pair]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line: pairs scored and what was left out."""
        skipped = [k for k, v in self.values.items() if v.skipped]
        parts = [f"scored {len(self.pairs)} pairs"]
        for label, items in (
            ("missing", self.missing),
            ("extra", self.extra),
            ("unreadable", self.unreadable),
            ("skipped presets", skipped),
        ):
            if items:
                parts.append(f"{len(items)} {label}")
        return "; ".join(parts)


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` (by suffix, case-insensitive), sorted by name.

    Raises:
        InputFormatError: the folder does not exist or holds no image.
    """
    if not folder.is_dir():
        raise InputFormatError(folder, "folder not found")
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise InputFormatError(
            folder, f"no images in this folder (looked for {', '.join(IMAGE_SUFFIXES)})"
        )
    return files


def _names(items: list[str]) -> str:
    head = ", ".join(items[:_LISTED])
    return head + (f", … ({len(items)} in all)" if len(items) > _LISTED else "")


def _keyed(files: list[Path], match: str, folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in files:
        key = p.name if match == "name" else p.stem
        if key in out:
            raise InputFormatError(
                folder, f"{out[key].name} and {p.name} have the same stem; use match by name"
            )
        out[key] = p
    return out


def match_folders(
    pred: Path, gt: Path, match: Literal["name", "stem"] = "name", strict: bool = False
) -> tuple[list[Pair], list[str], list[str]]:
    """Pairs of ``pred`` and ``gt`` files with one name (or stem), and the missing/extra names.

    Raises:
        InputFormatError: a folder missing or empty, no common name, or (``strict``) any
            missing or extra file.
    """
    p_files, g_files = _keyed(list_images(pred), match, pred), _keyed(list_images(gt), match, gt)
    missing = sorted(g_files[k].name for k in g_files.keys() - p_files.keys())
    extra = sorted(p_files[k].name for k in p_files.keys() - g_files.keys())
    if strict and (missing or extra):
        what = [f"{len(missing)} missing ({_names(missing)})"] if missing else []
        what += [f"{len(extra)} extra ({_names(extra)})"] if extra else []
        raise InputFormatError(pred, f"predictions do not match {gt} by {match}: {'; '.join(what)}")
    pairs = [
        Pair(p_files[k].name, p_files[k], g_files[k])
        for k in sorted(p_files.keys() & g_files.keys())
    ]
    if not pairs:
        raise InputFormatError(pred, f"no file name in common with {gt} (matching by {match})")
    return pairs, missing, extra


def _batches(
    pairs: list[Pair], batch_size: int, strict: bool, unreadable: list[tuple[str, str]]
) -> Iterator[tuple[list[Pair], torch.Tensor, torch.Tensor]]:
    """Read pairs into ``(B, 3, H, W)`` uint8 batches of one image size."""
    names: list[Pair] = []
    preds: list[np.ndarray] = []
    gts: list[np.ndarray] = []

    def flush() -> tuple[list[Pair], torch.Tensor, torch.Tensor]:
        out = (
            list(names),
            torch.from_numpy(np.stack(preds)).permute(0, 3, 1, 2).contiguous(),
            torch.from_numpy(np.stack(gts)).permute(0, 3, 1, 2).contiguous(),
        )
        names.clear()
        preds.clear()
        gts.clear()
        return out

    for pair in pairs:
        try:
            p, g = read_rgb(pair.pred), read_rgb(pair.gt)
        except InputFormatError as e:
            if strict:
                raise
            unreadable.append((str(e.path), str(e).removeprefix(f"{e.path}: ")))
            continue
        if p.shape != g.shape:
            raise InputFormatError(
                pair.pred,
                f"prediction is {p.shape[1]}×{p.shape[0]} but ground truth {pair.gt} is "
                f"{g.shape[1]}×{g.shape[0]} (W×H); both must have one size",
            )
        if preds and p.shape != preds[0].shape:
            yield flush()
        names.append(pair)
        preds.append(p)
        gts.append(g)
        if len(names) == batch_size:
            yield flush()
    if names:
        yield flush()


def score_folders(
    cfg: FolderScoreConfig,
    *,
    keypoints: KeypointFn | None = None,
    pckh_targets: Mapping[str, np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FolderScores:
    """Score ``cfg.pred`` against ``cfg.gt`` with every preset of ``cfg.presets``.

    Args:
        cfg: options (:class:`FolderScoreConfig`).
        keypoints: the keypoint backend for ``pckh`` (e.g. MediaPipe); with ``pckh_targets``
            (target image name → ``(18, 3)`` keypoints). Without both, ``pckh`` is skipped.
        progress: called with ``(pairs done, pairs total)`` after each batch.

    Raises:
        InputFormatError: folder problems, a size mismatch, (strict) unreadable or unmatched files.
        WeightsError: a weight file present but with a wrong hash or of another model.
        ConfigError: an unknown preset or an impossible option.
    """
    for name in cfg.presets:
        get_preset(name)  # unknown names fail before any work
    if cfg.batch_size < 1:
        raise PgdataError(f"batch size must be at least 1, got {cfg.batch_size}")
    pairs, missing, extra = match_folders(cfg.pred, cfg.gt, cfg.match, cfg.strict)
    evaluators, skipped = build_evaluators(cfg, [p.gt for p in pairs])
    if "pckh" in cfg.presets and "pckh" not in skipped:
        if keypoints is None or pckh_targets is None:
            skipped["pckh"] = "needs a keypoint backend and the target keypoint annotations"
        else:
            evaluators.append(PckhEvaluator(keypoints, pckh_targets))

    unreadable: list[tuple[str, str]] = []
    scored: list[Pair] = []
    for batch_pairs, pred, gt in _batches(pairs, cfg.batch_size, cfg.strict, unreadable):
        names = [p.name for p in batch_pairs]
        for ev in evaluators:
            ev.update(names, pred, gt)
        scored += batch_pairs
        if progress is not None:
            progress(len(scored) + len(unreadable), len(pairs))
    if not scored:
        raise InputFormatError(cfg.pred, f"none of the {len(pairs)} pairs could be read")

    values: dict[str, MetricValue] = {}
    per_image: dict[str, dict[str, float]] = {p.name: {} for p in scored}
    results = {ev.preset: ev for ev in evaluators}
    for name in cfg.presets:
        if name in skipped:
            values[name] = MetricValue(None, 0, skipped=skipped[name])
            continue
        ev = results[name]
        values[name] = ev.result()
        for pair_name, v in getattr(ev, "per_image", {}).items():
            per_image[pair_name][name] = v
    return FolderScores(values, per_image, scored, missing, extra, unreadable)
