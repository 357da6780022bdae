"""FID feature extraction under the two protocols: networks, weights, preprocessing, batching.

- ``fid_tf`` (default): TF-FID Inception (``pt_inception-2015-12-05-6726825d.pth``), uint8 input,
  TF1 bilinear resize to 299, ``(x − 128) / 128`` (torch-fidelity's semantics; bit-compatible with
  pytorch-fid's network); every image counts.
- ``fid_legacy_gfla``: torchvision's ImageNet Inception-v3 (``inception_v3_google-0cc3c7bd.pth``),
  [0, 1] input, plain bilinear resize, the pre-2019 pytorch-fid normalisation, batches of 64 and
  **the last partial batch dropped** (``N mod 64`` images never count), as GFLA/DPTN's
  ``metrics.py``; published DeepFashion FIDs (~10–12) compare only with this pipeline, with real
  statistics from the whole training set.

Weights are found and sha256-checked by :mod:`pgdata.io.weights` (never downloaded); a missing
file raises :class:`~pgdata.errors.WeightsError` naming the file, its hash prefix, where to get it
and where to put it. A file whose keys or shapes are not the network's is refused the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from pgdata.errors import WeightsError
from pgdata.io.weights import KNOWN_WEIGHTS, file_sha256, find_weights, load_state_dict
from pgdata.metrics.fid import FeatureStats
from pgdata.models.inception import FEATURE_DIM, FIDInceptionV3, TorchvisionInceptionV3

__all__ = [
    "FID_SPECS",
    "FidSpec",
    "FidStatsResult",
    "FidStream",
    "compute_fid_stats",
    "load_fid_network",
]


@dataclass(frozen=True)
class FidSpec:
    """How one FID preset turns images into features.

    Attributes:
        preset: preset name.
        weights: the :data:`~pgdata.io.weights.KNOWN_WEIGHTS` file name.
        unit_float: the network takes [0, 1] floats (else uint8).
        drop_last_of: count only whole batches of this size (``None``: every image).
    """

    preset: str
    weights: str
    unit_float: bool
    drop_last_of: int | None


LEGACY_BATCH = 64  # GFLA/DPTN metrics.py batch size; the remainder of the set is dropped
STATS_BLOCK = 1024  # features per float64 statistics update

FID_SPECS: dict[str, FidSpec] = {
    "fid_tf": FidSpec("fid_tf", "pt_inception-2015-12-05-6726825d.pth", False, None),
    "fid_legacy_gfla": FidSpec(
        "fid_legacy_gfla", "inception_v3_google-0cc3c7bd.pth", True, LEGACY_BATCH
    ),
}


def load_state_strict(
    net: nn.Module, state: dict[str, torch.Tensor], path: Path, what: str
) -> None:
    """``load_state_dict(strict=True)`` with a one-line :class:`WeightsError` on a foreign file."""
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        detail = "; ".join(
            f"{label} {keys[:3]}{' …' if len(keys) > 3 else ''} ({len(keys)})"
            for label, keys in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("shape differs", shapes),
            )
            if keys
        )
        raise WeightsError(f"{path}: not a state dict of {what}: {detail}")
    net.load_state_dict(state, strict=True)


def load_fid_network(
    preset: str,
    weights: str | Path | None = None,
    device: str | torch.device = "cpu",
    *,
    check: bool = True,
) -> tuple[nn.Module, str]:
    """The frozen network of ``preset`` with its weights, and the weights file's sha256.

    Args:
        preset: ``fid_tf`` or ``fid_legacy_gfla``.
        weights: the file, or a folder holding it; ``None`` searches ``$PGDATA_WEIGHTS_DIR`` and
            the torch hub cache (:func:`pgdata.io.weights.find_weights`).
        device: where the network runs.
        check: verify the sha256 prefix (tests with random weights pass ``False``).

    Raises:
        WeightsError: file missing, wrong hash, or not this network's state dict.
    """
    spec = FID_SPECS[preset]
    wf = KNOWN_WEIGHTS[spec.weights]
    path = find_weights(wf, weights, check=check)
    state = load_state_dict(wf, path, check=False)
    net: nn.Module = TorchvisionInceptionV3() if spec.unit_float else FIDInceptionV3()
    load_state_strict(net, state, path, f"the {preset} Inception-v3 ({wf.name})")
    return net.to(device), file_sha256(path)


@dataclass
class FidStatsResult:
    """Statistics of one image set: ``stats`` over ``stats.n`` images, ``dropped`` left out."""

    stats: FeatureStats
    dropped: int


class FidStream:
    """Feature statistics of a stream of ``(B, 3, H, W)`` uint8 RGB batches, fed one at a time.

    Batches may differ in size and image size (each is resized to 299). Features wait in a buffer
    and enter the float64 statistics :data:`STATS_BLOCK` at a time (each update costs a D×D pass
    whatever the batch size). With ``spec.drop_last_of`` the features of the last
    ``N mod drop_last_of`` images are discarded at :meth:`finish`, exactly as the reference's
    ``n_batches = N // batch_size``.
    """

    def __init__(self, net: nn.Module, spec: FidSpec, device: str | torch.device = "cpu") -> None:
        self.net, self.spec, self.device = net, spec, device
        self.stats = FeatureStats(FEATURE_DIM, device=device)
        self._pending: list[torch.Tensor] = []
        self._n_pending = 0

    def add(self, batch: torch.Tensor) -> None:
        """Extract and accumulate one uint8 batch."""
        if batch.dtype != torch.uint8:
            raise ValueError(f"FID batches must be uint8 RGB, got {batch.dtype}")
        with torch.inference_mode():
            x = batch.to(self.device)
            feats = self.net(x.float() / 255.0 if self.spec.unit_float else x)
        self._pending.append(feats)
        self._n_pending += feats.shape[0]
        if self._n_pending >= STATS_BLOCK:
            self._flush()

    def _flush(self) -> None:
        """Move the pending features into the statistics (whole legacy batches only)."""
        block = self.spec.drop_last_of or 1
        whole = (self._n_pending // block) * block
        if whole == 0:
            return
        pending = torch.cat(self._pending)
        self.stats.update(pending[:whole])
        self._pending, self._n_pending = [pending[whole:]], self._n_pending - whole

    def finish(self) -> FidStatsResult:
        """The statistics so far; an incomplete last legacy batch is dropped."""
        self._flush()
        dropped = self._n_pending
        self._pending, self._n_pending = [], 0
        return FidStatsResult(self.stats, dropped)


def compute_fid_stats(
    net: nn.Module,
    spec: FidSpec,
    batches: Iterable[torch.Tensor],
    device: str | torch.device = "cpu",
) -> FidStatsResult:
    """Feature statistics of a whole stream of uint8 batches (see :class:`FidStream`)."""
    stream = FidStream(net, spec, device)
    for batch in batches:
        stream.add(batch)
    return stream.finish()
