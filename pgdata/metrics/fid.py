"""Fréchet distance numerics: streamed feature statistics, the trace of the matrix square root, caching.

``d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁ Σ₂)^½``. Only the trace of the square root is needed,
and it equals ``Σ √λᵢ`` of the symmetric positive semi-definite ``Σ₁^½ Σ₂ Σ₁^½`` (same eigenvalues as
``Σ₁ Σ₂``), so two symmetric eigendecompositions (``eigh``) in float64 replace scipy's ``sqrtm`` of a
non-symmetric product: no complex results, no ``nan`` retries, and several times faster. Negative
eigenvalues from round-off are clamped to 0.

Statistics are accumulated in float64 batch by batch with Chan et al.'s pairwise update (mean and
centred scatter of each batch, merged exactly), so neither the features nor raw sums of squares in
float32 are ever held: the covariance is as accurate as ``np.cov`` on all features at once.
Covariances use ``N − 1`` (``np.cov(rowvar=False)``).

Real-set statistics are cached as ``.npz`` files named by a key that covers the preset, the weights'
sha256 and the hash of the real images (:func:`cache_key`), written atomically.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_bytes

__all__ = [
    "FeatureStats",
    "cache_key",
    "frechet_distance",
    "hash_files",
    "load_stats",
    "save_stats",
    "sqrt_trace",
]

_STATS_FORMAT = 1


class FeatureStats:
    """Running mean and covariance of ``D``-dimensional features, in float64.

    ``update(feats)`` takes ``(B, D)`` features of any float dtype on any device; the
    accumulators live on ``device`` (float64). ``mean`` is ``(D,)``, ``cov`` ``(D, D)`` with the
    ``N − 1`` normalisation (needs ``N ≥ 2``).
    """

    def __init__(self, dim: int, device: str | torch.device = "cpu") -> None:
        self.dim = dim
        self.n = 0
        self._mean = torch.zeros(dim, dtype=torch.float64, device=device)
        self._scatter = torch.zeros(dim, dim, dtype=torch.float64, device=device)

    def update(self, feats: torch.Tensor) -> None:
        """Add a ``(B, D)`` batch (B ≥ 1)."""
        if feats.dim() != 2 or feats.shape[1] != self.dim:
            raise ValueError(f"expected (B, {self.dim}) features, got {tuple(feats.shape)}")
        b = feats.shape[0]
        if b == 0:
            return
        f = feats.to(device=self._mean.device, dtype=torch.float64)
        mean_b = f.mean(dim=0)
        centred = f - mean_b
        scatter_b = centred.T @ centred
        n = self.n + b
        delta = mean_b - self._mean
        self._mean += delta * (b / n)
        self._scatter += scatter_b + torch.outer(delta, delta) * (self.n * b / n)
        self.n = n

    def merge(self, other: FeatureStats) -> None:
        """Fold another accumulator of the same dimension into this one."""
        if other.n == 0:
            return
        n = self.n + other.n
        delta = other._mean.to(self._mean) - self._mean
        self._mean += delta * (other.n / n)
        self._scatter += other._scatter.to(self._scatter)
        self._scatter += torch.outer(delta, delta) * (self.n * other.n / n)
        self.n = n

    @property
    def mean(self) -> torch.Tensor:
        """``(D,)`` float64 mean."""
        return self._mean.clone()

    @property
    def cov(self) -> torch.Tensor:
        """``(D, D)`` float64 covariance, ``N − 1`` normalisation."""
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 samples, have {self.n}")
        return self._scatter / (self.n - 1)

    @classmethod
    def from_moments(cls, mean: torch.Tensor, cov: torch.Tensor, n: int) -> FeatureStats:
        """Rebuild an accumulator from a mean, an ``N − 1`` covariance and ``N``."""
        stats = cls(mean.numel(), device=mean.device)
        stats.n = n
        stats._mean = mean.to(torch.float64).clone()
        stats._scatter = cov.to(torch.float64) * max(n - 1, 0)
        return stats


def sqrt_trace(c1: torch.Tensor, c2: torch.Tensor) -> torch.Tensor:
    """``tr (c1 c2)^½`` for symmetric PSD ``(D, D)`` matrices, via two ``eigh`` in float64.

    Returns a float64 scalar tensor on the inputs' device.
    """
    c1, c2 = c1.to(torch.float64), c2.to(torch.float64)
    lam, q = torch.linalg.eigh(c1)
    root = (q * lam.clamp(min=0).sqrt()) @ q.mT  # c1^½
    inner = root @ c2 @ root
    inner = 0.5 * (inner + inner.mT)  # symmetric again after round-off
    eig: torch.Tensor = torch.linalg.eigvalsh(inner)
    return eig.clamp(min=0).sqrt().sum()


def frechet_distance(
    mu1: torch.Tensor, cov1: torch.Tensor, mu2: torch.Tensor, cov2: torch.Tensor
) -> float:
    """Fréchet distance between N(mu1, cov1) and N(mu2, cov2), computed in float64.

    Args:
        mu1, mu2: ``(D,)`` means; cov1, cov2: ``(D, D)`` symmetric PSD covariances (any float
            dtype, one device).

    Returns:
        ``d² ≥ 0`` (tiny negative round-off for identical statistics is returned as 0).
    """
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != (*mu1.shape, *mu1.shape):
        raise ValueError(
            f"statistics of different dimensions: means {tuple(mu1.shape)}, {tuple(mu2.shape)}, "
            f"covariances {tuple(cov1.shape)}, {tuple(cov2.shape)}"
        )
    mu1, mu2 = mu1.to(torch.float64), mu2.to(torch.float64)
    c1, c2 = cov1.to(torch.float64), cov2.to(torch.float64)
    d = (mu1 - mu2).square().sum() + c1.trace() + c2.trace() - 2.0 * sqrt_trace(c1, c2)
    return max(float(d), 0.0)


def hash_files(paths: Iterable[Path], root: Path | None = None) -> str:
    """sha256 over the (relative name, contents) of ``paths`` in sorted order: a set's identity."""
    h = hashlib.sha256()
    for p in sorted(Path(p) for p in paths):
        name = str(p.relative_to(root)) if root is not None else p.name
        h.update(name.encode("utf-8") + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def cache_key(preset: str, weights_sha256: str, set_hash: str, protocol: dict[str, object]) -> str:
    """A file-name-safe key for real statistics: preset, weights, the image set and protocol knobs."""
    blob = json.dumps(
        {"preset": preset, "weights": weights_sha256, "set": set_hash, "protocol": protocol},
        sort_keys=True,
    )
    return f"{preset}-{hashlib.sha256(blob.encode()).hexdigest()[:20]}"


def save_stats(path: str | Path, stats: FeatureStats, meta: dict[str, object]) -> None:
    """Write ``mu``, ``sigma`` (``N − 1`` covariance), ``n`` and JSON ``meta`` to ``path`` atomically."""
    buf = io.BytesIO()
    np.savez(
        buf,
        mu=stats.mean.cpu().numpy(),
        sigma=stats.cov.cpu().numpy(),
        n=np.int64(stats.n),
        meta=np.array(json.dumps({"format": _STATS_FORMAT, **meta}, sort_keys=True)),
    )
    atomic_write_bytes(path, buf.getvalue())


def load_stats(path: str | Path) -> tuple[FeatureStats, dict[str, object]]:
    """Read a file written by :func:`save_stats` (or pytorch-fid's ``mu``/``sigma`` npz).

    Files without ``n`` (pytorch-fid, GFLA's ``statistics.npz``) load with ``n = 0`` in the meta
    and ``N`` set to 2, which only matters for merging.

    Raises:
        InputFormatError: not an npz with ``mu`` ``(D,)`` and ``sigma`` ``(D, D)``.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            mu, sigma = np.asarray(f["mu"], np.float64), np.asarray(f["sigma"], np.float64)
            n = int(f["n"]) if "n" in f.files else 0
            meta = json.loads(str(f["meta"])) if "meta" in f.files else {}
    except (OSError, ValueError, KeyError) as e:
        raise InputFormatError(
            path, f"not a FID statistics file with 'mu' and 'sigma' ({e})"
        ) from None
    if mu.ndim != 1 or sigma.shape != (mu.size, mu.size):
        raise InputFormatError(path, f"mu {mu.shape} and sigma {sigma.shape} do not match")
    meta["n"] = n
    stats = FeatureStats.from_moments(torch.from_numpy(mu), torch.from_numpy(sigma), max(n, 2))
    return stats, meta
