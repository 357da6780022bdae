"""FID numerics: closed forms, invariances, the eigh trace-sqrt vs scipy and the nuclear norm,
streamed statistics vs numpy, the statistics cache, extractor batching and weight errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from pgdata.errors import InputFormatError, WeightsError
from pgdata.metrics.fid import (
    FeatureStats,
    cache_key,
    frechet_distance,
    hash_files,
    load_stats,
    save_stats,
    sqrt_trace,
)
from pgdata.metrics.fid_features import FID_SPECS, FidSpec, compute_fid_stats, load_fid_network
from pgdata.models.alexnet import AlexNet
from pgdata.models.inception import FIDInceptionV3
from tests.metrics_images import one_thread  # noqa: F401 (fixture)

f64 = torch.float64


def _rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _spd(d: int, g: torch.Generator, rank: int | None = None) -> torch.Tensor:
    a = torch.randn(d, rank or 2 * d, generator=g, dtype=f64)
    return a @ a.T / a.shape[1]


def _rotation(d: int, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=f64))
    return q


# ---------------------------------------------------------------- closed forms


def test_diagonal_and_commuting_covariances() -> None:
    g = _rng(0)
    d = 16
    mu1, mu2 = torch.randn(d, generator=g, dtype=f64), torch.randn(d, generator=g, dtype=f64)
    a, b = torch.rand(d, generator=g, dtype=f64) + 0.1, torch.rand(d, generator=g, dtype=f64) * 3
    expect = float(((mu1 - mu2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum())
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(
        expect, rel=1e-12
    )
    q = _rotation(d, g)  # commuting: one eigenbasis, same closed form
    got = frechet_distance(mu1, q @ torch.diag(a) @ q.T, mu2, q @ torch.diag(b) @ q.T)
    assert got == pytest.approx(expect, rel=1e-10)


def test_scaled_covariance_and_identical_sets() -> None:
    g = _rng(1)
    c1 = _spd(32, g)
    mu = torch.randn(32, generator=g, dtype=f64)
    c = 1.5  # Σ2 = c² Σ1 → tr Σ1 (1 − c)²
    expect = float(c1.trace()) * (1 - c) ** 2
    assert frechet_distance(mu, c1, mu, c * c * c1) == pytest.approx(expect, rel=1e-10)
    assert frechet_distance(mu, c1, mu, c1) == pytest.approx(0.0, abs=1e-9)


def test_one_dimension() -> None:
    m1, s1, m2, s2 = 0.3, 2.0, -1.2, 0.5
    t = torch.tensor
    got = frechet_distance(
        t([m1], dtype=f64), t([[s1**2]], dtype=f64), t([m2], dtype=f64), t([[s2**2]], dtype=f64)
    )
    assert got == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-12)


def test_invariances() -> None:
    g = _rng(2)
    d = 24
    mu1, mu2 = torch.randn(d, generator=g, dtype=f64), torch.randn(d, generator=g, dtype=f64)
    c1, c2 = _spd(d, g), _spd(d, g, rank=5)  # one of them singular
    base = frechet_distance(mu1, c1, mu2, c2)
    # √ of round-off-sized eigenvalues of the singular product moves the result by ~1e-8
    tol = {"rel": 0, "abs": 1e-6}
    assert frechet_distance(mu2, c2, mu1, c1) == pytest.approx(base, **tol)
    q = _rotation(d, g)
    perm = torch.eye(d, dtype=f64)[torch.randperm(d, generator=g)]
    for m in (q, perm):
        got = frechet_distance(m @ mu1, m @ c1 @ m.T, m @ mu2, m @ c2 @ m.T)
        assert got == pytest.approx(base, **tol)
    shift = torch.randn(d, generator=g, dtype=f64)
    assert frechet_distance(mu1 + shift, c1, mu2 + shift, c2) == pytest.approx(base, **tol)
    moved = frechet_distance(mu1 + shift, c1, mu2, c2)
    delta = float(((mu1 + shift - mu2) ** 2).sum() - ((mu1 - mu2) ** 2).sum())
    assert moved - base == pytest.approx(delta, **tol)


def test_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="different dimensions"):
        frechet_distance(torch.zeros(3), torch.eye(3), torch.zeros(4), torch.eye(4))


# ---------------------------------------------------------------- trace of the square root


def _scipy_sqrt_trace(c1: torch.Tensor, c2: torch.Tensor) -> float:
    root = scipy.linalg.sqrtm(c1.numpy() @ c2.numpy())  # no disp=: deprecated in SciPy 1.17
    return float(np.trace(root).real)


def _features(g: torch.Generator, n: int, d: int, offset: float) -> torch.Tensor:
    """Inception-like features: ReLU of a low-rank projection, rank-deficient covariance for n < d."""
    w = torch.randn(64, d, generator=torch.Generator().manual_seed(99), dtype=f64)
    return torch.relu(torch.randn(n, 64, generator=g, dtype=f64) @ w * 0.1 + offset)


@pytest.mark.parametrize(("n1", "n2"), [(600, 500), (120, 90)], ids=["full-rank", "rank-deficient"])
def test_sqrt_trace_matches_scipy_sqrtm(n1: int, n2: int) -> None:
    g = _rng(3)
    d = 256
    a, b = _features(g, n1, d, 0.2), _features(g, n2, d, 0.25)
    c1, c2 = torch.cov(a.T), torch.cov(b.T)
    expect = _scipy_sqrt_trace(c1, c2)
    assert float(sqrt_trace(c1, c2)) == pytest.approx(expect, rel=1e-6)


def _float32_route(c1: torch.Tensor, c2: torch.Tensor) -> float:
    """The same symmetric route evaluated in float32, as a careless implementation would."""
    c1, c2 = c1.float(), c2.float()
    lam, q = torch.linalg.eigh(c1)
    root = (q * lam.clamp(min=0).sqrt()) @ q.mT
    inner = root @ c2 @ root
    return float(torch.linalg.eigvalsh(0.5 * (inner + inner.mT)).clamp(min=0).sqrt().sum())


@pytest.mark.usefixtures("one_thread")
def test_sqrt_trace_2048_where_float32_loses_a_whole_fid_point() -> None:
    """D = 2048, N = 300 per set (rank-deficient, as FID on a small test split).

    Reference: tr (Σ1 Σ2)^½ = ‖A Bᵀ‖_* / √((n1 − 1)(n2 − 1)) for centred features A, B: an SVD
    of a 300×300 matrix, independent of the D×D route.
    """
    g = _rng(4)
    n, d = 300, 2048
    a, b = _features(g, n, d, 0.2), _features(g, n, d, 0.25)
    a, b = a - a.mean(0), b - b.mean(0)
    expect = float(torch.linalg.svdvals(a @ b.T).sum()) / math.sqrt((n - 1) * (n - 1))
    c1, c2 = a.T @ a / (n - 1), b.T @ b / (n - 1)
    ours = float(sqrt_trace(c1, c2))
    assert ours == pytest.approx(expect, rel=1e-6)
    loss_f32 = 2 * abs(_float32_route(c1, c2) - expect)  # FID has −2 tr(...)^½
    assert loss_f32 > 0.5, loss_f32
    assert 2 * abs(ours - expect) < 1e-3


@pytest.mark.slow
def test_sqrt_trace_2048_full_rank_vs_scipy() -> None:
    g = _rng(5)
    c1, c2 = _spd(2048, g), _spd(2048, g)
    assert float(sqrt_trace(c1, c2)) == pytest.approx(_scipy_sqrt_trace(c1, c2), rel=1e-6)


# ---------------------------------------------------------------- streamed statistics


def test_streamed_mean_and_cov_match_numpy() -> None:
    rng = np.random.default_rng(6)
    # mean 10, std 0.05: raw float32 sums lose the variance (metrics.md §4)
    feats = (10.0 + 0.05 * rng.standard_normal((1000, 40))).astype(np.float32)
    stats = FeatureStats(40)
    for lo, hi in ((0, 1), (1, 64), (64, 300), (300, 301), (301, 1000)):
        stats.update(torch.from_numpy(feats[lo:hi]))
    assert stats.n == 1000
    ref = feats.astype(np.float64)
    np.testing.assert_allclose(stats.mean.numpy(), ref.mean(0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(stats.cov.numpy(), np.cov(ref, rowvar=False), rtol=0, atol=1e-10)
    naive = (feats**2).sum(0) / 1000 - (feats.sum(0) / 1000) ** 2  # float32 raw sums
    assert np.abs(naive - ref.var(0)).max() > 1e-4  # what the two-pass/Chan update avoids
    other = FeatureStats(40)
    half = FeatureStats(40)
    other.update(torch.from_numpy(feats[:400]))
    half.update(torch.from_numpy(feats[400:]))
    other.merge(half)
    np.testing.assert_allclose(other.cov.numpy(), np.cov(ref, rowvar=False), rtol=0, atol=1e-10)


def test_feature_stats_errors() -> None:
    stats = FeatureStats(4)
    with pytest.raises(ValueError, match="expected"):
        stats.update(torch.zeros(2, 5))
    stats.update(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="at least 2"):
        _ = stats.cov


def test_stats_file_round_trip_and_pytorch_fid_files(tmp_path: Path) -> None:
    g = _rng(7)
    stats = FeatureStats(8)
    stats.update(torch.randn(50, 8, generator=g))
    path = tmp_path / "real.npz"
    save_stats(path, stats, {"preset": "fid_tf"})
    back, meta = load_stats(path)
    assert meta["preset"] == "fid_tf" and meta["n"] == 50 and back.n == 50
    torch.testing.assert_close(back.mean, stats.mean, rtol=0, atol=0)
    torch.testing.assert_close(back.cov, stats.cov, rtol=0, atol=1e-15)
    np.savez(tmp_path / "statistics.npz", mu=np.zeros(8), sigma=np.eye(8))  # GFLA's cache
    _, meta = load_stats(tmp_path / "statistics.npz")
    assert meta["n"] == 0
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(InputFormatError, match="bad.npz"):
        load_stats(tmp_path / "bad.npz")
    np.savez(tmp_path / "odd.npz", mu=np.zeros(8), sigma=np.eye(7))
    with pytest.raises(InputFormatError, match="do not match"):
        load_stats(tmp_path / "odd.npz")


def test_cache_key_and_set_hash(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"1")
    (tmp_path / "b.png").write_bytes(b"2")
    h = hash_files([tmp_path / "b.png", tmp_path / "a.png"], tmp_path)
    assert h == hash_files([tmp_path / "a.png", tmp_path / "b.png"], tmp_path)
    (tmp_path / "b.png").write_bytes(b"3")
    h2 = hash_files([tmp_path / "a.png", tmp_path / "b.png"], tmp_path)
    assert h2 != h
    keys = {
        cache_key("fid_tf", "w1", h, {}),
        cache_key("fid_legacy_gfla", "w1", h, {}),
        cache_key("fid_tf", "w2", h, {}),
        cache_key("fid_tf", "w1", h2, {}),
        cache_key("fid_tf", "w1", h, {"drop_last": 64}),
    }
    assert len(keys) == 5


# ---------------------------------------------------------------- extraction


class _PooledProjection(nn.Module):
    """A cheap fixed feature map (pixels → 2048-d) so batching logic can be checked fast."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3 * 4 * 4, 2048)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(nn.functional.adaptive_avg_pool2d(x.float(), 4).flatten(1))


def test_legacy_protocol_drops_the_last_partial_batch() -> None:
    net = _PooledProjection()
    images = torch.randint(0, 256, (150, 3, 16, 12), dtype=torch.uint8, generator=_rng(8))
    batches = [images[i : i + 7] for i in range(0, 150, 7)]  # uneven stream
    legacy = FidSpec("legacy_like", "x", unit_float=True, drop_last_of=64)
    res = compute_fid_stats(net, legacy, batches)
    assert (res.stats.n, res.dropped) == (128, 22)
    with torch.no_grad():
        expect = net(images[:128].float() / 255.0).double()
    # float32 features of a 7-image batch vs a 128-image batch differ by round-off only
    torch.testing.assert_close(res.stats.mean, expect.mean(0), rtol=0, atol=1e-6)
    torch.testing.assert_close(res.stats.cov, torch.cov(expect.T), rtol=0, atol=1e-6)
    every = compute_fid_stats(net, FidSpec("tf_like", "x", False, None), batches)
    assert (every.stats.n, every.dropped) == (150, 0)


def test_fid_network_weight_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGDATA_WEIGHTS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsError) as err:
        load_fid_network("fid_tf")
    msg = str(err.value)
    assert "pt_inception-2015-12-05-6726825d.pth" in msg and "6726825d" in msg
    assert "https://" in msg and "PGDATA_WEIGHTS_DIR" in msg
    # right name, wrong bytes
    fake = tmp_path / FID_SPECS["fid_tf"].weights
    torch.save(FIDInceptionV3().state_dict(), fake)
    with pytest.raises(WeightsError, match="does not start with 6726825d"):
        load_fid_network("fid_tf", fake)
    net, sha = load_fid_network("fid_tf", fake, check=False)  # random weights, hash not checked
    assert isinstance(net, FIDInceptionV3) and len(sha) == 64
    # a checkpoint of another model
    torch.save(AlexNet().state_dict(), fake)
    with pytest.raises(WeightsError, match="not a state dict of the fid_tf Inception-v3"):
        load_fid_network("fid_tf", fake, check=False)
