"""`pgdata export` (ONNX through ONNX Runtime, TorchScript round trip) and `pgdata eval --speed`.

The reference output is the generator built from the checkpoint directly and called on inputs
made here (images, numpy-rendered heatmaps), not through the export code's own example inputs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pgdata.cli import cli
from pgdata.config import config_from_mapping
from pgdata.models import DPTNGenerator
from pgdata.stages.heatmaps import render_heatmaps
from pgdata.training.checkpoint import list_checkpoints
from pgdata.training.config import TrainConfig
from pgdata.training.steps.dptn import dptn_config
from tests.train_shards import IMAGE_HW, pose_shards, single_thread

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

QUIET = ["--set", "workers=0", "--set", "tensorboard=false", "--device", "cpu", "--steps", "1"]
TOLERANCE = 1e-4  # the bound on |ONNX Runtime − PyTorch| for images in [-1, 1]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    yield from single_thread()


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    data = pose_shards(root)
    run = root / "run"
    assert (
        invoke("train", "--config", "tiny", "--source", data, "--out", run, *QUIET).exit_code == 0
    )
    return data, run


@pytest.fixture(scope="module")
def onnx_file(trained, tmp_path_factory):
    _, run = trained
    out = tmp_path_factory.mktemp("files") / "g.onnx"
    result = invoke("export", "--checkpoint", run, "--format", "onnx", "--out", out)
    assert result.exit_code == 0, result.output
    return out, result


def reference(run, batch: int, seed: int):
    """Inputs (source, source pose, target pose) and the generator's output, made directly."""
    ckpt = torch.load(list_checkpoints(run)[-1][1], weights_only=True)
    cfg = config_from_mapping(TrainConfig, ckpt["config"], origin="ckpt")
    g = DPTNGenerator(dptn_config(cfg), init=False)
    g.load_state_dict(ckpt["G"])
    g.eval()
    rng = np.random.default_rng(seed)
    h, w = IMAGE_HW
    src = torch.from_numpy(rng.uniform(-1, 1, (batch, 3, h, w)).astype(np.float32))
    poses = []
    for _ in range(2):
        kps = np.concatenate(
            [rng.uniform(2, [w - 2, h - 2], (batch, 18, 2)), np.ones((batch, 18, 1))], axis=-1
        )
        poses.append(torch.from_numpy(np.stack([render_heatmaps(k, (h, w)) for k in kps])))
    with torch.no_grad():
        out = g(src, *poses)[0]
    return (src, *poses), out.numpy()


def test_onnx_runtime_equals_pytorch_at_any_batch(onnx_file, trained):
    path, result = onnx_file
    assert "max |file - PyTorch|" in result.stdout
    model = onnx.load(str(path))
    assert model.opset_import[0].version >= 17
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["family"] == "dptn"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["source", "source_pose", "target_pose"]
    assert session.get_inputs()[0].shape[0] not in (1, 2)  # a named, free batch dimension
    for batch, seed in ((1, 1), (4, 2)):
        inputs, want = reference(trained[1], batch, seed)
        feed = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs, strict=True)}
        got = session.run(None, feed)[0]
        assert got.shape == want.shape == (batch, 3, *IMAGE_HW)
        assert np.abs(got - want).max() < TOLERANCE


def test_torchscript_round_trip(trained, tmp_path):
    out = tmp_path / "g.pt"
    result = invoke("export", "--checkpoint", trained[1], "--format", "torchscript", "--out", out)
    assert result.exit_code == 0, result.output
    with pytest.warns(DeprecationWarning):  # torch 2.13 deprecates TorchScript
        module = torch.jit.load(str(out))
    for batch, seed in ((1, 3), (3, 4)):
        inputs, want = reference(trained[1], batch, seed)
        with torch.no_grad():
            got = module(*inputs).numpy()
        assert np.abs(got - want).max() < TOLERANCE


def test_export_refusals(trained, tmp_path):
    plain = tmp_path / "plain.pt"
    torch.save({"weight": torch.zeros(2)}, plain)
    result = invoke("export", "--checkpoint", plain, "--out", tmp_path / "x.onnx")
    assert result.exit_code == 1 and "not a pgdata training checkpoint" in result.stderr
    assert not (tmp_path / "x.onnx").exists()
    assert (
        invoke("export", "--checkpoint", trained[1], "--out", tmp_path, "--opset", 12).exit_code
        == 2
    )


def test_speed_reports_eager_and_onnx_runtime(trained, onnx_file, tmp_path):
    data, run = trained
    out = tmp_path / "report"
    result = invoke(
        "eval", "--run", run, "--data", data, "--out", out, "--device", "cpu", "--speed",
        "--onnx", onnx_file[0], "--preset", "psnr", "--limit", 4,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    speed = json.loads((out / "metrics.json").read_text())["speed"]
    assert set(speed["eager"]) == {"1", "16"} and min(speed["eager"].values()) > 0
    assert speed["value"] == speed["eager"]["1"]
    assert speed["onnxruntime_cpu"]["1"] > 0
    assert speed["onnx_max_abs_diff"] < TOLERANCE
    assert "speed:" in result.stdout
