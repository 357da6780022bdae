"""Issue 11, findings 2 and 9: one writer per output folder, workers die with their build.

Every test here runs real ``pgdata`` processes: the lock and the orphan rules are about other
processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pgdata.cli import cli
from pgdata.io.lock import LockedError
from pgdata.jobs.garments.crawl import CrawlConfig, run_crawl
from pgdata.jobs.garments.garments import GarmentsConfig, run_garments
from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.tryon.cloth_mask import ClothMaskConfig, run_cloth_mask
from pgdata.jobs.tryon.pipeline import load_tryon_recipe, run_tryon_pipeline
from pgdata.jobs.tryon.sample import TryonSampleConfig, run_tryon_sample
from pgdata.shards.verify import verify_shards
from pgdata.training.config import load_train_config
from pgdata.training.loop import train
from tests.hardening.helpers import build_cmd

ROOT = Path(__file__).resolve().parents[2]

LOCK = ".pgdata-lock"
WAIT_S = 180  # a loaded 2-core machine starts python + torch slowly


def _wait_for(what: Callable[[], bool], timeout: float = WAIT_S, step: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(step)
    return what()


def _children(pid: int) -> set[int]:
    """Process ids of ``pid``'s children (Linux ``/proc``)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _listing(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file()}


def test_a_second_build_into_the_same_folder_is_refused(hard_pairs, tmp_path, runner):
    out = tmp_path / "shards"
    args = ["--shard-mb", "0.05", "--no-parsing"]
    first = subprocess.Popen(
        build_cmd(hard_pairs, out, *args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        assert _wait_for(lambda: (out / "build-plan.json").is_file())
        os.kill(first.pid, signal.SIGSTOP)  # the first build is alive, in the middle of writing
        assert not (out / "manifest.json").exists(), "the first build finished too early"
        res = runner.invoke(cli, ["build", "--source", str(hard_pairs), "--out", str(out), *args])
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, err = first.communicate(timeout=WAIT_S)
    assert first.returncode == 0, err.decode()[-2000:]
    assert res.exit_code == 1, res.output
    line = res.output.strip().splitlines()[-1]
    assert line.startswith(f"Error: {out}: in use by pid {first.pid} on {socket.gethostname()}")
    assert "pgdata build" in line and "Traceback" not in res.output
    assert verify_shards(out).faults == []
    assert not (out / LOCK).exists()  # released when the first build ended


def test_a_stale_lock_of_a_killed_build_is_taken_over(hard_pairs, tmp_path):
    out = tmp_path / "shards"
    args = ["--shard-mb", "0.05", "--no-parsing"]
    proc = subprocess.Popen(
        build_cmd(hard_pairs, out, *args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    assert _wait_for(lambda: (out / "build-plan.json").is_file())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "the build finished before it was killed"
    left = json.loads((out / LOCK).read_text())
    assert (left["pid"], left["host"]) == (proc.pid, socket.gethostname())
    assert "pgdata build" in left["command"] and left["started"]
    result = run_build(BuildConfig(source=hard_pairs, out=out, shard_mb=0.05, parsing=False))
    assert f"took over the lock of pid {proc.pid} (no longer running)" in result.notes
    assert verify_shards(out).faults == []
    assert not (out / LOCK).exists()


def test_workers_die_with_a_killed_build_and_write_nothing_after(hard_pairs, tmp_path):
    out = tmp_path / "shards"
    args = ["--workers", "2", "--shard-mb", "0.05", "--no-parsing", "--store-heatmaps"]
    proc = subprocess.Popen(
        build_cmd(hard_pairs, out, *args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    assert _wait_for(lambda: out.is_dir() and any(out.glob("*.h5")))
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "the build finished before it was killed"
    assert len(workers) >= 2
    assert _wait_for(lambda: not any(_running(w) for w in workers), timeout=5, step=0.05), (
        f"workers {sorted(w for w in workers if _running(w))} outlived their build"
    )
    before = _listing(out)
    time.sleep(1.0)
    assert _listing(out) == before  # nothing written after the build died
    run_build(
        BuildConfig(
            source=hard_pairs, out=out, shard_mb=0.05, parsing=False, store_heatmaps=True, workers=2
        )
    )
    assert verify_shards(out, quick=True).faults == []


_HOLD = """
import sys, time
from pgdata.io.lock import folder_lock
with folder_lock(sys.argv[1], "pgdata holder"):
    print("held", flush=True)
    time.sleep(600)
"""


@contextlib.contextmanager
def _held(folder: Path) -> Iterator[int]:
    """Another process holding ``folder``'s lock meanwhile; yields its pid."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _refused(pid: int, folder: Path) -> str:
    return rf"{re.escape(str(folder))}: in use by pid {pid} on .*pgdata holder"


def test_train_refuses_a_locked_run_folder(built, tmp_path):
    run = tmp_path / "run"
    cfg = load_train_config(None, device="cpu", steps=1)
    with _held(run) as pid, pytest.raises(LockedError, match=_refused(pid, run)):
        train(cfg, built, run)
    assert not (run / "config.json").exists()


def test_crawl_garments_and_tryon_stages_refuse_a_locked_folder(tmp_path):
    store = ROOT / "crawlers" / "fixture_shop.toml"
    out = tmp_path / "crawl"
    with (
        _held(out / "fixture_shop") as pid,
        pytest.raises(LockedError, match=_refused(pid, out / "fixture_shop")),
    ):
        run_crawl(CrawlConfig(store=store, out=out))
    garments = tmp_path / "garments"
    with _held(garments) as pid, pytest.raises(LockedError, match=_refused(pid, garments)):
        run_garments(GarmentsConfig(src=out, out=garments))
    root = tmp_path / "viton"
    run_tryon_sample(TryonSampleConfig(root, persons=1, size_hw=(64, 64)))
    with _held(root) as pid:
        with pytest.raises(LockedError, match=_refused(pid, root)):
            run_cloth_mask(ClothMaskConfig(root=root))
        with pytest.raises(LockedError, match=_refused(pid, root)):
            run_tryon_pipeline(load_tryon_recipe(None, root))
    assert not (root / "test" / "cloth-mask").exists()
