"""Per-preset evaluators: each consumes batches of image pairs and returns one :class:`MetricValue`.

An evaluator is built once (networks and weights loaded, or the reason it cannot run), fed
``(names, pred, gt)`` batches of ``(B, 3, H, W)`` uint8 RGB, and asked for its result. Folder
scoring (:mod:`pgdata.metrics.folders`) and a trained-model evaluation share them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pgdata.errors import ConfigError
from pgdata.metrics.fid import FeatureStats, frechet_distance
from pgdata.metrics.fid_features import FID_SPECS, FidStream
from pgdata.metrics.lpips import LPIPS, lpips_preset
from pgdata.metrics.pairwise import pair_metrics
from pgdata.metrics.pckh import pckh, pckh_target_name
from pgdata.metrics.ssim import GFLA_WINDOW, gaussian_kernel1d
from pgdata.metrics.tryon import hrviton_lpips, hrviton_ssim

__all__ = [
    "FidEvaluator",
    "HrvitonSsimEvaluator",
    "PairwiseBatch",
    "KeypointFn",
    "LpipsEvaluator",
    "MetricValue",
    "PairwiseEvaluator",
    "PckhEvaluator",
]

KeypointFn = Callable[[np.ndarray], np.ndarray]
"""A keypoint backend: ``(H, W, 3)`` uint8 RGB → ``(18, 3)`` float32 COCO-18 x, y, confidence."""


@dataclass
class MetricValue:
    """One preset's result: ``value`` over ``n`` items, protocol details in ``extra``.

    ``value`` is ``None`` when the preset was skipped; ``skipped`` then says why.
    """

    value: float | None
    n: int
    extra: dict[str, object] = field(default_factory=dict)
    skipped: str | None = None


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(np.asarray(values, dtype=np.float64))) if values else math.nan


_MIN_SIDE = {"psnr": 1, "ssim_patn": 11, "ssim_gfla51": GFLA_WINDOW}  # the SSIM window


class PairwiseBatch:
    """Computes the requested PSNR/SSIM presets of a batch in one :func:`pair_metrics` call,
    shared by their :class:`PairwiseEvaluator` s (conversion, padding and moment maps once)."""

    def __init__(self, presets: Sequence[str], pad_white: int | None, device: torch.device) -> None:
        self.presets = tuple(presets)
        self.pad_white = pad_white
        self.device = device
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self._values: dict[str, torch.Tensor] = {}

    def fits(self, preset: str, pred: torch.Tensor) -> bool:
        """Whether the images are at least the preset's window (after padding)."""
        side = min(pred.shape[-2], max(pred.shape[-1], self.pad_white or 0))
        return side >= _MIN_SIDE[preset]

    def values(self, pred: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
        if self._batch is None or self._batch[0] is not pred or self._batch[1] is not gt:
            if self.pad_white is not None and pred.shape[-1] > self.pad_white:
                raise ConfigError(
                    f"--pad-white {self.pad_white}: images are {pred.shape[-1]} wide, wider than "
                    f"the padded width (padding is for 256×176 DeepFashion crops)"
                )
            todo = [p for p in self.presets if self.fits(p, pred)]
            p, g = pred.to(self.device), gt.to(self.device)
            self._values = pair_metrics(p, g, todo, self.pad_white) if todo else {}
            self._batch = (pred, gt)
        return self._values


class PairwiseEvaluator:
    """``psnr``, ``ssim_patn`` or ``ssim_gfla51``: per-pair values, reported as their mean.

    Images smaller than the SSIM window skip the preset (with the reason) instead of failing.
    """

    def __init__(self, preset: str, shared: PairwiseBatch) -> None:
        self.preset = preset
        self.shared = shared
        self.per_image: dict[str, float] = {}
        self.skipped: str | None = None

    def update(self, names: Sequence[str], pred: torch.Tensor, gt: torch.Tensor) -> None:
        if not self.shared.fits(self.preset, pred):
            self.skipped = (
                f"images of {pred.shape[-1]}×{pred.shape[-2]} are smaller than the "
                f"{_MIN_SIDE[self.preset]}-pixel window"
            )
        if self.skipped:
            return
        vals = self.shared.values(pred, gt)[self.preset]
        self.per_image.update(zip(names, vals.tolist(), strict=True))

    def result(self) -> MetricValue:
        extra: dict[str, object] = {"pad_white": self.shared.pad_white}
        if self.skipped:
            self.per_image.clear()
            return MetricValue(None, 0, extra, skipped=self.skipped)
        vals = list(self.per_image.values())
        return MetricValue(_mean(vals), len(vals), extra)


class LpipsEvaluator:
    """``lpips_alex`` (or ``lpips_hrviton``: at 128×128 by Pillow, :mod:`pgdata.metrics.tryon`):
    per-pair distances on ``model``'s device, reported as their mean."""

    def __init__(self, model: LPIPS, hashes: Mapping[str, str], preset: str = "lpips_alex") -> None:
        self.preset = preset
        self.model = model
        self.hashes = dict(hashes)
        self.per_image: dict[str, float] = {}

    def update(self, names: Sequence[str], pred: torch.Tensor, gt: torch.Tensor) -> None:
        if self.preset == "lpips_hrviton":
            vals = hrviton_lpips(self.model, pred, gt)
        else:
            vals = lpips_preset(self.model, pred, gt)
        self.per_image.update(zip(names, vals.tolist(), strict=True))

    def result(self) -> MetricValue:
        vals = list(self.per_image.values())
        return MetricValue(_mean(vals), len(vals), {"weights_sha256": self.hashes})


class HrvitonSsimEvaluator:
    """``ssim_hrviton``: per-pair greyscale SSIM (:func:`~pgdata.metrics.tryon.hrviton_ssim`),
    reported as the mean; images smaller than the 11×11 window skip it with the reason."""

    preset = "ssim_hrviton"

    def __init__(self) -> None:
        self.per_image: dict[str, float] = {}
        self.skipped: str | None = None

    def update(self, names: Sequence[str], pred: torch.Tensor, gt: torch.Tensor) -> None:
        side = gaussian_kernel1d().numel()
        if min(pred.shape[-2:]) < side:
            self.skipped = (
                f"images of {pred.shape[-1]}×{pred.shape[-2]} are smaller than the "
                f"{side}-pixel window"
            )
        if self.skipped:
            return
        self.per_image.update(zip(names, hrviton_ssim(pred, gt).tolist(), strict=True))

    def result(self) -> MetricValue:
        if self.skipped:
            self.per_image.clear()
            return MetricValue(None, 0, skipped=self.skipped)
        vals = list(self.per_image.values())
        return MetricValue(_mean(vals), len(vals), {"grey": "Pillow L", "data_range": 255})


class FidEvaluator:
    """``fid_tf`` / ``fid_legacy_gfla``: statistics of the predictions against a real set.

    ``real`` is fixed statistics (a file, a cached or separately computed folder), or ``None`` to
    use the ground-truth images of the scored pairs, fed alongside the predictions.
    """

    def __init__(
        self,
        preset: str,
        net: torch.nn.Module,
        weights_sha256: str,
        device: str | torch.device,
        real: FeatureStats | None,
        real_info: Mapping[str, object],
    ) -> None:
        self.preset = preset
        spec = FID_SPECS[preset]
        self.sha = weights_sha256
        self.real = real
        self.real_info = dict(real_info)
        self.pred = FidStream(net, spec, device)
        self.gt = FidStream(net, spec, device) if real is None else None

    def update(self, names: Sequence[str], pred: torch.Tensor, gt: torch.Tensor) -> None:
        self.pred.add(pred)
        if self.gt is not None:
            self.gt.add(gt)

    def result(self) -> MetricValue:
        pred = self.pred.finish()
        extra: dict[str, object] = {"weights_sha256": self.sha, "dropped": pred.dropped}
        real = self.real
        if self.gt is not None:
            gt = self.gt.finish()
            real, extra["real_dropped"] = gt.stats, gt.dropped
        if real is None:  # cannot happen: one of the two is always set
            raise RuntimeError("FidEvaluator has no real statistics")
        extra["real_n"] = real.n
        extra.update(self.real_info)
        if pred.stats.n < 2 or real.n < 2:
            return MetricValue(
                None, pred.stats.n, extra, skipped="FID needs at least 2 images per set"
            )
        d = frechet_distance(real.mean, real.cov, pred.stats.mean, pred.stats.cov)
        return MetricValue(d, pred.stats.n, extra)


class PckhEvaluator:
    """``pckh``: run ``backend`` on each prediction, compare with the target's annotation.

    ``targets`` maps target image names to ``(18, 3)`` keypoints; a prediction's target name is
    :func:`~pgdata.metrics.pckh.pckh_target_name` of its file name, or the pair's name itself.
    Pairs without an annotation are counted in ``extra["no_annotation"]``.
    """

    preset = "pckh"

    def __init__(self, backend: KeypointFn, targets: Mapping[str, np.ndarray]) -> None:
        self.backend = backend
        self.targets = targets
        self._pred: list[np.ndarray] = []
        self._tgt: list[np.ndarray] = []
        self.no_annotation = 0

    def update(self, names: Sequence[str], pred: torch.Tensor, gt: torch.Tensor) -> None:
        images = pred.permute(0, 2, 3, 1).cpu().numpy()
        for name, img in zip(names, images, strict=True):
            key = pckh_target_name(Path(name).name)
            target = self.targets.get(key, self.targets.get(name))
            if target is None:
                self.no_annotation += 1
                continue
            self._pred.append(np.asarray(self.backend(np.ascontiguousarray(img)), np.float32))
            self._tgt.append(np.asarray(target, np.float32))

    def result(self) -> MetricValue:
        extra: dict[str, object] = {"no_annotation": self.no_annotation}
        if not self._pred:
            return MetricValue(None, 0, extra, skipped="no prediction had a target annotation")
        res = pckh(np.stack(self._pred), np.stack(self._tgt))
        extra.update(correct=res.correct, total=res.total, skipped_pairs=res.skipped)
        return MetricValue(res.score, res.pairs, extra)
