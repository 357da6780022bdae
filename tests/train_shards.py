"""Helpers of the training tests: small shard folders built by the real jobs, one torch thread.

``pose_shards``: a ``pgdata sample`` In-shop tree of 8 identities at 64×48 (48 train pairs, 24
test pairs), so a tiny DPTN trains a step in well under a second. ``tryon_shards``: the try-on
sample's shards (another schema, for the wrong-input test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample
from pgdata.jobs.tryon.build import TryonBuildConfig, run_build_tryon
from pgdata.jobs.tryon.sample import TryonSampleConfig, run_tryon_sample

ROOT = Path(__file__).resolve().parents[1]
IMAGE_HW = (64, 48)  # multiples of 8, as DPTN needs


def single_thread() -> Iterator[None]:
    """Run torch on one thread meanwhile (a module fixture of the training tests).

    Two intra-op threads on a 2-core machine that other processes also use spin against each
    other: a tiny step then takes 20× longer than on one thread.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pose_shards(out: Path, *, ids: int = 8, seed: int = 0) -> Path:
    """Build pose-transfer shards under ``out`` and return the shard folder."""
    run_sample(SampleConfig(out=out / "inshop", ids=ids, views=4, seed=seed))
    run_build_pairs(
        BuildPairsConfig(
            dataset="deepfashion", root=out / "inshop", out=out / "pairs", images_hw=IMAGE_HW
        )
    )
    run_build(
        BuildConfig(source=out / "pairs", out=out / "shards", image_hw=IMAGE_HW, parsing=False)
    )
    return out / "shards"


def tryon_shards(out: Path) -> Path:
    """Build try-on shards (schema ``tryon``) under ``out`` and return the shard folder."""
    run_tryon_sample(TryonSampleConfig(out / "root", persons=2, size_hw=(64, 64)))
    recipe = ROOT / "pipelines" / "viton-hd.toml"
    run_build_tryon(TryonBuildConfig(source=out / "root", out=out / "shards", recipe=recipe))
    return out / "shards"
