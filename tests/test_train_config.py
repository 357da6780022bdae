"""TrainConfig: bundled configs, --set parsing, unknown keys and types, the lr schedule."""

from pathlib import Path

import pytest

from pgdata.errors import ConfigError
from pgdata.training.config import RUNTIME_KEYS, TrainConfig, load_train_config, parse_sets
from pgdata.training.steps.base import epoch_decay

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "train").glob("*.toml"))


def test_bundled_configs_parse_and_cover_the_issue():
    names = {p.stem for p in BUNDLED}
    assert {"dptn", "dptn-market", "dptn-teacher", "dptn-student", "tiny"} <= names
    for path in BUNDLED:
        load_train_config(path)
    student = load_train_config(ROOT / "train" / "dptn-student.toml")
    assert student.teacher_checkpoint and (student.n_cab, student.n_ttb) == (1, 1)
    market = load_train_config(ROOT / "train" / "dptn-market.toml")
    # generators.md §2.3, Market-1501 row
    assert (market.lambda_rec, market.lambda_gan, market.t_s_ratio, market.dis_layers) == (
        2,
        5,
        0.8,
        3,
    )


def test_set_values_are_read_as_toml_else_as_strings():
    sets = parse_sets(
        [
            "perceptual=false",
            "lr=1e-4",
            "resize_to=[256, 256]",
            "block=mbconv",
            "vgg_weights=/w/x.pth",
        ]
    )
    assert sets == {
        "perceptual": False,
        "lr": 1e-4,
        "resize_to": [256, 256],
        "block": "mbconv",
        "vgg_weights": "/w/x.pth",
    }
    cfg = load_train_config(None, sets)
    assert cfg.resize_to == (256, 256) and cfg.perceptual is False and cfg.block == "mbconv"


def test_unknown_key_names_the_closest_valid_key(tmp_path):
    with pytest.raises(
        ConfigError, match=r"--set: unknown key 'perceptul'; did you mean 'perceptual'\?"
    ):
        parse_sets(["perceptul=false"])
    path = tmp_path / "x.toml"
    path.write_text("batchsize = 4\n")
    with pytest.raises(
        ConfigError, match=rf"{path}: unknown key 'batchsize'; did you mean 'batch_size'\?"
    ):
        load_train_config(path)
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_sets(["perceptual"])


def test_wrong_types_and_values_name_key_expected_and_found(tmp_path):
    with pytest.raises(ConfigError, match=r"--set: perceptual: expected bool, found 'yes'"):
        load_train_config(None, parse_sets(["perceptual=yes"]))
    path = tmp_path / "x.toml"
    path.write_text('batch_size = "16"\n')
    with pytest.raises(ConfigError, match=rf"{path}: batch_size: expected int, found '16'"):
        load_train_config(path)
    with pytest.raises(ConfigError, match=r"block: 'resnet' is not one of \['res', 'mbconv'\]"):
        load_train_config(None, {"block": "resnet"})
    with pytest.raises(ConfigError, match="lr must be a finite number > 0, found -0.1"):
        load_train_config(None, {"lr": -0.1})
    path.write_text("[model]\nngf = 8\n")
    with pytest.raises(ConfigError, match="tables \\['model'\\] are not allowed"):
        load_train_config(path)


def test_identity_leaves_out_the_runtime_keys():
    a, b = TrainConfig(), TrainConfig(steps=9, device="cpu", log_every=3, workers=0)
    assert a.identity() == b.identity()
    assert TrainConfig(lr=1e-4).identity() != a.identity()
    assert not RUNTIME_KEYS & set(a.identity())


@pytest.mark.parametrize(
    ("epoch", "factor"),
    [(1, 1.0), (100, 1.0), (101, 1 - 1 / 101), (150, 1 - 50 / 101), (200, 1 / 101)],
)
def test_lr_policy_is_dptn_lambda_rule(epoch, factor):
    # generators.md §2.4 / §8: 1.0 at epoch 100, ≈ 0.505 at 150, ≈ 0.0099 at 200
    steps_per_epoch = 7
    rule = epoch_decay(steps_per_epoch, 100, 100)
    first, last = (epoch - 1) * steps_per_epoch, epoch * steps_per_epoch - 1
    assert rule(first) == pytest.approx(factor) and rule(last) == pytest.approx(factor)
    assert round(epoch_decay(1, 100, 100)(149), 3) == 0.505
    assert round(epoch_decay(1, 100, 100)(199), 4) == 0.0099
