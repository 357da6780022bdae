"""kill -9 of ``pgdata train --config tiny`` (CPU, a checkpoint every 2 steps): the rerun with
``--resume`` ends with the weights, optimiser states and RNG states of an uninterrupted run,
tensor for tensor."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest
import torch

from tests.faults import harness
from tests.faults.harness import Kill, kill9, pgdata, replay, wait_until
from tests.train_shards import assert_same, pose_shards

STEPS, CKPT_EVERY = 12, 2
SHORT, LONG = 1, 4
POINTS = [
    *range(SHORT),
    *(pytest.param(i, marks=pytest.mark.faults_long) for i in range(SHORT, SHORT + LONG)),
]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # the same arithmetic every run


def _train(data: Path, out: Path, *extra: str) -> list[str]:
    return pgdata(
        "train", "--config", "tiny", "--source", data, "--out", out, "--steps", STEPS,
        "--device", "cpu", "--set", "workers=0", "--set", "tensorboard=false",
        "--set", f"ckpt_every={CKPT_EVERY}", "--set", "keep_last=20", "--set", "log_every=1",
        "--set", "sample_every=1000", "--set", "flip_prob=0.5", *extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, object], float]:
    """Tiny pose shards, the final checkpoint of an uninterrupted run on them, and the median
    seconds of its steps (kill delays are drawn below one step, so the kill lands in the run)."""
    d = tmp_path_factory.mktemp("faults-train")
    data = pose_shards(d)
    rc, _, err = harness.run(_train(data, d / "ref"), d / "ref", env=ONE_THREAD)
    assert rc == 0, err[-3000:]
    lines = (d / "ref" / "log.jsonl").read_text().splitlines()
    step_s = statistics.median(json.loads(line)["perf/s_per_it"] for line in lines)
    return data, torch.load(d / "ref" / f"ckpt-{STEPS:06d}.pt", weights_only=True), step_s


@pytest.mark.parametrize("index", POINTS)
def test_a_killed_training_run_resumes_to_the_same_weights(reference, tmp_path, index):
    data, ref, step_s = reference
    rng = harness.rng("train", index)
    # at least 3 steps left when the watcher sees step `after`, at most one more in the delay
    after, delay = rng.randint(1, STEPS - 3), rng.uniform(0, step_s)
    why = replay("train", index)
    out = tmp_path / "run"
    proc = harness.start(_train(data, out), tmp_path / "killed", env=ONE_THREAD)
    try:
        wait_until(lambda: harness.lines(out / "log.jsonl") >= after, 120, f"step {after}; {why}")
        time.sleep(delay)
        kill9(proc.pid)
        proc.wait(timeout=30)
    finally:
        kill9(proc.pid)
    logged = harness.lines(out / "log.jsonl")
    checkpoints = sorted(p.name for p in out.glob("ckpt-*.pt"))
    assert logged < STEPS, f"the run ended before the kill; {why}"

    rc, stdout, stderr = harness.run(
        _train(data, out, "--resume"), tmp_path / "rerun", env=ONE_THREAD
    )
    assert rc == 0, f"{why}\n{stderr[-3000:]}"
    resumed_from = int(checkpoints[-1][5:11]) if checkpoints else 0
    assert stdout.startswith(
        f"trained {STEPS - resumed_from} steps"
        + (f" ({resumed_from} -> {STEPS})" if resumed_from else "")
    ), (why, stdout)
    got = torch.load(out / f"ckpt-{STEPS:06d}.pt", weights_only=True)
    assert_same(got, ref, "ckpt")  # weights, optimisers, schedulers, RNG: tensor for tensor
    point = f"after step {logged}/{STEPS} (+{delay * 1e3:.0f} ms), resumed from step {resumed_from}"
    harness.KILLS.append(Kill("train", index, point, survived=True, lost=0))
