"""`pgdata train` under torchrun: 2 CPU processes (gloo), DistributedSampler, rank 0 writes."""

import hashlib
import json
import os
import subprocess
import sys

import pytest
import torch

from tests.train_shards import ROOT, pose_shards

pytestmark = pytest.mark.slow
TIMEOUT_S = 300


def _torchrun(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    return subprocess.run(
        [*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )


def _sha(state):
    h = hashlib.sha256()
    for key, value in sorted(state.items()):
        h.update(key.encode())
        h.update(value.contiguous().numpy().tobytes())
    return h.hexdigest()


def test_two_ranks_train_disjoint_pairs_into_equal_weights(tmp_path):
    data = pose_shards(tmp_path / "data")
    dump = tmp_path / "dump"
    dump.mkdir()
    worker = ROOT / "tests" / "ddp_train_worker.py"
    done = _torchrun(str(worker), str(data), str(tmp_path / "run"), str(dump), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((dump / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["world"] for r in ranks] == [2, 2]
    pairs = [{tuple(p) for p in r["pairs"]} for r in ranks]
    assert [len(p) for p in pairs] == [4, 4]  # 2 steps x batch 2, all different
    assert not pairs[0] & pairs[1]
    assert ranks[0]["weights"] == ranks[1]["weights"]
    # rank 0 wrote the checkpoint, and it holds the weights both ranks ended with
    ckpt = torch.load(tmp_path / "run" / "ckpt-000002.pt", weights_only=True)
    assert ckpt["world_size"] == 2 and len(ckpt["rng"]) == 2
    assert {n: _sha(ckpt[n]) for n in ("G", "D")} == ranks[0]["weights"]


def test_the_command_runs_under_torchrun(tmp_path):
    data = pose_shards(tmp_path / "data")
    args = ["-m", "pgdata", "train", "--config", "tiny", "--source", str(data)]
    args += [
        "--out",
        str(tmp_path / "run"),
        "--steps",
        "1",
        "--set",
        "workers=0",
        "--device",
        "cpu",
    ]
    done = _torchrun(*args, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    summaries = [line for line in done.stdout.splitlines() if line.startswith("trained 1 step in")]
    assert len(summaries) == 1, done.stdout  # rank 0 prints the summary
    assert (tmp_path / "run" / "ckpt-000001.pt").is_file()
