"""Shared fixtures: the shared reference data, a sample In-shop tree, a CLI runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def deepfashion_data() -> Path:
    """``../shared/data/deepfashion`` (published PATN / Deformable-GAN files), or skip."""
    d = SHARED / "deepfashion"
    if not (d / "defgan_myeongjun2").is_dir():
        pytest.skip(f"reference data not found at {d} (only present beside a developer checkout)")
    return d


@pytest.fixture(scope="session")
def tryon_data() -> Path:
    """``../shared/data/tryon`` (VITON-HD / HR-VITON samples), or skip."""
    d = SHARED / "tryon"
    if not d.is_dir():
        pytest.skip(f"reference data not found at {d} (only present beside a developer checkout)")
    return d


@pytest.fixture(scope="session")
def sample_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default ``pgdata sample`` tree (24 identities × 4 views). Read-only for tests."""
    out = tmp_path_factory.mktemp("sample") / "inshop"
    run_sample(SampleConfig(out=out))
    return out


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def random_keypoints(
    rng: np.random.Generator, n: int, size_hw: tuple[int, int], p_missing: float = 0.2
) -> np.ndarray:
    """``(n, 18, 3)`` integer-valued keypoints inside ``size_hw`` with some joints missing."""
    h, w = size_hw
    kps = np.zeros((n, 18, 3), dtype=np.float32)
    kps[..., 0] = rng.integers(0, w, size=(n, 18))
    kps[..., 1] = rng.integers(0, h, size=(n, 18))
    kps[..., 2] = rng.random((n, 18)) >= p_missing
    kps[kps[..., 2] == 0] = 0
    return kps
