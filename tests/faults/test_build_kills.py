"""kill -9 of a Dask build (``pgdata build --dask local:2``): a worker while it writes a shard,
then the client itself; the build (or its rerun) ends with the manifest and shards of an
uninterrupted local build, no partial file is left, and every complete shard written before a
client kill is kept by the rerun.

Shards here store heatmaps (gzip), so most of a shard task is the HDF5 write: a kill during the
build usually finds a ``NAME.<pid>-<random>.partial`` file, whose pid names the worker to kill.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample
from pgdata.shards.resume import JOURNAL
from tests.faults import harness
from tests.faults.harness import Kill, kill9, pgdata, replay, wait_until

pytest.importorskip("distributed", reason="needs the dask extra")

SHARD_MB = 1.0  # about 4 records a shard: 32 shards of 128 images
SHORT, LONG = 1, 4  # kill points per target: default suite, faults_long
POINTS = [
    *range(SHORT),
    *(pytest.param(i, marks=pytest.mark.faults_long) for i in range(SHORT, SHORT + LONG)),
]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A build-pairs folder (32 ids, 256x176) and its uninterrupted local build (the reference)."""
    d = tmp_path_factory.mktemp("faults-build")
    run_sample(SampleConfig(out=d / "inshop", ids=32, views=4, seed=5))
    run_build_pairs(
        BuildPairsConfig(
            dataset="deepfashion", root=d / "inshop", out=d / "pairs", images_hw=(256, 176)
        )
    )
    run_build(
        BuildConfig(source=d / "pairs", out=d / "ref", store_heatmaps=True, shard_mb=SHARD_MB)
    )
    return d / "pairs", d / "ref"


def _build(src: Path, out: Path) -> list[str]:
    return pgdata(
        "build", "--recipe", "deepfashion", "--source", src, "--out", out, "--store-heatmaps",
        "--shard-mb", SHARD_MB, "--dask", "local:2",
    )  # fmt: skip


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.h5"))}


def _assert_same(ref: Path, out: Path, why: str) -> int:
    """The build in ``out`` equals ``ref`` (manifest bytes, every shard); return shards lost."""
    assert (out / "manifest.json").read_bytes() == (ref / "manifest.json").read_bytes(), why
    want, got = _hashes(ref), _hashes(out)
    assert got == want, why
    assert not list(out.glob("*.partial")), why
    return len(set(want) - set(got))


def _partial_writer(out: Path) -> int | None:
    """The pid of a worker writing a shard now (from its partial file's name), if any."""
    for p in out.glob("*.partial"):
        pid = p.name.rsplit(".", 2)[-2].split("-")[0]
        if pid.isdigit() and harness.alive(int(pid)):
            return int(pid)
    return None


@pytest.mark.parametrize("index", POINTS)
def test_a_worker_killed_mid_shard_leaves_no_partial_and_the_build_completes(
    source, tmp_path, index
):
    src, ref = source
    rng = harness.rng("dask worker", index)
    n = len(list(ref.glob("*.h5")))
    after = rng.randint(1, n // 2)  # shards published before the kill
    why = replay("dask worker", index)
    out = tmp_path / "out"
    proc = harness.start(_build(src, out), tmp_path / "build")
    try:
        wait_until(lambda: harness.lines(out / JOURNAL) >= after, 120, f"{after} shards; {why}")
        victim, mid_write = None, False
        end = time.monotonic() + 5
        while victim is None and time.monotonic() < end:
            victim = _partial_writer(out)
            time.sleep(harness.POLL_S)
        if victim is None:  # no write caught in time: any worker
            victim = harness.dask_workers(proc.pid)[0]
        else:
            mid_write = True
        kill9(victim)
        wait_until(lambda: not harness.alive(victim), 10, f"worker {victim} to end; {why}")
        left = list(out.glob(f"*.{victim}-*.partial"))  # its half-written shard, if any
        published = harness.lines(out / JOURNAL)
        rc = proc.wait(timeout=180)
    finally:
        kill9(proc.pid)
    err = (tmp_path / "build.err").read_text()
    assert rc == 0, f"{why}\n{err[-3000:]}"
    assert not harness.alive(victim)
    lost = _assert_same(ref, out, why)
    point = f"worker pid {victim} after {published}/{n} shards" + (
        f" while writing a shard ({len(left)} partial file(s) of it left, removed by the client)"
        if mid_write
        else ""
    )
    harness.KILLS.append(Kill("dask worker", index, point, survived=True, lost=lost))


@pytest.mark.parametrize("index", POINTS)
def test_a_killed_client_takes_its_workers_and_the_rerun_keeps_every_complete_shard(
    source, tmp_path, index
):
    src, ref = source
    rng = harness.rng("dask client", index)
    n = len(list(ref.glob("*.h5")))
    after, delay = rng.randint(1, n - 2), rng.uniform(0, 0.05)
    why = replay("dask client", index)
    out = tmp_path / "out"
    proc = harness.start(_build(src, out), tmp_path / "killed")
    try:
        wait_until(lambda: harness.lines(out / JOURNAL) >= after, 120, f"{after} shards; {why}")
        time.sleep(delay)
        workers = harness.dask_workers(proc.pid)
        kill9(proc.pid)
        proc.wait(timeout=30)
    finally:
        kill9(proc.pid)
    assert len(workers) == 2, why
    wait_until(lambda: not any(map(harness.alive, workers)), 10, f"the workers to end; {why}")
    complete = sorted(p.name for p in out.glob("*.h5"))  # nobody writes here any more
    assert not (out / "manifest.json").exists(), why

    rc, stdout, stderr = harness.run(_build(src, out), tmp_path / "rerun")
    assert rc == 0, f"{why}\n{stderr[-3000:]}"
    assert f"reused {len(complete)} complete shards" in stdout, (why, complete, stdout)
    assert "took over the lock of pid" in stderr, why
    lost = _assert_same(ref, out, why)
    point = f"client after {len(complete)}/{n} shards complete (+{delay * 1e3:.0f} ms)"
    harness.KILLS.append(Kill("dask client", index, point, survived=True, lost=lost))
