"""Build the evaluators of a folder scoring run: weights found or skipped, FID real statistics.

A preset whose weight file is **absent** is skipped with the loader's message (file, hash prefix,
where to get it, where to put it). A file that is present but wrong (hash, another model) is an
error: it is a mistake to fix, not a metric to leave out.

FID real statistics come, in order, from an ``.npz`` given as ``fid_real``; from the cache
(``cache_dir``, keyed by preset, weights hash, the real images' hash and the protocol); from the
``fid_real`` folder, or the ground-truth images of the scored pairs, computed once and cached when
a ``cache_dir`` is set; otherwise the ground-truth images are fed alongside the predictions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from pgdata.errors import InputFormatError, WeightsError
from pgdata.io.images import read_rgb
from pgdata.io.weights import KNOWN_WEIGHTS, find_weights
from pgdata.metrics.evaluators import (
    FidEvaluator,
    HrvitonSsimEvaluator,
    LpipsEvaluator,
    MetricValue,
    PairwiseBatch,
    PairwiseEvaluator,
)
from pgdata.metrics.fid import FeatureStats, cache_key, hash_files, load_stats, save_stats
from pgdata.metrics.fid_features import FID_SPECS, compute_fid_stats, load_fid_network
from pgdata.metrics.lpips import HEADS, LPIPS, find_lpips_heads, load_lpips_alex
from pgdata.metrics.pairwise import PAIRWISE_PRESETS
from pgdata.metrics.presets import get_preset

if TYPE_CHECKING:
    from pgdata.metrics.folders import FolderScoreConfig

__all__ = ["Evaluator", "build_evaluators", "read_image_batches"]

_NEEDS_MODEL = "needs a generator: scored by a trained-model evaluation (pgdata eval --run)"


class Evaluator(Protocol):
    """What folder scoring feeds: ``update`` per batch, ``result`` at the end."""

    preset: str

    def update(self, names: Sequence[str], pred: torch.Tensor, gt: torch.Tensor) -> None: ...

    def result(self) -> MetricValue: ...


def read_image_batches(
    paths: Sequence[Path], batch_size: int, strict: bool, unreadable: list[tuple[str, str]]
) -> Iterator[torch.Tensor]:
    """``(B, 3, H, W)`` uint8 batches of one size from image files (unreadable ones listed)."""
    batch: list[np.ndarray] = []
    for path in paths:
        try:
            img = read_rgb(path)
        except InputFormatError as e:
            if strict:
                raise
            unreadable.append((str(path), str(e).removeprefix(f"{e.path}: ")))
            continue
        if batch and (img.shape != batch[0].shape or len(batch) == batch_size):
            yield torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()
            batch = []
        batch.append(img)
    if batch:
        yield torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()


def _absent(name: str, path: Path | None) -> str | None:
    """The loader's "missing file" message if ``name`` cannot be found, else ``None``."""
    try:
        find_weights(KNOWN_WEIGHTS[name], path, check=False)
    except WeightsError as e:
        return str(e)
    return None


def _real_stats(
    cfg: FolderScoreConfig,
    preset: str,
    net: torch.nn.Module,
    sha: str,
    gt_paths: Sequence[Path],
) -> tuple[FeatureStats | None, dict[str, object]]:
    """Real statistics for ``preset`` (``None``: feed the ground truth alongside) and their provenance."""
    info: dict[str, object] = {"split": cfg.fid_real_split}
    if cfg.fid_real is not None and cfg.fid_real.is_file():
        stats, meta = load_stats(cfg.fid_real)
        info.update(real=str(cfg.fid_real), real_stats_meta=meta)
        return stats, info
    if cfg.fid_real is not None:
        from pgdata.metrics.folders import list_images  # a folder: every image in it

        paths: Sequence[Path] = list_images(cfg.fid_real)
        info["real"] = str(cfg.fid_real)
    else:
        paths = gt_paths
        info["real"] = f"ground truth of the scored pairs ({cfg.gt})"
        if cfg.cache_dir is None:
            return None, info
    spec = FID_SPECS[preset]
    cache_file = None
    if cfg.cache_dir is not None:
        set_hash = hash_files(paths)
        key = cache_key(preset, sha, set_hash, {"drop_last_of": spec.drop_last_of})
        cache_file = cfg.cache_dir / f"fid-stats-{key}.npz"
        info.update(real_set_sha256=set_hash, cache=str(cache_file))
        if cache_file.is_file():
            stats, _ = load_stats(cache_file)
            return stats, info
    unreadable: list[tuple[str, str]] = []
    batches = read_image_batches(paths, cfg.batch_size, cfg.strict, unreadable)
    res = compute_fid_stats(net, spec, batches, cfg.device)
    info.update(real_dropped=res.dropped, real_unreadable=len(unreadable))
    if cache_file is not None and res.stats.n >= 2:
        save_stats(cache_file, res.stats, {"preset": preset, "weights_sha256": sha, **info})
    return res.stats, info


def build_evaluators(
    cfg: FolderScoreConfig, gt_paths: Sequence[Path]
) -> tuple[list[Evaluator], dict[str, str]]:
    """Evaluators for ``cfg.presets`` and ``{preset: reason}`` for the ones that cannot run."""
    evaluators: list[Evaluator] = []
    skipped: dict[str, str] = {}
    pairwise = [n for n in cfg.presets if n in PAIRWISE_PRESETS]
    shared = PairwiseBatch(pairwise, cfg.pad_white, torch.device(cfg.device))
    lpips: tuple[LPIPS, dict[str, str]] | None = None  # one model for both LPIPS presets
    for name in cfg.presets:
        preset = get_preset(name)
        if preset.family in ("params", "speed"):
            skipped[name] = _NEEDS_MODEL
        elif name == "ssim_hrviton":
            evaluators.append(HrvitonSsimEvaluator())
        elif preset.family in ("psnr", "ssim"):
            evaluators.append(PairwiseEvaluator(name, shared))
        elif preset.family == "lpips":
            heads = cfg.lpips_heads
            if heads is None and cfg.weights is not None and (cfg.weights / HEADS.name).is_file():
                heads = cfg.weights / HEADS.name
            reason = _absent("alexnet-owt-7be5be79.pth", cfg.weights)
            if reason is None and cfg.check_weights:  # present: a wrong file is an error
                find_weights(KNOWN_WEIGHTS["alexnet-owt-7be5be79.pth"], cfg.weights)
            if reason is None:
                try:
                    if cfg.check_weights:
                        find_lpips_heads(heads)
                    else:
                        find_weights(HEADS, heads, check=False)
                except WeightsError as e:
                    if heads is not None and Path(heads).is_file():
                        raise  # present but wrong
                    reason = str(e)
            if reason is not None:
                skipped[name] = reason
                continue
            if lpips is None:
                lpips = load_lpips_alex(cfg.weights, heads, cfg.device, check=cfg.check_weights)
            evaluators.append(LpipsEvaluator(*lpips, preset=name))
        elif preset.family == "fid":
            reason = _absent(FID_SPECS[name].weights, cfg.weights)
            if reason is not None:
                skipped[name] = reason
                continue
            net, sha = load_fid_network(name, cfg.weights, cfg.device, check=cfg.check_weights)
            real, info = _real_stats(cfg, name, net, sha, gt_paths)
            evaluators.append(FidEvaluator(name, net, sha, cfg.device, real, info))
    return evaluators, skipped
