"""``TrainConfig``: every knob of ``pgdata train`` in one frozen, flat dataclass.

A training config is a TOML file of top-level keys (``train/dptn.toml``, ``train/patn.toml``,
``train/pix2pix.toml``, ``train/dmfn.toml``, ...); the dataclass defaults are DPTN's DeepFashion
recipe, so a file only needs what differs. The keys are grouped in documented sections (shared,
DPTN, PATN, pix2pix, DMFN, data, optimisation, losses, distillation, runtime). ``--set key=value`` overrides a
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
from pgdata.stages.masks import MASK_KINDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "DMFN_LOSSES",
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


DMFN_LOSSES = ("gan", "l1", "vgg", "center", "fm", "landmark", "expression")
"""Switchable DMFN generator terms (``dmfn_losses``): relativistic-average GAN, L1 on the
composite, self-guided VGG feature loss, alignment (centre) loss, local-D feature matching, and
the landmark / expression losses through user networks."""


@dataclass(frozen=True)
class TrainConfig:
    """Resolved options of ``pgdata train``. Defaults: DPTN on DeepFashion (generators.md §2).

    Keys are flat; they fall in the sections below. A family reads the shared keys and its own
    section and ignores the others (``train/<family>*.toml`` set what differs from the defaults).

    Shared network keys:
        family: which training recipe drives the loop (``pgdata.training.steps.FAMILIES``:
            ``dptn``, ``patn``, ``pix2pix``, ``pix2pix_pose``, ``dmfn``).
        ngf: generator base width (64 in every family).
        ndf: discriminator base width (DPTN 32; PATN, pix2pix, DMFN 64).
        norm: ``"instance"`` or ``"batch"`` (DPTN, PATN: instance, PATN Market: batch; pix2pix:
            batch). DMFN's norms are fixed (IN in G, BN in D).
        dis_layers: DPTN's discriminator levels (4 DeepFashion, 3 Market), PATN's discriminator
            ResBlocks (3), pix2pix's PatchGAN layers (3 = 70×70).
        dropout: Dropout(0.5) in PATN's blocks and discriminators and pix2pix's U-Net (on).
        pose_channels: heatmap channels of one pose (18 COCO joints): PATN's pose stream takes
            2 × 18, pix2pix-pose's input 3 + 2 × 18. Checked against the shards' joints.

    DPTN (passed to :class:`pgdata.models.DPTNConfig` under the same names):
        block: middle blocks, ``"res"`` (DPTN) or ``"mbconv"`` (the teacher and student).
        mbconv_expand, mbconv_kernel, mbconv_se: MBConv expansion, depthwise kernel, SE width.
        n_cab, n_ttb: Context Augment / Texture Transfer Blocks in the PTM (2, 2; student 1, 1).
        heads: attention heads (2).
        resize_to: ``[H, W]`` working size (DPTN's 256×256 stretch quirk) or empty = native size.

    PATN (generators.md §3):
        patn_blocks: Pose-Attentional Transfer Blocks (9).
        pose_maps: ``"gaussian"`` (default): float Gaussian heatmaps (σ = ``heatmap_sigma``, peak
            1), as DPTN renders them; ``"patn_uint8"``: PATN's released maps, which its script
            stored as uint8 so each channel keeps only the 1 at the joint's pixel (everything
            else truncates to 0): use it only to compare with PATN's published numbers.
        lambda_perceptual: PATN's λ_B on the L1 of VGG19 relu1_2 features (1; Market 10).
        gan_mode: ``"lsgan"`` (DeepFashion) or ``"vanilla"`` (BCE; PATN Market's --no_lsgan).
        pool_size: image pool of past fakes shown to the discriminators (0; PATN Market 50).
        epoch_pairs: pairs in one schedule epoch: PATN's epoch is 4,000 random pairs; 0 = one
            pass over the split (every other family).

    pix2pix (generators.md §4; ``pix2pix`` trains on aligned shards, ``pix2pix_pose`` on
    pose-transfer shards with cat(source, source pose, target pose) as input):
        num_downs: U-Net downsamplings (8 = ``unet_256``: sizes must be multiples of 256).
        input_nc, output_nc: generator input / output channels (3, 3; 1 = grey; pix2pix-pose
            input 39). Checked against the data.
        direction: ``"AtoB"`` or ``"BtoA"`` (which half of an A|B image is the input).
        load_size, crop_size: A and B are resized to load × load, then one random crop × crop
            window and flip is applied to both (286, 256). ``crop_size`` is also DMFN's image
            size, checked against the face shards.
        pad_to: ``[H, W]`` pix2pix-pose pads source, poses and target to (``[256, 256]``:
            DeepFashion's 256×176 padded with white / zero heatmaps), or empty.

    DMFN (generators.md §5):
        dmfn_blocks: dense multi-scale fusion blocks (8).
        fusion_kernel: 3 (released, 9,037,443 parameters) or 1 (paper, 4,843,139).
        mask_kinds: masks drawn per sample and epoch (``pgdata.stages.masks.MASK_KINDS``;
            DMFN CelebA-HQ: ``["box"]``).
        mask_set: a folder of fixed masks (``pgdata masks``) to draw from instead; empty = none.
        dmfn_losses: the generator terms that are on (:data:`DMFN_LOSSES`).
        lambda_vgg, lambda_center, lambda_fm: weights of the VGG feature, centre and feature-
            matching terms (25, 1, 5); L1 and GAN use ``lambda_rec`` and ``lambda_gan``.
        center_released_quirk: reproduce the released centre loss's y = x coordinate bug.
        landmark_net, expression_net: a user's frozen network as ``module[:factory]``
            (``factory(weights_path)`` returns a callable mapping (B, 3, H, W) images in [-1, 1]
            to a tensor: landmarks or expression features); used when ``"landmark"`` /
            ``"expression"`` is in ``dmfn_losses``.
        landmark_weights, expression_weights: the weights file handed to the factory.
        landmark_sha256, expression_sha256: the file's sha256 (a prefix of ≥ 8 hex digits);
            required with a weights file.
        lambda_landmark, lambda_expression: MSE between landmarks, L1 between expression
            outputs of the composite and the real image (1, 1: the study's are unpublished).

    Data:
        split: shard split to train on.
        flip_prob: probability of a horizontal flip of a pair / face (DPTN, PATN, DMFN: 0;
            pix2pix flips A and B together with p = 0.5 regardless).
        heatmap_sigma: Gaussian sigma of the pose heatmaps in pixels (6).
        workers: DataLoader worker processes per rank.

    Optimisation:
        batch_size: samples per forward pass and rank (DPTN 32; PATN 7; pix2pix 1; DMFN 16).
        accumulation: forward passes per optimiser step (effective batch = batch × accumulation
            × ranks).
        lr: generator learning rate (2e-4); lr_d_ratio: D's lr = lr × lr_d_ratio (DPTN 0.1).
        beta1, beta2: Adam betas (0.5, 0.999).
        lr_policy: ``"linear"``: constant for ``epochs_flat`` epochs, then linear decay: factor
            ``1 − max(0, e − epochs_flat) / (epochs_decay + 1)`` in 1-based epoch ``e``;
            ``"step"``: × ``lr_gamma`` at each step of ``lr_milestones`` (DMFN).
        epochs_flat, epochs_decay: the linear policy's epochs (and the run length).
        lr_milestones, lr_gamma: the step policy's optimiser steps and factor (DMFN: [100000],
            0.5).
        steps: optimiser steps to run in total; 0 = the whole schedule
            ((epochs_flat + epochs_decay) epochs).
        seed: seeds the weights, the sampler order, the flips and the masks.

    Losses (DPTN: ``r (λ_rec L1 + λ_c content + λ_s style)_t + (1 − r)(same)_s + λ_g GAN_t``):
        lambda_rec: the L1 reconstruction weight (DPTN 5; PATN's λ_A 1; pix2pix 100; DMFN 1).
        lambda_gan: the GAN weight (DPTN 2; PATN 5; pix2pix 1; DMFN 0.003).
        lambda_content, lambda_style: DPTN's VGG content and style weights (0.5, 500).
        t_s_ratio: ``r``, weight of the s→t branch against the s→s branch (0.5).
        perceptual: DPTN's content and style terms, PATN's perceptual term on (needs VGG19).
        vgg_weights: path of ``vgg19-dcbb9e9d.pth`` (file or folder); empty = look in
            ``$PGDATA_WEIGHTS_DIR`` and the torch hub cache; ``"random"`` = random VGG19, for
            smoke tests only.
        vgg_input_norm: how images enter VGG19: ``"auto"`` = the family's reference (DPTN
            ``"none"``, PATN and DMFN ``"imagenet"``), or ``"none"``, ``"imagenet"``,
            ``"dmfn_released"`` (DMFN's released extractor: ImageNet normalisation of
            ``x + mean``, see :mod:`pgdata.training.losses_dmfn`).

    Distillation (DPTN):
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
    # shared network keys
    ngf: int = 64
    ndf: int = 32
    norm: Literal["instance", "batch"] = "instance"
    dis_layers: int = 4
    dropout: bool = True
    pose_channels: int = 18
    # DPTN
    block: Literal["res", "mbconv"] = "res"
    mbconv_expand: int = 5
    mbconv_kernel: int = 3
    mbconv_se: int = 64
    n_cab: int = 2
    n_ttb: int = 2
    heads: int = 2
    resize_to: tuple[int, ...] = ()
    # PATN
    patn_blocks: int = 9
    pose_maps: Literal["gaussian", "patn_uint8"] = "gaussian"
    lambda_perceptual: float = 1.0
    gan_mode: Literal["lsgan", "vanilla"] = "lsgan"
    pool_size: int = 0
    epoch_pairs: int = 0
    # pix2pix
    num_downs: int = 8
    input_nc: int = 3
    output_nc: int = 3
    direction: Literal["AtoB", "BtoA"] = "AtoB"
    load_size: int = 286
    crop_size: int = 256
    pad_to: tuple[int, ...] = ()
    # DMFN
    dmfn_blocks: int = 8
    fusion_kernel: int = 3
    mask_kinds: tuple[str, ...] = ("box",)
    mask_set: str = ""
    dmfn_losses: tuple[str, ...] = ("gan", "l1", "vgg", "center", "fm")
    lambda_vgg: float = 25.0
    lambda_center: float = 1.0
    lambda_fm: float = 5.0
    center_released_quirk: bool = False
    landmark_net: str = ""
    landmark_weights: str = ""
    landmark_sha256: str = ""
    lambda_landmark: float = 1.0
    expression_net: str = ""
    expression_weights: str = ""
    expression_sha256: str = ""
    lambda_expression: float = 1.0
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
    lr_policy: Literal["linear", "step"] = "linear"
    epochs_flat: int = 100
    epochs_decay: int = 100
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.5
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
    vgg_input_norm: Literal["auto", "none", "imagenet", "dmfn_released"] = "auto"
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
            "pose_channels": 1, "patn_blocks": 1, "pool_size": 0, "epoch_pairs": 0,
            "num_downs": 5, "input_nc": 1, "output_nc": 1, "load_size": 4, "crop_size": 4,
            "dmfn_blocks": 1,
        }  # fmt: skip
        for key, low in at_least.items():
            if getattr(self, key) < low:
                raise ValueError(f"{key} must be >= {low}, found {getattr(self, key)}")
        for key in ("lr", "lr_d_ratio", "heatmap_sigma", "lr_gamma"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a finite number > 0, found {value}")
        for key in ("beta1", "beta2", "flip_prob", "t_s_ratio"):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be in [0, 1], found {value}")
        weights = (
            "lambda_rec", "lambda_content", "lambda_style", "lambda_gan", "lambda_kd",
            "lambda_perceptual", "lambda_vgg", "lambda_center", "lambda_fm", "lambda_landmark",
            "lambda_expression",
        )  # fmt: skip
        for key in weights:
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{key} must be a finite number >= 0, found {value}")
        for key in ("resize_to", "pad_to"):
            if len(getattr(self, key)) not in (0, 2):
                raise ValueError(f"{key} must be [] or [H, W], found {list(getattr(self, key))}")
        if self.crop_size > self.load_size:
            raise ValueError(
                f"crop_size {self.crop_size} is larger than load_size {self.load_size}"
            )
        if self.fusion_kernel not in (1, 3):
            raise ValueError(f"fusion_kernel must be 1 or 3, found {self.fusion_kernel}")
        self._check_names("mask_kinds", self.mask_kinds, MASK_KINDS)
        self._check_names("dmfn_losses", self.dmfn_losses, DMFN_LOSSES, empty_ok=True)
        if any(m < 1 for m in self.lr_milestones):
            raise ValueError(f"lr_milestones must be steps >= 1, found {list(self.lr_milestones)}")
        if self.steps == 0 and self.lr_policy == "step":
            raise ValueError("lr_policy = 'step' needs steps > 0 (the run length)")
        if self.steps == 0 and self.epochs_flat + self.epochs_decay == 0:
            raise ValueError("steps = 0 runs the schedule, but epochs_flat + epochs_decay is 0")

    @staticmethod
    def _check_names(
        key: str, values: tuple[str, ...], known: tuple[str, ...], *, empty_ok: bool = False
    ) -> None:
        unknown = [v for v in values if v not in known]
        if unknown or (not values and not empty_ok):
            raise ValueError(
                f"{key}: {unknown or 'none given'} not in {list(known)}; give names from it"
            )

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
