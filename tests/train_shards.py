"""Helpers of the training tests: small shard folders built by the real jobs, one torch thread.

``pose_shards``: a ``pgdata sample`` In-shop tree of 8 identities at 64×48 (48 train pairs, 24
test pairs), so a tiny DPTN trains a step in well under a second. ``tryon_shards``: the try-on
sample's shards (another schema, for the wrong-input test). ``aligned_shards`` and
``faces_shards``: the aligned (pix2pix) and faces (DMFN) samples at 64×64, built into shards.
``assert_same``: checkpoint values equal tensor for tensor.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from pgdata.jobs.aligned.build import AlignedBuildConfig, run_build_aligned
from pgdata.jobs.aligned.sample import AlignedSampleConfig, run_aligned_sample
from pgdata.jobs.faces.build import FacesBuildConfig, run_build_faces
from pgdata.jobs.faces.sample import FacesSampleConfig, run_faces_sample
from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample
from pgdata.jobs.tryon.build import TryonBuildConfig, run_build_tryon
from pgdata.jobs.tryon.sample import TryonSampleConfig, run_tryon_sample

ROOT = Path(__file__).resolve().parents[1]
IMAGE_HW = (64, 48)  # multiples of 8, as DPTN needs
SMALL = 64  # side of the aligned halves and of the faces (a 5-level U-Net needs multiples of 32)


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


def aligned_shards(out: Path, *, n: int = 8) -> Path:
    """Build aligned shards (n train, n // 4 val and test A|B images of 64² halves)."""
    run_aligned_sample(AlignedSampleConfig(out / "facades", n=n, size_hw=(SMALL, SMALL)))
    run_build_aligned(AlignedBuildConfig(source=out / "facades", out=out / "shards"))
    return out / "shards"


def faces_shards(out: Path, *, n: int = 8) -> Path:
    """Build face shards (n train, n // 4 test faces of 64², with landmarks)."""
    run_faces_sample(FacesSampleConfig(out / "faces", n=n, size=SMALL))
    run_build_faces(FacesBuildConfig(source=out / "faces", out=out / "shards", size=SMALL))
    return out / "shards"


def assert_same(a: object, b: object, where: str = "ckpt") -> None:
    """Recursive equality of checkpoint values, tensor for tensor (dtype included)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, set(a) ^ set(b))
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)
