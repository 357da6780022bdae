"""`pgdata eval` on a tiny trained DPTN (model mode) and on folders; DMFN composites over fixed masks.

Expectations come from elsewhere than the code under test: file names by DPTN's ``save_results``
rule (re-implemented here with ``os.path``), outputs from the generator called directly with
numpy-rendered heatmaps, targets decoded from the shards, PSNR from ``skimage``, parameter counts
from ``pgdata models``, the composite from the mask files.
"""

from __future__ import annotations

import json
import ntpath
import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from skimage.metrics import peak_signal_noise_ratio

from pgdata.cli import cli
from pgdata.config import config_from_mapping
from pgdata.data import FacesDataset, PoseTransferDataset
from pgdata.io.masks import mask_file_name
from pgdata.jobs.faces.masks import MasksConfig, run_masks
from pgdata.models import DPTNGenerator
from pgdata.stages.heatmaps import render_heatmaps
from pgdata.training.checkpoint import list_checkpoints
from pgdata.training.config import TrainConfig
from pgdata.training.steps.dptn import dptn_config
from tests.train_shards import faces_shards, pose_shards, single_thread

QUIET = ["--set", "workers=0", "--set", "tensorboard=false", "--device", "cpu", "--steps", "1"]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    yield from single_thread()


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def pose(tmp_path_factory):
    return pose_shards(tmp_path_factory.mktemp("pose"))


@pytest.fixture(scope="module")
def dptn_run(pose, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "dptn"
    result = invoke("train", "--config", "tiny", "--source", pose, "--out", run, *QUIET)
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture(scope="module")
def report(dptn_run, pose, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "dptn"
    result = invoke(
        "eval", "--run", dptn_run, "--data", pose, "--out", out, "--device", "cpu",
        "--preset", "psnr", "--preset", "ssim_patn", "--preset", "params", "--batch-size", 5,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, result


def dptn_name(source: str, target: str) -> str:
    """DPTN's ``set_input`` + ``save_results(data_name='vis')``, with pgdata's PNG extension."""
    path = os.path.splitext(source)[0] + "_2_" + target
    return "%s_%s.%s" % (os.path.splitext(ntpath.basename(path))[0], "vis", "png")  # noqa: UP031


def test_model_mode_writes_dptn_names_and_the_generators_pixels(report, pose, dptn_run):
    out, result = report
    ds = PoseTransferDataset(pose, "test")
    items = [ds[i] for i in range(len(ds))]
    names = [dptn_name(it["P1_path"], it["P2_path"]) for it in items]
    unique = dict(zip(names, items, strict=True))  # a repeated pair is written once
    assert sorted(p.name for p in (out / "generated").iterdir()) == sorted(unique)
    assert sorted(p.name for p in (out / "target").iterdir()) == sorted(unique)
    assert f"generated {len(unique)} images" in result.stdout

    ckpt = torch.load(list_checkpoints(dptn_run)[-1][1], weights_only=True)
    cfg = config_from_mapping(TrainConfig, ckpt["config"], origin="ckpt")
    g = DPTNGenerator(dptn_config(cfg), init=False)
    g.load_state_dict(ckpt["G"])
    g.eval()
    for name, item in list(unique.items())[:4]:
        target = cv2.cvtColor(cv2.imread(str(out / "target" / name)), cv2.COLOR_BGR2RGB)
        assert np.array_equal(target, item["P2"].permute(1, 2, 0).numpy())  # exact pixels
        h, w = target.shape[:2]
        src = item["P1"][None].float() / 127.5 - 1
        maps = [
            torch.from_numpy(render_heatmaps(item[k].numpy(), (h, w), cfg.heatmap_sigma))[None]
            for k in ("K1", "K2")
        ]
        with torch.no_grad():
            want = g(src, *maps)[0][0].permute(1, 2, 0).numpy()
        want = np.rint((np.clip(want, -1, 1) + 1) * 127.5)
        got = cv2.cvtColor(cv2.imread(str(out / "generated" / name)), cv2.COLOR_BGR2RGB)
        assert np.abs(got.astype(float) - want).max() <= 1  # rounding of float32 round-off


def test_model_mode_scores_match_skimage_and_pgdata_models(report):
    out, result = report
    metrics = json.loads((out / "metrics.json").read_text())
    gen = sorted((out / "generated").iterdir())
    values = []
    for p in gen:
        a = cv2.imread(str(p)).astype(np.float64) / 255
        b = cv2.imread(str(out / "target" / p.name)).astype(np.float64) / 255
        values.append(peak_signal_noise_ratio(b, a, data_range=1))
    assert metrics["psnr"]["n"] == len(gen)
    assert metrics["psnr"]["value"] == pytest.approx(np.mean(values), abs=1e-5)
    models = invoke("models", "--config", "tiny").stdout.split()
    assert metrics["params"]["value"] == int(models[models.index("G") + 1])
    assert re.search(r"^psnr: \d+\.\d+ \(n=\d+\)$", result.stdout, re.M)
    index = (out / "index.html").read_text()
    for src in re.findall(r'<img src="([^"]+)"', index):
        assert (out / src).is_file(), src
    assert "source" in index and "target pose" in index
    assert any((out / "inputs" / "target_pose").iterdir())


def test_model_mode_refuses_other_models_and_data(dptn_run, pose, tmp_path):
    # a checkpoint of another family, given with this run
    other = tmp_path / "other"
    faces = faces_shards(tmp_path / "faces", n=4)
    args = ["--config", "tiny-dmfn", "--source", faces, "--out", other, *QUIET]
    assert invoke("train", *args).exit_code == 0
    dmfn_ckpt = list_checkpoints(other)[-1][1]
    line = one_line_error(
        invoke(
            "eval",
            "--run",
            dptn_run,
            "--checkpoint",
            dmfn_ckpt,
            "--data",
            pose,
            "--out",
            tmp_path / "r1",
        )  # fmt: skip
    )
    assert "'dmfn' checkpoint" in line and "'dptn'" in line
    # shards of another kind
    line = one_line_error(
        invoke("eval", "--run", dptn_run, "--data", faces, "--out", tmp_path / "r2")
    )
    assert "'faces' shards" in line
    # not a pgdata checkpoint, and a generator of another shape
    plain = tmp_path / "plain.pt"
    torch.save({"weight": torch.zeros(3)}, plain)
    line = one_line_error(
        invoke("eval", "--checkpoint", plain, "--data", pose, "--out", tmp_path / "r3")
    )
    assert "not a pgdata training checkpoint" in line
    ckpt = torch.load(list_checkpoints(dptn_run)[-1][1], weights_only=True)
    ckpt["config"]["ngf"] = 16  # the saved weights are for ngf 8
    wrong = tmp_path / "wrong.pt"
    torch.save(ckpt, wrong)
    line = one_line_error(
        invoke("eval", "--checkpoint", wrong, "--data", pose, "--out", tmp_path / "r4")
    )
    assert "does not fit" in line and "other shapes for" in line
    # usage: both modes, or neither
    assert (
        invoke("eval", "--run", dptn_run, "--pred", pose, "--gt", pose, "--out", tmp_path).exit_code
        == 2
    )
    assert invoke("eval", "--out", tmp_path / "r5").exit_code == 2


def test_folder_mode_lists_skips_and_refuses(report, tmp_path):
    out, _ = report
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    shutil.copytree(out / "generated", pred)
    shutil.copytree(out / "target", gt)
    names = sorted(p.name for p in pred.iterdir())
    (pred / names[0]).write_bytes(b"not a png")  # unreadable
    (gt / names[1]).unlink()  # a prediction without ground truth: extra
    (pred / names[2]).unlink()  # a ground truth without prediction: missing
    result = invoke("eval", "--pred", pred, "--gt", gt, "--out", tmp_path / "r", "--preset", "psnr")
    assert result.exit_code == 0, result.output
    assert f"scored {len(names) - 3} pairs; 1 missing; 1 extra; 1 unreadable" in result.stdout
    assert names[0] in result.stderr and names[1] in result.stderr and names[2] in result.stderr
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["psnr"]["n"] == len(names) - 3

    strict = invoke("eval", "--pred", pred, "--gt", gt, "--out", tmp_path / "s", "--strict")
    assert "1 missing" in one_line_error(strict) and "1 extra" in one_line_error(strict)
    (gt / names[1]).write_bytes((out / "target" / names[1]).read_bytes())
    (pred / names[2]).write_bytes((out / "generated" / names[2]).read_bytes())
    strict = invoke("eval", "--pred", pred, "--gt", gt, "--out", tmp_path / "s", "--strict")
    assert names[0] in one_line_error(strict) and "cannot decode" in one_line_error(strict)

    small = cv2.imread(str(out / "target" / names[3]))[:, :-8]
    cv2.imwrite(str(gt / names[3]), small)
    line = one_line_error(invoke("eval", "--pred", pred, "--gt", gt, "--out", tmp_path / "t"))
    assert names[3] in line and "one size" in line

    (tmp_path / "empty").mkdir()
    line = one_line_error(
        invoke("eval", "--pred", tmp_path / "empty", "--gt", gt, "--out", tmp_path / "u")
    )
    assert "no images" in line

    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "pt_inception-2015-12-05-6726825d.pth").write_bytes(b"not the weights")
    line = one_line_error(
        invoke(
            "eval",
            "--pred",
            out / "generated",
            "--gt",
            out / "target",
            "--out",
            tmp_path / "v",
            "--preset",
            "fid_tf",
            "--weights-dir",
            weights,
        )  # fmt: skip
    )
    assert "6726825d" in line and "sha256" in line

    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "notes.txt").write_text("mine")
    line = one_line_error(invoke("eval", "--pred", pred, "--gt", gt, "--out", tmp_path / "w"))
    assert "not empty" in line


def test_inpainting_is_scored_on_the_composite_over_a_fixed_mask_set(tmp_path):
    faces = faces_shards(tmp_path / "faces", n=8)
    run = tmp_path / "run"
    assert (
        invoke("train", "--config", "tiny-dmfn", "--source", faces, "--out", run, *QUIET).exit_code
        == 0
    )
    masks = tmp_path / "masks"
    run_masks(MasksConfig(masks, n=2, size=64, kinds=("center", "box")))
    out = tmp_path / "report"
    result = invoke(
        "eval", "--run", run, "--data", faces, "--out", out, "--mask-set", masks, "--device",
        "cpu", "--preset", "psnr", "--preset", "ssim_patn",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(list((out / "generated").iterdir())) == 2
    order = FacesDataset(faces, "test", train=False)
    for i in range(len(order)):  # test face i gets mask i of the set
        path = out / "generated" / f"{Path(order[i]['name']).stem}.png"
        hole = cv2.imread(str(masks / mask_file_name(i)), cv2.IMREAD_GRAYSCALE) > 0
        got, real = cv2.imread(str(path)), cv2.imread(str(out / "target" / path.name))
        assert np.array_equal(got[~hole], real[~hole])  # known pixels kept exactly
        assert not np.array_equal(got[hole], real[hole])  # the hole is generated
    assert str(masks) in (out / "index.html").read_text()
