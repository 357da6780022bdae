"""Builds on Dask equal local builds: the same manifest bytes and shard hashes (pose transfer,
try-on with its stages, faces through the CLI with ``--dask local:2``); failed tasks are retried a
bounded number of times; a missing ``distributed`` is a one-line error with the install hint.

The reference of every comparison is the local build of the same input files (same bytes, same
modification times: shards record the inputs' size and mtime in their spec hash).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pgdata.cli import cli
from pgdata.errors import ConfigError
from pgdata.executor import DaskExecutor, open_executor, parse_dask
from pgdata.jobs.faces.sample import FacesSampleConfig, run_faces_sample
from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample
from pgdata.jobs.tryon.build import TryonBuildConfig, run_build_tryon
from pgdata.jobs.tryon.sample import TryonSampleConfig, run_tryon_sample
from pgdata.shards import read_manifest

distributed = pytest.importorskip("distributed", reason="needs the dask extra")

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "pipelines" / "viton-hd.toml"
HW = (64, 48)
SHARD_MB = 0.04  # a few small shards, so several tasks run at once


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of 2 worker processes for the module, reached by its address (the
    `--dask tcp://...` path); `local:N` is exercised through the CLI below."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    ) as c:
        yield c.scheduler_address


def _files(folder: Path) -> dict[str, str]:
    """sha256 of every shard and of the manifest, computed here from the bytes."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.suffix == ".h5" or p.name == "manifest.json"
    }


def _same_build(a: Path, b: Path) -> None:
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()
    fa, fb = _files(a), _files(b)
    assert fa == fb and len(fa) >= 3  # the manifest and at least two shards
    listed = {e.file: e.sha256 for e in read_manifest(a).shards}
    assert listed == {k: v for k, v in fa.items() if k != "manifest.json"}
    assert not list(b.glob("*.partial"))


def test_pose_transfer_on_dask_equals_the_local_build(cluster, tmp_path):
    run_sample(SampleConfig(out=tmp_path / "inshop", ids=8, views=4, seed=3))
    run_build_pairs(
        BuildPairsConfig(
            dataset="deepfashion", root=tmp_path / "inshop", out=tmp_path / "pairs", images_hw=HW
        )
    )
    common = {"source": tmp_path / "pairs", "image_hw": HW, "shard_mb": SHARD_MB}
    local = run_build(BuildConfig(out=tmp_path / "local", **common))
    on_dask = run_build(BuildConfig(out=tmp_path / "dask", dask=cluster, **common))
    assert local.ran_on == "this process"
    assert on_dask.ran_on == f"dask {cluster} (2 workers)"
    assert on_dask.shards_written == local.shards_written >= 3
    assert set(on_dask.timings) == {"plan", "start", "shards", "manifest"}
    _same_build(tmp_path / "local", tmp_path / "dask")

    # a rerun on Dask keeps every shard (verified by its recorded sha256) and writes the same
    again = run_build(BuildConfig(out=tmp_path / "dask", dask=cluster, **common))
    assert (again.shards_written, again.shards_kept) == (0, local.shards_written)
    _same_build(tmp_path / "local", tmp_path / "dask")


def test_tryon_stages_and_shards_on_dask_equal_the_local_build(cluster, tmp_path):
    run_tryon_sample(TryonSampleConfig(tmp_path / "a", persons=6, size_hw=(64, 64)))
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the same inputs, before any stage ran
    local = run_build_tryon(
        TryonBuildConfig(source=tmp_path / "a", out=tmp_path / "a-shards", recipe=RECIPE)
    )
    common = {"recipe": RECIPE, "dask": cluster, "shard_mb": 0.02}
    on_dask = run_build_tryon(
        TryonBuildConfig(source=tmp_path / "b", out=tmp_path / "b-shards", **common)
    )
    assert on_dask.ran_on.startswith("dask ") and local.stages and on_dask.stages
    assert [(s.stage, s.done, s.rejected) for s in on_dask.stages.stages] == [
        (s.stage, s.done, s.rejected) for s in local.stages.stages
    ]
    assert {"parsing", "keypoints", "densepose", "agnostic", "cloth-mask"} <= set(on_dask.timings)
    # every stage output (and stage report) is the same file, byte for byte
    made = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(made) > 6 * 8
    for rel in made:
        assert (tmp_path / "b" / rel).read_bytes() == (tmp_path / "a" / rel).read_bytes(), rel
    assert not list((tmp_path / "b").rglob(".*.tmp"))
    # shards of root a (its files' mtimes) on Dask, smaller shards than the local build: the
    # stages have nothing left to do, and the shards match a local build of the same plan
    ref = run_build_tryon(
        TryonBuildConfig(source=tmp_path / "a", out=tmp_path / "ref", recipe=RECIPE, shard_mb=0.02)
    )
    again = run_build_tryon(TryonBuildConfig(source=tmp_path / "a", out=tmp_path / "d", **common))
    assert ref.shards_written == again.shards_written >= 3
    assert again.stages and all(s.done == 0 for s in again.stages.stages if s.stage != "pairs")
    _same_build(tmp_path / "ref", tmp_path / "d")


def test_cli_dask_local_2_faces_equal_the_local_build(tmp_path):
    run_faces_sample(FacesSampleConfig(tmp_path / "faces", n=12, size=32))
    args = ["build", "--recipe", "faces", "--source", tmp_path / "faces", "--image-size", "32x32"]
    args += ["--shard-mb", "0.004"]
    local = CliRunner().invoke(cli, [str(a) for a in [*args, "--out", tmp_path / "local"]])
    assert local.exit_code == 0, local.output
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pgdata", *map(str, args), "--out", str(tmp_path / "dask")]
        + ["--dask", "local:2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "build times on dask local:2 (2 workers): plan " in done.stderr
    assert done.stdout.splitlines()[-1] == local.stdout.splitlines()[-1]  # the same counts
    _same_build(tmp_path / "local", tmp_path / "dask")


def _flaky(args: tuple[Path, int, int]) -> int:
    """Fails (OSError) the first ``fails`` times it is called for ``counter``, then doubles."""
    counter, fails, value = args
    attempts = len(counter.read_text()) if counter.exists() else 0
    counter.write_text("x" * (attempts + 1))
    if attempts < fails:
        raise OSError(f"transient failure {attempts + 1}")
    return 2 * value


def test_failed_tasks_are_retried_a_bounded_number_of_times(cluster, tmp_path):
    tasks = [(tmp_path / f"n{i}", i % 3, i) for i in range(6)]  # 0, 1 or 2 failures each
    with open_executor(cluster, retries=2) as ex:
        assert isinstance(ex, DaskExecutor) and not ex.inline
        got = dict(ex.map_unordered(_flaky, tasks))
    assert got == {i: 2 * i for i in range(6)}
    assert [len(t[0].read_text()) for t in tasks] == [1, 2, 3, 1, 2, 3]  # failures + 1

    more = [(tmp_path / "m0", 0, 5), (tmp_path / "m1", 2, 6)]
    with open_executor(cluster, retries=1) as ex, pytest.raises(OSError, match="failure 2"):
        dict(ex.map_unordered(_flaky, more))
    assert len((tmp_path / "m1").read_text()) == 2  # one try and one retry, then it gave up


def _threads(_: int) -> int:
    import cv2

    return int(cv2.getNumThreads())


def test_dask_tasks_run_native_thread_pools_on_one_thread(cluster):
    # one thread per worker process is the model: OpenCV's pool would use every core in each
    with open_executor(cluster) as ex:
        assert {r for _, r in ex.map_unordered(_threads, list(range(4)))} == {1}


def test_without_distributed_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    res = CliRunner().invoke(
        cli,
        ["build", "--recipe", "faces", "--source", str(tmp_path), "--out", str(tmp_path / "o")]
        + ["--dask", "local:2"],
    )
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        "Error: --dask needs distributed: install the dask extra: pip install 'pgdata[dask]' "
        "(dask and distributed)"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("spec", "kind", "workers"),
    [
        ("local:3", "local", 3),
        ("tcp://10.0.0.5:8786", "address", 0),
        ("head-node:8786", "address", 0),
        ("~/scheduler.json", "file", 0),
    ],
)
def test_dask_values(spec, kind, workers):
    target = parse_dask(spec)
    assert (target.kind, target.workers) == (kind, workers)


@pytest.mark.parametrize("spec", ["local:0", "local:x", "local:", "two workers", "tcp://a b"])
def test_bad_dask_values_are_refused_naming_the_forms(spec, tmp_path):
    with pytest.raises(ConfigError, match="local:N"):
        parse_dask(spec)
    res = CliRunner().invoke(
        cli,
        ["build", "--recipe", "aligned", "--source", str(tmp_path), "--out", str(tmp_path / "o")]
        + ["--dask", spec],
    )
    assert res.exit_code == 1 and "local:N" in res.stderr
