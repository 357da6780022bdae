"""The DMFN family through the one loop: counts and the eight ablation configs, a run with every
loss term (user landmark and expression networks, frozen), exact resume with per-epoch masks,
fixed mask sets, and the one-line errors of bad networks, masks and sizes."""

import hashlib
import itertools
import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pgdata.cli.train import models_cmd, train_cmd
from pgdata.io.images import encode_png
from pgdata.jobs.faces.masks import MasksConfig, run_masks
from pgdata.training.config import load_train_config
from pgdata.training.steps.base import count_parameters
from pgdata.training.steps.dmfn import DMFNStep
from tests.face_plugins import Landmarks, TinyFaceNet
from tests.train_shards import ROOT, SMALL, assert_same, faces_shards, single_thread

QUIET = ["--set", "workers=0", "--set", "tensorboard=false", "--device", "cpu"]
ALL_TERMS = '["gan", "l1", "vgg", "center", "fm", "landmark", "expression"]'

# generators.md §1 / §5 and issue 13
G_COUNT, G_COUNT_1X1, D_COUNT = 9_037_443, 4_843_139, 36_673_025


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    yield from single_thread()


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    return faces_shards(tmp_path_factory.mktemp("faces"))


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    """Saved weights of the test's landmark and expression networks and their sha256."""
    folder = tmp_path_factory.mktemp("nets")
    torch.manual_seed(3)
    out = {}
    for kind, net in (("landmark", Landmarks()), ("expression", TinyFaceNet(7))):
        path = folder / f"{kind}.pth"
        torch.save(net.state_dict(), path)
        out[kind] = (path, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def _plugin_sets(nets, **override):
    sets = []
    for kind, factory in (("landmark", "load_landmarks"), ("expression", "load_expression")):
        path, sha = nets[kind]
        values = {"net": f"tests.face_plugins:{factory}", "weights": path, "sha256": sha}
        values.update(override.get(kind, {}))
        for key, value in values.items():
            sets += ["--set", f"{kind}_{key}={value}"]
    return sets


def _train(data, out, *args, steps=2):
    cmd = ["--config", "tiny-dmfn", "--source", str(data), "--out", str(out), "--steps", str(steps)]
    return CliRunner().invoke(train_cmd, [*cmd, *QUIET, *args])


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


def _error(result, out):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert not out.exists()  # nothing written
    return lines[0]


def test_models_counts_and_the_eight_ablation_configs():
    result = _ok(CliRunner().invoke(models_cmd, ["--config", "dmfn"]))
    assert result.stdout.split() == ["dmfn", "G", str(G_COUNT), "dmfn", "D", str(D_COUNT)]
    paper = load_train_config(ROOT / "train" / "dmfn.toml", {"fusion_kernel": 1})
    assert count_parameters(DMFNStep.build_networks(paper, init=False)["G"]) == G_COUNT_1X1
    base = {"gan", "l1", "center", "fm"}
    for vgg, exp, lmk in itertools.product((0, 1), repeat=3):
        name = f"dmfn-abl-vgg{vgg}-exp{exp}-lmk{lmk}"
        cfg = load_train_config(ROOT / "train" / f"{name}.toml")
        on = {"vgg": vgg, "expression": exp, "landmark": lmk}
        want = base | {term for term, flag in on.items() if flag}
        assert set(cfg.dmfn_losses) == want, name
        rows = _ok(CliRunner().invoke(models_cmd, ["--config", name])).stdout.split()
        assert rows[2::3] == [str(G_COUNT), str(D_COUNT)]


def test_two_steps_with_every_term_log_tensorboard_and_a_grid(faces, nets, tmp_path):
    run = tmp_path / "run"
    args = ["--set", f"dmfn_losses={ALL_TERMS}", "--set", "vgg_weights=random"]
    args += ["--set", "log_every=1", "--set", "tensorboard=true", *_plugin_sets(nets)]
    _ok(_train(faces, run, *args))
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    terms = {"D", "G", "gan", "l1", "vgg", "center", "feature_matching", "landmark", "expression"}
    assert terms <= set(log[0]) and all(np.isfinite(log[1][k]) for k in terms)
    assert log[0]["landmark"] > 0 and log[0]["expression"] > 0
    assert list((run / "tb").glob("events.out.tfevents.*"))
    # masked input | raw output | composite | real, for the 2 test faces
    grid = cv2.imread(str(run / "samples" / "step-000002.png"))
    assert grid.shape == (2 * SMALL, 4 * SMALL, 3)
    ckpt = torch.load(run / "ckpt-000002.pt", weights_only=True)
    assert ckpt["networks"] == ["G", "D"]  # the frozen user networks are not trained state


def test_user_networks_stay_frozen_and_steer_the_generator(faces, nets):
    sets = {
        "dmfn_losses": ["l1", "landmark"],
        "lambda_landmark": 1e4,
        "landmark_net": "tests.face_plugins:load_landmarks",
        "landmark_weights": str(nets["landmark"][0]),
        "landmark_sha256": nets["landmark"][1],
    }
    grads = {}
    for on in (False, True):
        chosen = sets if on else {"dmfn_losses": ["l1"]}
        cfg = load_train_config(ROOT / "train" / "tiny-dmfn.toml", chosen, device="cpu")
        torch.manual_seed(0)
        step = DMFNStep(cfg, torch.device("cpu"), steps_per_epoch=10)
        ds = DMFNStep.dataset(cfg, faces, "train", train=True)
        batch = step.to_device(step.collate([ds[0], ds[1]]))
        if on:
            net = step.face_nets["landmark"].net
            before = {k: v.clone() for k, v in net.state_dict().items()}
        step.train_step([batch], world=1)
        grads[on] = [p.grad.clone() for p in step.G.parameters()]
    assert all(not p.requires_grad and p.grad is None for p in net.parameters())
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    assert not net.training
    assert any(not torch.allclose(a, b) for a, b in zip(grads[False], grads[True], strict=True))


def test_resume_continues_exactly(faces, tmp_path):
    common = ["--set", "ckpt_every=2", "--set", "keep_last=5", "--set", "flip_prob=0.5"]
    _ok(_train(faces, tmp_path / "a", *common, steps=4))
    _ok(_train(faces, tmp_path / "b", *common, steps=2))
    resumed = _ok(_train(faces, tmp_path / "b", *common, "--resume", steps=4))
    assert resumed.stdout.startswith("trained 2 steps (2 -> 4) in ")
    for step in (2, 4):
        a = torch.load(tmp_path / "a" / f"ckpt-00000{step}.pt", weights_only=True)
        b = torch.load(tmp_path / "b" / f"ckpt-00000{step}.pt", weights_only=True)
        a["config"].pop("steps"), b["config"].pop("steps")
        assert_same(a, b)


def test_a_fixed_mask_set_gives_the_grid_its_holes(faces, tmp_path):
    masks = tmp_path / "masks"
    run_masks(MasksConfig(out=masks, n=3, size=SMALL, kinds=("brush",), seed=5))
    run = tmp_path / "run"
    _ok(_train(faces, run, "--set", f"mask_set={masks}", steps=1))
    grid = cv2.imread(str(run / "samples" / "step-000001.png"))
    for row in range(2):  # test face i gets mask i; holes are drawn mid grey
        hole = cv2.imread(str(masks / f"{row:05d}.png"), cv2.IMREAD_GRAYSCALE) >= 128
        cell = grid[row * SMALL : (row + 1) * SMALL, :SMALL]
        assert np.all(cell[hole] == 128)
        assert not np.all(cell[~hole] == 128)


@pytest.mark.parametrize(("value", "reason"), [(0, "covers nothing"), (255, "covers everything")])
def test_a_mask_set_covering_nothing_or_everything_is_refused(faces, tmp_path, value, reason):
    masks = tmp_path / "masks"
    run_masks(MasksConfig(out=masks, n=3, size=SMALL, seed=1))
    bad = masks / "00001.png"
    bad.write_bytes(encode_png(np.full((SMALL, SMALL), value, np.uint8)))
    err = _error(_train(faces, tmp_path / "run", "--set", f"mask_set={masks}"), tmp_path / "run")
    assert err.startswith(f"Error: {bad}: mask {reason}")


def test_bad_user_networks_are_one_line_errors_naming_file_and_reason(faces, nets, tmp_path):
    losses = ["--set", 'dmfn_losses=["l1", "landmark"]']
    path, sha = nets["landmark"]
    out = tmp_path / "run"

    def landmark(**values):
        sets = []
        for key, value in values.items():
            sets += ["--set", f"landmark_{key}={value}"]
        return _train(faces, out, *losses, *sets)

    err = _error(landmark(net="", weights="", sha256=""), out)
    assert "landmark_net: dmfn_losses has 'landmark' but no network is given" in err
    err = _error(landmark(net="tests.face_plugins:load_landmarks", weights=path, sha256=""), out)
    assert f"landmark_sha256: landmark_weights = '{path}' needs its sha256" in err
    err = _error(
        landmark(net="tests.face_plugins:load_landmarks", weights=path, sha256="0" * 12), out
    )
    assert err.startswith(f"Error: {path}: landmark network weights have sha256 {sha[:16]}")
    err = _error(landmark(net="tests.face_plugins:load_broken", weights=path, sha256=sha), out)
    assert err == (
        f"Error: {path}: the landmark network (tests.face_plugins:load_broken) failed to load: "
        'RuntimeError: Error(s) in loading state_dict: Unexpected key(s) in state_dict: "fc.weight"'
    )
    err = _error(landmark(net="tests.no_such_module", weights=path, sha256=sha), out)
    assert "cannot import 'tests.no_such_module'" in err


def test_a_crop_size_other_than_the_shards_is_refused(faces, tmp_path):
    err = _error(_train(faces, tmp_path / "run", "--set", "crop_size=128"), tmp_path / "run")
    assert "crop_size: the face shards in " in err
    assert f"hold {SMALL}x{SMALL} images, the config builds DMFN for 128x128" in err


def test_dmfn_released_vgg_input_is_imagenet_normalisation_of_x_plus_mean():
    from pgdata.models.vgg import IMAGENET_MEAN, VGG19

    torch.manual_seed(0)
    released = VGG19(("relu1_1",), "dmfn_released")
    imagenet = VGG19(("relu1_1",), "imagenet")
    imagenet.load_state_dict(released.state_dict())
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    shifted = x + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    torch.testing.assert_close(released(x)["relu1_1"], imagenet(shifted)["relu1_1"])
    assert not torch.allclose(released(x)["relu1_1"], imagenet(x)["relu1_1"])
