"""`pgdata train` end to end on tiny shards: run folder, checkpoints, exact resume, logs, refusals."""

import hashlib
import json
import re

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pgdata.cli.train import train_cmd
from pgdata.data import PoseTransferDataset
from pgdata.models import DPTNConfig, build_dptn
from tests.train_shards import IMAGE_HW, pose_shards, single_thread, tryon_shards

TINY_NETS = DPTNConfig(ngf=8, n_cab=1, n_ttb=1, dis_layers=3, ndf=8)  # train/tiny.toml's network
QUIET = ["--set", "workers=0", "--set", "tensorboard=false", "--device", "cpu"]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    yield from single_thread()


@pytest.fixture(scope="module")
def pose(tmp_path_factory):
    return pose_shards(tmp_path_factory.mktemp("pose"))


def _train(data, out, *args, steps=2):
    cmd = ["--config", "tiny", "--source", str(data), "--out", str(out), "--steps", str(steps)]
    return CliRunner().invoke(train_cmd, [*cmd, *QUIET, *args])


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


def _error(result):
    """The one-line error of a failed command (exit status 1, no traceback)."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def _assert_same(a, b, where="ckpt"):
    """Recursive equality of checkpoint values, tensor for tensor."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), (where, set(a) ^ set(b))
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def test_two_steps_write_a_complete_run(pose, tmp_path):
    run = tmp_path / "run"
    extra = ["--set", "sample_every=1", "--set", "ckpt_every=1", "--set", "keep_last=1"]
    result = _ok(_train(pose, run, *extra, "--set", "tensorboard=true", "--set", "log_every=1"))
    line = result.stdout.strip()
    assert re.fullmatch(
        r"trained 2 steps in [\d.]+ s \([\d.e+-]+ s/it, data wait \d+ %\); "
        rf"checkpoint {re.escape(str(run / 'ckpt-000002.pt'))}; "
        rf"samples {re.escape(str(run / 'samples' / 'step-000002.png'))}",
        line,
    ), line

    # keep_last = 1: only the newest checkpoint; the log has one line per step
    assert sorted(p.name for p in run.glob("ckpt-*.pt")) == ["ckpt-000002.pt"]
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in log] == [1, 2]
    assert {
        "D",
        "G",
        "rec_t",
        "rec_s",
        "gan_t",
        "lr/G",
        "lr/D",
        "perf/s_per_it",
        "perf/data_wait",
    } <= set(log[0])
    assert log[0]["lr/D"] == pytest.approx(0.1 * log[0]["lr/G"])
    assert list((run / "tb").glob("events.out.tfevents.*"))

    manifest_sha = hashlib.sha256((pose / "manifest.json").read_bytes()).hexdigest()
    record = json.loads((run / "config.json").read_text())
    assert record["family"] == "dptn" and record["data_sha256"] == manifest_sha
    assert record["config"]["ngf"] == 8 and record["config"]["steps"] == 2

    # a plain dict that loads without pgdata's training code into fresh networks
    ckpt = torch.load(run / "ckpt-000002.pt", weights_only=True)
    assert ckpt["format"] == "pgdata-train-checkpoint" and ckpt["family"] == "dptn"
    assert (
        ckpt["step"] == 2 and ckpt["data_sha256"] == manifest_sha and ckpt["networks"] == ["G", "D"]
    )
    assert ckpt["config"] == record["config"] and len(ckpt["rng"]) == 1
    assert isinstance(ckpt["rng"][0]["torch"], torch.Tensor)
    g, d = build_dptn(TINY_NETS)
    g.load_state_dict(ckpt["G"])
    d.load_state_dict(ckpt["D"])
    assert set(ckpt["optimizers"]) == set(ckpt["schedulers"]) == {"G", "D"}

    # grid: rows = the first 3 test pairs; columns source | source pose | target pose | target | output
    grid = cv2.cvtColor(cv2.imread(str(run / "samples" / "step-000002.png")), cv2.COLOR_BGR2RGB)
    h, w = IMAGE_HW
    assert grid.shape == (3 * h, 5 * w, 3)
    test = PoseTransferDataset(pose, "test")
    for row in range(3):
        cell = grid[row * h : (row + 1) * h]
        assert np.array_equal(cell[:, 0:w], test[row]["P1"].permute(1, 2, 0).numpy())
        assert np.array_equal(cell[:, 3 * w : 4 * w], test[row]["P2"].permute(1, 2, 0).numpy())
        assert cell[:, w : 3 * w].any()  # skeletons drawn


def test_resume_continues_exactly(pose, tmp_path):
    # accumulation 2 (forward recomputed per phase), seeded flips, resume mid-epoch
    # (test_train_sampling covers resuming across epochs)
    common = ["--set", "accumulation=2", "--set", "flip_prob=0.5"]
    common += ["--set", "ckpt_every=2", "--set", "keep_last=5", "--set", "log_every=1"]
    _ok(_train(pose, tmp_path / "a", *common, steps=4))
    _ok(_train(pose, tmp_path / "b", *common, steps=2))
    resumed = _ok(_train(pose, tmp_path / "b", *common, "--resume", steps=4))
    assert resumed.stdout.startswith("trained 2 steps (2 -> 4) in ")
    for step in (2, 4):
        a = torch.load(tmp_path / "a" / f"ckpt-00000{step}.pt", weights_only=True)
        b = torch.load(tmp_path / "b" / f"ckpt-00000{step}.pt", weights_only=True)
        a["config"].pop("steps"), b["config"].pop("steps")
        _assert_same(a, b)
    logged = [
        json.loads(x)["step"] for x in (tmp_path / "b" / "log.jsonl").read_text().splitlines()
    ]
    assert logged == [1, 2, 3, 4]


def test_out_folder_and_resume_refusals(pose, tmp_path):
    run = tmp_path / "run"
    _ok(_train(pose, run, steps=1))
    assert "already holds this run (step 1): pass --resume" in _error(_train(pose, run, steps=1))
    err = _error(_train(pose, run, "--set", "lr=1e-4", steps=1))
    assert "holds another run (lr: 0.0002 -> 0.0001)" in err
    err = _error(_train(pose, run, "--set", "lr=1e-4", "--resume", steps=2))
    assert "--resume refused" in err and "lr: 0.0002 -> 0.0001" in err and "--force" in err
    other = pose_shards(tmp_path / "other", seed=1)
    err = _error(_train(other, run, "--resume", steps=2))
    assert "--resume refused" in err and "shards: manifest sha256" in err
    _ok(_train(pose, run, "--set", "lr=1e-4", "--resume", "--force", steps=2))
    assert (run / "ckpt-000002.pt").is_file()

    assert "holds no run; drop --resume" in _error(_train(pose, tmp_path / "typo", "--resume"))
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    assert "not a pgdata run" in _error(_train(pose, stranger, steps=1))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(pose, tmp_path):
    run = tmp_path / "run"
    _ok(_train(pose, run, "--set", "ckpt_every=1", steps=1))
    before = (run / "ckpt-000001.pt").read_bytes()
    # Adam's first steps move every weight by about lr: 1e30 overflows the activations
    blowup = ["--set", "lr=1e30", "--set", "ckpt_every=1", "--resume", "--force"]
    err = _error(_train(pose, run, *blowup, steps=4))
    assert "non-finite loss by step 2" in err
    assert f"last good checkpoint {run / 'ckpt-000001.pt'}" in err
    assert sorted(p.name for p in run.iterdir() if p.suffix in (".pt", ".tmp")) == [
        "ckpt-000001.pt"
    ]
    assert (run / "ckpt-000001.pt").read_bytes() == before
    assert not list(run.glob(".*.tmp"))


def test_wrong_schema_and_too_little_data(pose, tmp_path):
    tryon = tryon_shards(tmp_path / "tryon")
    err = _error(_train(tryon, tmp_path / "run", steps=1))
    assert "holds 'tryon' shards" in err and "'pose-transfer'" in err
    assert not (tmp_path / "run").exists()
    err = _error(_train(pose, tmp_path / "run", "--set", "batch_size=64", steps=1))
    assert "has 48 pairs, fewer than one step needs" in err


def test_resize_to_trains_stretched_and_samples_at_native_size(pose, tmp_path):
    run = tmp_path / "run"
    _ok(_train(pose, run, "--set", "resize_to=[64, 64]", steps=1))
    grid = cv2.imread(str(run / "samples" / "step-000001.png"))
    assert grid.shape == (3 * IMAGE_HW[0], 5 * IMAGE_HW[1], 3)


def test_cuda_out_of_memory_suggests_smaller_batch_or_accumulation(pose, tmp_path, monkeypatch):
    # no GPU here: the real step raises what CUDA raises when it runs out of memory
    from pgdata.training.steps.dptn import DPTNStep

    def oom(self, micros, world):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(DPTNStep, "train_step", oom)
    err = _error(_train(pose, tmp_path / "run", "--set", "batch_size=4", steps=1))
    assert "CUDA out of memory at batch_size 4" in err
    assert "--set batch_size=2 --set accumulation=2" in err
    assert not list((tmp_path / "run").glob("ckpt-*"))
    monkeypatch.undo()  # a run that never checkpointed may be retried with another config
    _ok(_train(pose, tmp_path / "run", "--set", "batch_size=2", steps=1))
