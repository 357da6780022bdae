"""Fixtures of the hardening tests (issue 11): one build-pairs folder of the session sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs


@pytest.fixture(scope="session")
def hard_pairs(sample_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``pgdata build-pairs --images 256x176`` writes for the session sample (read-only)."""
    out = tmp_path_factory.mktemp("hard") / "pairs"
    run_build_pairs(
        BuildPairsConfig(dataset="deepfashion", root=sample_tree, out=out, images_hw=(256, 176))
    )
    return out


@pytest.fixture
def pairs_copy(hard_pairs: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`hard_pairs` a test may damage."""
    return Path(shutil.copytree(hard_pairs, tmp_path / "src"))


@pytest.fixture(scope="session")
def built(hard_pairs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shards of :func:`hard_pairs` without parsing maps (one per split), read-only."""
    out = tmp_path_factory.mktemp("built") / "shards"
    run_build(BuildConfig(source=hard_pairs, out=out, parsing=False))
    return out
