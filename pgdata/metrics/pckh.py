"""PCKh as PATN's ``tool/calPCKH_fashion.py`` / ``calPCKH_market.py`` compute it.

Keypoints are pgdata's convention: float ``(N, 18, 3)`` COCO-18 x, y, confidence in pixels,
confidence 0 = missing (convert PATN's ``(y, x)`` with ``-1`` through
:func:`pgdata.stages.keypoints.yx_to_xyc`). The predictions come from running a keypoint backend on
the generated images; the targets are the annotations of the target images.

Per pair, the head box comes from the **target**'s present joints among nose, neck, eyes and ears
(:data:`HEAD_JOINTS`); with fewer than 2 the pair is skipped. With ``w = x_max − x_min`` and
``h = y_max − y_min``, a joint is correct iff it is present in both and ``|px − tx| < α·w`` **and**
``|py − ty| < α·h`` (α = 0.5; strict, per axis: a zero-width or zero-height box fails every joint).
The denominator counts every present target joint of the kept pairs (a joint the backend missed
counts as wrong). The score is ``Σ correct / Σ valid`` over all kept pairs (micro average).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from pgdata.labels import J

__all__ = ["ALPHA", "HEAD_JOINTS", "PCKhResult", "pckh", "pckh_target_name"]

ALPHA = 0.5
HEAD_JOINTS = (J.NOSE, J.NECK, J.REYE, J.LEYE, J.REAR, J.LEAR)
_MIN_HEAD_JOINTS = 2
_VIS_SUFFIX = "_vis.jpg"  # PATN writes result crops as <source>___<target>_vis.jpg


@dataclass(frozen=True)
class PCKhResult:
    """``correct / total`` over ``pairs`` kept pairs; ``skipped`` pairs had no head box."""

    correct: int
    total: int
    pairs: int
    skipped: int

    @property
    def score(self) -> float:
        """``correct / total`` (0.0 when nothing was valid)."""
        return self.correct / self.total if self.total else 0.0


def pckh(pred: np.ndarray, target: np.ndarray, alpha: float = ALPHA) -> PCKhResult:
    """PCKh of predicted against target keypoints.

    Args:
        pred, target: ``(N, J, 3)`` x, y, confidence (``> 0`` = present), ``J ≥ 18`` (COCO-18).
        alpha: fraction of the head box per axis (0.5 = PCKh@0.5).
    """
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(
            f"expected two (N, J, 3) keypoint arrays of one shape, got {pred.shape}, {target.shape}"
        )
    t_ok = target[..., 2] > 0
    p_ok = pred[..., 2] > 0
    head_ok = t_ok[:, HEAD_JOINTS]
    head = target[:, HEAD_JOINTS, :2]
    big = np.where(head_ok[..., None], head, -np.inf).max(axis=1)
    small = np.where(head_ok[..., None], head, np.inf).min(axis=1)
    keep = head_ok.sum(axis=1) >= _MIN_HEAD_JOINTS
    box = np.where(keep[:, None], big - small, 0.0)  # (N, 2) = w, h
    near = np.abs(pred[..., :2] - target[..., :2]) < alpha * box[:, None, :]
    right = near.all(axis=-1) & p_ok & t_ok & keep[:, None]
    return PCKhResult(
        correct=int(right.sum()),
        total=int((t_ok & keep[:, None]).sum()),
        pairs=int(keep.sum()),
        skipped=int((~keep).sum()),
    )


def pckh_target_name(result_name: str) -> str:
    """Target image name of a result file, as PATN's script derives it.

    Drop ``_vis.jpg`` (or else the extension), then keep what follows ``___`` (PATN/GFLA results:
    ``<source>___<target>_vis.jpg``), else what follows ``jpg_`` (DPTN: ``<source>.jpg_<target>.jpg.png``).
    A name with neither is returned unchanged (taken to be a target name already).
    """
    stem = result_name.removesuffix(_VIS_SUFFIX)
    if stem == result_name:
        stem = str(PurePath(result_name).with_suffix("")) if PurePath(result_name).suffix else stem
    if "___" in stem:
        return stem.split("___", 1)[1]
    if "jpg_" in stem:
        return stem.split("jpg_", 1)[1]
    return result_name
