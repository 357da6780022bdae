"""The PATN family through the one loop: counts, a complete 2-step run, exact resume with the
image pool, PATN's epoch of 4,000 pairs, the uint8 pose-map quirk, mismatched pose channels."""

import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pgdata.cli.train import models_cmd, train_cmd
from pgdata.stages.heatmaps import render_heatmaps
from pgdata.training.config import load_train_config
from pgdata.training.steps.patn import PATNStep
from tests.train_shards import IMAGE_HW, ROOT, assert_same, pose_shards, single_thread

QUIET = ["--set", "workers=0", "--set", "tensorboard=false", "--device", "cpu"]

# generators.md §1 / §3 and issue 13
EXPECTED = {
    ("patn", "G"): 41_358_019,
    ("patn", "D_PB"): 3_975_424,
    ("patn", "D_PP"): 3_928_384,
    ("patn-market", "G"): 41_365_763,
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    yield from single_thread()


@pytest.fixture(scope="module")
def pose(tmp_path_factory):
    return pose_shards(tmp_path_factory.mktemp("pose"))


def _train(data, out, *args, steps=2):
    cmd = ["--config", "tiny-patn", "--source", str(data), "--out", str(out)]
    cmd += ["--steps", str(steps)] if steps else []
    return CliRunner().invoke(train_cmd, [*cmd, *QUIET, *args])


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


def _lines(run):
    return [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("config", ["patn", "patn-market"])
def test_models_prints_the_reference_counts(config):
    result = _ok(CliRunner().invoke(models_cmd, ["--config", config]))
    counts = {(c, n): int(p) for c, n, p in (r.split(" ") for r in result.stdout.splitlines())}
    assert {k: v for k, v in counts.items() if k in EXPECTED} == {
        k: v for k, v in EXPECTED.items() if k[0] == config
    }


def test_two_steps_log_every_term_to_tensorboard_and_draw_a_grid(pose, tmp_path):
    run = tmp_path / "run"
    args = ["--set", "tensorboard=true", "--set", "log_every=1", "--set", "perceptual=true"]
    args += ["--set", "vgg_weights=random", "--set", "gan_mode=vanilla"]
    _ok(_train(pose, run, *args))
    log = _lines(run)
    assert [x["step"] for x in log] == [1, 2]
    terms = {"G", "l1", "perceptual", "gan", "D_PP", "D_PB", "lr/G", "lr/D_PP", "lr/D_PB"}
    assert terms <= set(log[0])
    assert all(np.isfinite(log[1][k]) for k in terms)
    assert list((run / "tb").glob("events.out.tfevents.*"))
    ckpt = torch.load(run / "ckpt-000002.pt", weights_only=True)
    assert ckpt["family"] == "patn" and ckpt["networks"] == ["G", "D_PB", "D_PP"]
    assert set(ckpt["optimizers"]) == {"G", "D_PP", "D_PB"}
    grid = cv2.imread(str(run / "samples" / "step-000002.png"))
    h, w = IMAGE_HW
    assert grid.shape == (3 * h, 5 * w, 3)  # source | source pose | target pose | target | output


def test_resume_continues_exactly_with_the_image_pool(pose, tmp_path):
    # a pool of 2 past fakes (filled and swapped within 4 steps at batch 2) is part of the state
    common = ["--set", "pool_size=2", "--set", "ckpt_every=2", "--set", "keep_last=5"]
    _ok(_train(pose, tmp_path / "a", *common, steps=4))
    _ok(_train(pose, tmp_path / "b", *common, steps=2))
    resumed = _ok(_train(pose, tmp_path / "b", *common, "--resume", steps=4))
    assert resumed.stdout.startswith("trained 2 steps (2 -> 4) in ")
    for step in (2, 4):
        a = torch.load(tmp_path / "a" / f"ckpt-00000{step}.pt", weights_only=True)
        b = torch.load(tmp_path / "b" / f"ckpt-00000{step}.pt", weights_only=True)
        a["config"].pop("steps"), b["config"].pop("steps")
        assert_same(a, b)
    pools = torch.load(tmp_path / "a" / "ckpt-000004.pt", weights_only=True)["pools"]
    assert [len(pools[k]) for k in ("D_PP", "D_PB")] == [2, 2]
    assert pools["D_PB"][0].shape == (3 + 18, *IMAGE_HW)


def test_an_epoch_of_epoch_pairs_drives_the_lr_schedule(pose, tmp_path):
    # epoch_pairs 4 at batch 2 = 2 steps per epoch; 1 flat + 1 decaying epoch = 4 steps:
    # factor 1 - max(0, e - 1) / 2 for the 1-based epoch e of the steps done
    run = tmp_path / "run"
    _ok(
        _train(
            pose,
            run,
            "--set",
            "epoch_pairs=4",
            "--set",
            "steps=0",
            "--set",
            "log_every=1",
            steps=None,
        )
    )
    lrs = [x["lr/G"] for x in _lines(run)]
    assert lrs == pytest.approx([2e-4, 1e-4, 1e-4, 0.0])


def test_patn_uint8_maps_are_the_truncated_gaussians(pose):
    cfg = load_train_config(ROOT / "train" / "tiny-patn.toml", {"pose_maps": "patn_uint8"})
    step = PATNStep(cfg, torch.device("cpu"), steps_per_epoch=10)
    ds = PATNStep.dataset(cfg, pose, "train", train=False)
    batch = step.collate([ds[i] for i in range(2)])
    for k in ("K1", "K2"):  # PATN's keypoints are integers: only then does a 1 survive
        batch[k][..., :2] = batch[k][..., :2].round()
    b = step.to_device(batch)
    for i in range(2):
        want = render_heatmaps(batch["K1"][i].numpy(), IMAGE_HW, 6.0, patn_uint8_quirk=True)
        assert np.array_equal(b["BP1"][i].numpy(), want)
    assert b["BP1"].sum() > 0 and set(b["BP2"].unique().tolist()) <= {0.0, 1.0}


def test_pose_channels_that_do_not_match_the_shards_are_one_line_errors(pose, tmp_path):
    result = _train(pose, tmp_path / "run", "--set", "pose_channels=17")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: pose_channels: the shards in ")
    assert "hold 18 joints per person, the config expects 17" in lines[0]
    assert not (tmp_path / "run").exists()
