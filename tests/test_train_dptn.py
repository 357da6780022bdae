"""The DPTN family through the loop: `pgdata models`, teacher → student, VGG19 switches, accumulation."""

import json

import pytest
import torch
from click.testing import CliRunner

from pgdata.cli.train import models_cmd, train_cmd
from pgdata.training.config import load_train_config
from pgdata.training.steps.dptn import DPTNStep
from tests.train_shards import ROOT, pose_shards, single_thread

TINY_MBCONV = ["--set", "block=mbconv", "--set", "mbconv_expand=2", "--set", "mbconv_se=8"]
TINY = ROOT / "train" / "tiny.toml"
QUIET = ["--set", "workers=0", "--set", "tensorboard=false", "--device", "cpu"]

# generators.md §1 and issue 12
EXPECTED = {
    ("dptn", "G"): 9_794_371,
    ("dptn", "D"): 664_577,
    ("dptn-market", "G"): 9_794_371,
    ("dptn-market", "D"): 238_209,
    ("dptn-teacher", "G"): 8_566_531,
    ("dptn-teacher", "D"): 664_577,
    ("dptn-student", "G"): 7_511_299,
    ("dptn-student", "D"): 664_577,
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    yield from single_thread()


@pytest.fixture(scope="module")
def pose(tmp_path_factory):
    return pose_shards(tmp_path_factory.mktemp("pose"))


def _train(data, out, *args, steps=1):
    cmd = ["--config", "tiny", "--source", str(data), "--out", str(out), "--steps", str(steps)]
    return CliRunner().invoke(train_cmd, [*cmd, *QUIET, *args])


def _error(result):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_models_prints_exact_counts_for_every_bundled_config():
    result = CliRunner().invoke(models_cmd, [])
    assert result.exit_code == 0, result.output
    rows = [line.split(" ") for line in result.stdout.strip().splitlines()]
    assert all(len(r) == 3 and r[2].isdigit() for r in rows), rows
    counts = {(c, n): int(p) for c, n, p in rows}
    assert {k: counts[k] for k in EXPECTED} == EXPECTED
    assert counts[("dptn-teacher", "G")] - counts[("dptn-student", "G")] == 1_055_232
    one = CliRunner().invoke(models_cmd, ["--config", "tiny"])
    assert [line.split(" ")[:2] for line in one.stdout.splitlines()] == [
        ["tiny", "G"],
        ["tiny", "D"],
    ]


def test_student_distils_from_a_teacher_run(pose, tmp_path):
    teacher_run = tmp_path / "teacher"
    result = _train(pose, teacher_run, *TINY_MBCONV, "--set", "n_cab=2", "--set", "n_ttb=2")
    assert result.exit_code == 0, result.output
    student = [*TINY_MBCONV, "--set", f"teacher_checkpoint={teacher_run}", "--set", "log_every=1"]
    result = _train(pose, tmp_path / "student", *student)
    assert result.exit_code == 0, result.output
    log = json.loads((tmp_path / "student" / "log.jsonl").read_text().splitlines()[0])
    assert log["kd_t"] > 0 and "kd_s" not in log

    # a teacher of another architecture (ResBlocks) for an MBConv student is refused
    base_run = tmp_path / "base"
    assert _train(pose, base_run).exit_code == 0
    err = _error(
        _train(pose, tmp_path / "s2", *TINY_MBCONV, "--set", f"teacher_checkpoint={base_run}")
    )
    assert "is another architecture: block 'res' (student 'mbconv')" in err
    # ... and so is a checkpoint without the config whose tensors do not fit
    ckpt = torch.load(base_run / "ckpt-000001.pt", weights_only=True)
    torch.save({"G": ckpt["G"]}, tmp_path / "bare.pt")
    err = _error(
        _train(
            pose,
            tmp_path / "s3",
            *TINY_MBCONV,
            "--set",
            f"teacher_checkpoint={tmp_path / 'bare.pt'}",
        )
    )
    assert "bare.pt" in err and "does not match the configured architecture" in err
    assert not (tmp_path / "s2").exists() and not (tmp_path / "s3").exists()


def test_teacher_is_frozen_and_the_student_starts_from_it(pose, tmp_path):
    teacher_run = tmp_path / "teacher"
    two = ["--set", "n_cab=2", "--set", "n_ttb=2"]
    assert _train(pose, teacher_run, *TINY_MBCONV, *two).exit_code == 0
    cfg = load_train_config(
        TINY,
        {
            "block": "mbconv",
            "mbconv_expand": 2,
            "mbconv_se": 8,
            "teacher_checkpoint": str(teacher_run),
        },
        device="cpu",
    )
    step = DPTNStep(cfg, torch.device("cpu"), steps_per_epoch=10)
    teacher = step.teacher.generator
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    student_state = step.G.state_dict()
    assert all(torch.equal(student_state[k], before[k]) for k in student_state)  # init_from_teacher
    assert len(before) > len(student_state)  # the teacher's second CAB/TTB were dropped
    ds = DPTNStep.dataset(cfg, pose, "train", train=True)
    batch = step.to_device(step.collate([ds[i] for i in range(2)]))
    terms = step.train_step([batch], world=1)
    assert terms["kd_t"] > 0
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(torch.equal(v, before[k]) for k, v in teacher.state_dict().items())
    trained = step.G.state_dict()
    assert any(not torch.equal(trained[k], before[k]) for k in trained)  # the student did move


def test_perceptual_terms_need_vgg_weights_or_an_explicit_switch(pose, tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    weights.mkdir()
    monkeypatch.setenv("PGDATA_WEIGHTS_DIR", str(weights))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    err = _error(_train(pose, tmp_path / "a", "--set", "perceptual=true"))
    assert "vgg19-dcbb9e9d.pth" in err and "download.pytorch.org" in err
    assert "--set perceptual=false" in err
    (weights / "vgg19-dcbb9e9d.pth").write_bytes(b"not the VGG19 file")
    err = _error(_train(pose, tmp_path / "b", "--set", "perceptual=true"))
    assert "does not start with dcbb9e9d" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    # the smoke-test switch: random VGG19 features, all four perceptual terms logged
    args = ["--set", "perceptual=true", "--set", "vgg_weights=random", "--set", "log_every=1"]
    result = _train(pose, tmp_path / "c", *args)
    assert result.exit_code == 0, result.output
    log = json.loads((tmp_path / "c" / "log.jsonl").read_text().splitlines()[0])
    assert {"content_t", "style_t", "content_s", "style_s"} <= set(log)


def _halves(batch):
    """A batch of 4 → two batches of 2 (tensors and name lists split alike)."""
    return [{k: v[i : i + 2] for k, v in batch.items()} for i in (0, 2)]


def test_accumulation_gives_the_gradient_of_the_whole_batch(pose):
    # λ_gan = 0: G's gradient does not go through D (whose spectral-norm power iteration runs
    # once per forward, so it sees more forwards with accumulation)
    cfg = load_train_config(TINY, {"lambda_gan": 0.0}, device="cpu")
    ds = DPTNStep.dataset(cfg, pose, "train", train=True)
    grads = []
    for split in (False, True):
        torch.manual_seed(0)
        step = DPTNStep(cfg, torch.device("cpu"), steps_per_epoch=10)
        batch = step.to_device(step.collate([ds[i] for i in range(4)]))
        step.train_step(_halves(batch) if split else [batch], world=1)
        grads.append([p.grad.clone() for p in step.G.parameters()])
    for whole, accumulated in zip(*grads, strict=True):
        torch.testing.assert_close(accumulated, whole, rtol=1e-4, atol=1e-6)
