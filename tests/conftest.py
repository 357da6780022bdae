"""Shared fixtures: the published reference files in ``tests/data/``, a sample In-shop tree, a CLI
runner.

Every file a test reads lives in ``tests/data/`` (source, commit, sha256 and licence in its
README; ``tests/test_data_files.py`` checks the hashes), so the suite runs the same from a clone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample

DATA = Path(__file__).resolve().parent / "data"


def _data_dir(name: str) -> Path:
    """``tests/data/<name>``; a missing folder is a broken checkout, not a reason to skip."""
    d = DATA / name
    if not d.is_dir():
        raise FileNotFoundError(f"{d} is missing: tests/data/ is part of the repository")
    return d


@pytest.fixture(scope="session")
def deepfashion_data() -> Path:
    """``tests/data/deepfashion``: published PATN split lists, Deformable-GAN / Market-1501 CSVs."""
    return _data_dir("deepfashion")


@pytest.fixture(scope="session")
def tryon_data() -> Path:
    """``tests/data/tryon``: released VITON-HD / HR-VITON sample files (CC BY-NC, tests only)."""
    return _data_dir("tryon")


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
