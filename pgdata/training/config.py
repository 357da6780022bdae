"""``TrainConfig``: every knob of ``pgdata train`` in one frozen, flat dataclass.

A training config is a TOML file of top-level keys (``train/dptn.toml``); the dataclass defaults
are DPTN's DeepFashion recipe, so a file only needs what differs. ``--set key=value`` overrides a
key; the value is read as a TOML value (``--set lr=1e-4``, ``--set perceptual=false``,
``--set resize_to=[256,256]``) or, when that fails, as a plain string (``--set block=mbconv``).

An unknown key is a :class:`ConfigError` that names the closest valid key; a wrong type names
the key, the expected type and the value found. The resolved config is saved as JSON in every
checkpoint and in ``RUN/config.json``.

Keys fall in two kinds. *Identity* keys decide what a run computes (network, data, losses,
optimiser, seed): resuming with a different value is refused unless forced. *Runtime* keys
(:data:`RUNTIME_KEYS`: how long, on which device, how often to log) may change on resume.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pgdata.config import config_from_mapping, load_toml
from pgdata.errors import ConfigError, PgdataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "RANDOM_VGG",
    "RUNTIME_KEYS",
    "TrainConfig",
    "TrainingError",
    "config_diff",
    "load_train_config",
    "parse_sets",
]

RANDOM_VGG = "random"
"""``vgg_weights = "random"``: a randomly initialised VGG19, **for smoke tests only** (the
perceptual and style terms then train towards meaningless features)."""


class TrainingError(PgdataError):
    """A training run cannot start or continue; the message names the run, file or key and the fix."""


@dataclass(frozen=True)
class TrainConfig:
    """Resolved options of ``pgdata train``. Defaults: DPTN on DeepFashion (generators.md §2).

    Model family and network (passed to :class:`pgdata.models.DPTNConfig` under the same names):

    Attributes:
        family: which training recipe drives the loop (``pgdata.training.steps.FAMILIES``).
        ngf: generator base width (64); the PTM width is 4 × ngf.
        block: middle blocks, ``"res"`` (DPTN) or ``"mbconv"`` (the teacher and student).
        mbconv_expand, mbconv_kernel, mbconv_se: MBConv expansion, depthwise kernel, SE width.
        n_cab, n_ttb: Context Augment / Texture Transfer Blocks in the PTM (2, 2; student 1, 1).
        heads: attention heads (2).
        norm: ``"instance"`` (DPTN) or ``"batch"``.
        dis_layers: discriminator levels (4 DeepFashion, 3 Market-1501).
        ndf: discriminator base width (32).
        resize_to: ``[H, W]`` working size (DPTN's 256×256 stretch quirk) or empty = native size.

    Data:
        split: shard split to train on.
        flip_prob: probability of a horizontal flip of a pair (DPTN: 0).
        heatmap_sigma: Gaussian sigma of the pose heatmaps in pixels (6).
        workers: DataLoader worker processes per rank.

    Optimisation:
        batch_size: pairs per forward pass and rank (DPTN 32; the study 16).
        accumulation: forward passes per optimiser step (effective batch = batch × accumulation
            × ranks).
        lr: generator learning rate (2e-4); lr_d_ratio: D's lr = lr × lr_d_ratio (0.1).
        beta1, beta2: Adam betas (0.5, 0.999).
        epochs_flat, epochs_decay: constant lr for ``epochs_flat`` epochs, then linear decay:
            factor ``1 − max(0, e − epochs_flat) / (epochs_decay + 1)`` in 1-based epoch ``e``.
        steps: optimiser steps to run in total; 0 = the whole schedule
            ((epochs_flat + epochs_decay) epochs).
        seed: seeds the weights, the sampler order and the flips.

    Losses (DPTN: ``r (λ_rec L1 + λ_c content + λ_s style)_t + (1 − r)(same)_s + λ_g GAN_t``):
        lambda_rec, lambda_content, lambda_style, lambda_gan: λ weights (5, 0.5, 500, 2).
        t_s_ratio: ``r``, weight of the s→t branch against the s→s branch (0.5).
        perceptual: content and style terms on (needs VGG19 weights).
        vgg_weights: path of ``vgg19-dcbb9e9d.pth`` (file or folder); empty = look in
            ``$PGDATA_WEIGHTS_DIR`` and the torch hub cache; ``"random"`` = random VGG19, for
            smoke tests only.
        teacher_checkpoint: a checkpoint of the teacher (its generator under key ``"G"``) or
            the teacher's run folder (its newest checkpoint): turns on output distillation.
            Empty = no teacher.
        lambda_kd: weight of ``‖G_S(x) − G_T(x)‖₁`` on s→t.
        kd_source: also distil the s→s output.
        init_from_teacher: start the student from the teacher's weights (every tensor whose
            name and shape match; the dropped CAB/TTB are skipped).

    Runtime (:data:`RUNTIME_KEYS`; may change on resume):
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        amp: bf16 autocast on CUDA (ignored on CPU). channels_last: NHWC memory on CUDA.
        compile: ``torch.compile`` the networks.
        log_every: steps between log lines (log.jsonl, TensorBoard, progress bar).
        sample_every: steps between sample grids (0 = only at the end).
        sample_rows: pairs shown in a sample grid.
        ckpt_every: steps between checkpoints (0 = only at the end).
        keep_last: checkpoints kept (older ones are deleted).
        tensorboard: write TensorBoard event files under ``RUN/tb``.
    """

    family: str = "dptn"
    # network
    ngf: int = 64
    block: Literal["res", "mbconv"] = "res"
    mbconv_expand: int = 5
    mbconv_kernel: int = 3
    mbconv_se: int = 64
    n_cab: int = 2
    n_ttb: int = 2
    heads: int = 2
    norm: Literal["instance", "batch"] = "instance"
    dis_layers: int = 4
    ndf: int = 32
    resize_to: tuple[int, ...] = ()
    # data
    split: str = "train"
    flip_prob: float = 0.0
    heatmap_sigma: float = 6.0
    workers: int = 2
    # optimisation
    batch_size: int = 32
    accumulation: int = 1
    lr: float = 2e-4
    lr_d_ratio: float = 0.1
    beta1: float = 0.5
    beta2: float = 0.999
    epochs_flat: int = 100
    epochs_decay: int = 100
    steps: int = 0
    seed: int = 0
    # losses
    lambda_rec: float = 5.0
    lambda_content: float = 0.5
    lambda_style: float = 500.0
    lambda_gan: float = 2.0
    t_s_ratio: float = 0.5
    perceptual: bool = True
    vgg_weights: str = ""
    # distillation
    teacher_checkpoint: str = ""
    lambda_kd: float = 5.0
    kd_source: bool = False
    init_from_teacher: bool = True
    # runtime
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    log_every: int = 10
    sample_every: int = 500
    sample_rows: int = 4
    ckpt_every: int = 1000
    keep_last: int = 3
    tensorboard: bool = True

    def __post_init__(self) -> None:
        # ValueError: config_from_mapping prefixes it with the file / --set it came from
        at_least = {
            "ngf": 1, "mbconv_expand": 1, "mbconv_kernel": 1, "mbconv_se": 0, "n_cab": 0,
            "n_ttb": 0, "heads": 1, "dis_layers": 1, "ndf": 1, "workers": 0, "batch_size": 1,
            "accumulation": 1, "epochs_flat": 0, "epochs_decay": 0, "steps": 0, "log_every": 1,
            "sample_every": 0, "sample_rows": 1, "ckpt_every": 0, "keep_last": 1, "seed": 0,
        }  # fmt: skip
        for key, low in at_least.items():
            if getattr(self, key) < low:
                raise ValueError(f"{key} must be >= {low}, found {getattr(self, key)}")
        for key in ("lr", "lr_d_ratio", "heatmap_sigma"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a finite number > 0, found {value}")
        for key in ("beta1", "beta2", "flip_prob", "t_s_ratio"):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be in [0, 1], found {value}")
        for key in ("lambda_rec", "lambda_content", "lambda_style", "lambda_gan", "lambda_kd"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{key} must be a finite number >= 0, found {value}")
        if len(self.resize_to) not in (0, 2):
            raise ValueError(f"resize_to must be [] or [H, W], found {list(self.resize_to)}")
        if self.steps == 0 and self.epochs_flat + self.epochs_decay == 0:
            raise ValueError("steps = 0 runs the schedule, but epochs_flat + epochs_decay is 0")

    def to_json(self) -> dict[str, Any]:
        """The config as JSON-safe values (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))  # type: ignore[no-any-return]

    def identity(self) -> dict[str, Any]:
        """The keys that decide what the run computes (all but :data:`RUNTIME_KEYS`)."""
        return {k: v for k, v in self.to_json().items() if k not in RUNTIME_KEYS}


RUNTIME_KEYS = frozenset(
    {
        "steps", "workers", "device", "amp", "channels_last", "compile", "log_every",
        "sample_every", "sample_rows", "ckpt_every", "keep_last", "tensorboard",
    }
)  # fmt: skip
"""Keys a resumed run may change: run length, device and speed options, logging cadence."""

_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))


def _check_keys(keys: Sequence[str], origin: str) -> None:
    for key in keys:
        if key not in _FIELDS:
            close = difflib.get_close_matches(key, _FIELDS, n=1, cutoff=0.6)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(_FIELDS)}"
            )
            raise ConfigError(f"{origin}: unknown key {key!r}{hint}")


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``["lr=1e-4", "perceptual=false", "block=mbconv"]`` → typed values (TOML, else string)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set perceptual=false")
        raw = raw.strip()
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare word or path: keep the string
        out[key] = value
    _check_keys(list(out), "--set")
    return out


def load_train_config(
    path: str | Path | None, sets: Mapping[str, Any] | None = None, **flags: Any
) -> TrainConfig:
    """Read a training config file, apply ``--set`` values, then flags (``None`` flags are skipped).

    Raises ConfigError naming the file or ``--set``, the key, and what was expected.
    """
    data: dict[str, Any] = {}
    origin = "defaults"
    if path is not None:
        origin = str(path)
        data = load_toml(path)
        nested = sorted(k for k, v in data.items() if isinstance(v, dict))
        if nested:
            raise ConfigError(f"{origin}: tables {nested} are not allowed; use top-level keys")
        _check_keys(list(data), origin)
    config_from_mapping(TrainConfig, data, origin=origin)  # file errors name the file
    given = {k: v for k, v in flags.items() if v is not None}
    _check_keys(list(given), "options")
    merged = {**data, **dict(sets or {}), **given}
    return config_from_mapping(TrainConfig, merged, origin="--set" if sets or given else origin)


def config_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``["lr: 0.0002 -> 0.0001", ...]`` for the keys whose JSON values differ."""
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]
