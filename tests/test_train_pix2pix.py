"""The pix2pix families through the one loop: counts, aligned runs (both directions, grey input),
exact resume with the shared crop and flip, the pose baseline's padded 39-channel input, and
channel counts that do not match the data."""

import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pgdata.cli.train import models_cmd, train_cmd
from pgdata.training.config import load_train_config
from pgdata.training.steps.pix2pix import Pix2PixPoseStep
from tests.train_shards import (
    IMAGE_HW,
    ROOT,
    SMALL,
    aligned_shards,
    assert_same,
    pose_shards,
    single_thread,
)

QUIET = ["--set", "workers=0", "--set", "tensorboard=false", "--device", "cpu"]
# the pose baseline at test size: a 6-level U-Net pads 64x48 pairs to 64x64
TINY_POSE = ["--set", "ngf=8", "--set", "ndf=8", "--set", "num_downs=6", "--set", "pad_to=[64, 64]"]
TINY_POSE += ["--set", "batch_size=2", "--set", "sample_rows=3"]

# generators.md §1 / §4 and issue 13
EXPECTED = {
    "pix2pix": {"G": 54_413_955, "D": 2_768_705},
    "pix2pix-pose": {"G": 54_450_819, "D": 2_805_569},
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    yield from single_thread()


@pytest.fixture(scope="module")
def aligned(tmp_path_factory):
    return aligned_shards(tmp_path_factory.mktemp("aligned"))


def _train(data, out, *args, config="tiny-pix2pix", steps=2):
    cmd = ["--config", config, "--source", str(data), "--out", str(out), "--steps", str(steps)]
    return CliRunner().invoke(train_cmd, [*cmd, *QUIET, *args])


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


def _error(result):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def _grid(run, step=2):
    return cv2.cvtColor(
        cv2.imread(str(run / "samples" / f"step-{step:06d}.png")), cv2.COLOR_BGR2RGB
    )


def _test_halves(data):
    """Left and right halves of the test split's A|B files (name order, as the shards)."""
    files = sorted((data.parent / "facades" / "test").glob("*.png"))
    images = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files]
    return [im[:, :SMALL] for im in images], [im[:, SMALL:] for im in images]


@pytest.mark.parametrize("config", sorted(EXPECTED))
def test_models_prints_the_reference_counts(config):
    result = _ok(CliRunner().invoke(models_cmd, ["--config", config]))
    counts = {n: int(p) for _, n, p in (r.split(" ") for r in result.stdout.splitlines())}
    assert counts == EXPECTED[config]


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_two_steps_on_aligned_shards_in_both_directions(aligned, tmp_path, direction):
    run = tmp_path / "run"
    extra = ["--set", f"direction={direction}", "--set", "log_every=1"]
    _ok(_train(aligned, run, *extra, "--set", "tensorboard=true"))
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert {"D", "G", "gan", "l1", "lr/G", "lr/D"} <= set(log[0]) and log[0]["lr/D"] == 2e-4
    assert list((run / "tb").glob("events.out.tfevents.*"))
    # grid: input | target | output; the test split's 2 images, input = A (or B) as stored
    grid = _grid(run)
    assert grid.shape == (2 * SMALL, 3 * SMALL, 3)
    a, b = _test_halves(aligned)
    src, dst = (a, b) if direction == "AtoB" else (b, a)
    for row in range(2):
        cell = grid[row * SMALL : (row + 1) * SMALL]
        assert np.array_equal(cell[:, :SMALL], src[row])
        assert np.array_equal(cell[:, SMALL : 2 * SMALL], dst[row])


def test_resume_continues_exactly(aligned, tmp_path):
    common = ["--set", "ckpt_every=2", "--set", "keep_last=5"]
    _ok(_train(aligned, tmp_path / "a", *common, steps=4))
    _ok(_train(aligned, tmp_path / "b", *common, steps=2))
    resumed = _ok(_train(aligned, tmp_path / "b", *common, "--resume", steps=4))
    assert resumed.stdout.startswith("trained 2 steps (2 -> 4) in ")
    for step in (2, 4):
        a = torch.load(tmp_path / "a" / f"ckpt-00000{step}.pt", weights_only=True)
        b = torch.load(tmp_path / "b" / f"ckpt-00000{step}.pt", weights_only=True)
        a["config"].pop("steps"), b["config"].pop("steps")
        assert_same(a, b)


def test_grey_input_and_channel_counts_the_data_cannot_give(aligned, tmp_path):
    run = tmp_path / "grey"
    _ok(_train(aligned, run, "--set", "input_nc=1", steps=1))
    g = torch.load(run / "ckpt-000001.pt", weights_only=True)["G"]
    assert g["model.model.0.weight"].shape[1] == 1  # the outermost conv takes one channel
    cell = _grid(run, 1)[:SMALL, :SMALL].astype(int)
    assert np.array_equal(cell[..., 0], cell[..., 1]) and np.array_equal(cell[..., 1], cell[..., 2])
    err = _error(_train(aligned, tmp_path / "bad", "--set", "input_nc=4", steps=1))
    assert "input_nc: the aligned images in " in err
    assert "give 3 channels (RGB) or 1 (grey), the config has 4" in err
    assert not (tmp_path / "bad").exists()


def test_pose_baseline_pads_source_and_both_poses_to_the_unet_size(tmp_path_factory, tmp_path):
    pose = pose_shards(tmp_path_factory.mktemp("pose"))
    run = tmp_path / "run"
    _ok(_train(pose, run, *TINY_POSE, config="pix2pix-pose"))
    grid = _grid(run)
    h, w = IMAGE_HW
    assert grid.shape == (3 * h, 5 * w, 3)  # cropped back to the native 64x48
    ckpt = torch.load(run / "ckpt-000002.pt", weights_only=True)
    assert ckpt["family"] == "pix2pix_pose" and ckpt["G"]["model.model.0.weight"].shape[1] == 39

    sets = {"ngf": 8, "ndf": 8, "num_downs": 6, "pad_to": [64, 64]}
    cfg = load_train_config(ROOT / "train" / "pix2pix-pose.toml", sets, device="cpu")
    step = Pix2PixPoseStep(cfg, torch.device("cpu"), steps_per_epoch=10)
    ds = Pix2PixPoseStep.dataset(cfg, pose, "train", train=False)
    b = step.to_device(step.collate([ds[0], ds[1]]))
    x = b["input"]
    assert x.shape == (2, 39, 64, 64) and b["target"].shape == (2, 3, 64, 64)
    left = (64 - w) // 2  # 8 columns each side
    assert torch.all(x[:, :3, :, :left] == 1.0) and torch.all(x[:, :3, :, left + w :] == 1.0)
    assert torch.all(x[:, 3:, :, :left] == 0.0) and torch.all(x[:, 3:, :, left + w :] == 0.0)
    assert torch.equal(x[:, :3, :, left : left + w], b["P1"])
    assert torch.equal(x[:, 3:21, :, left : left + w], b["BP1"])
    assert torch.equal(x[:, 21:, :, left : left + w], b["BP2"])

    err = _error(
        _train(pose, tmp_path / "bad", *TINY_POSE, "--set", "input_nc=3", config="pix2pix-pose")
    )
    assert "input_nc: the pose-transfer shards in " in err
    assert (
        "give 39 channels (image 3 + source pose 18 + target pose 18 in, image 3 out), the config has 3"
        in err
    )
    assert not (tmp_path / "bad").exists()
