"""``pgdata train`` and ``pgdata models``: train a generator on shards; list network sizes.

Under ``torchrun`` each process runs this command (``torchrun --nproc-per-node 2 -m
pgdata train --config ... --source ... --out ...``); rank 0 writes and prints the summary.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from pgdata.cli._common import examples, source_option
from pgdata.config import bundled_dir, resolve_bundled
from pgdata.errors import ConfigError, PgdataError
from pgdata.training.config import load_train_config, parse_sets

__all__ = ["models_cmd", "resolve_config", "train_cmd"]


def resolve_config(name_or_path: str) -> Path:
    """A config path, or the bundled ``train/NAME.toml`` for a bare name (``dptn``, ``tiny``)."""
    return resolve_bundled("train", name_or_path)


EXAMPLES = """\b
Examples:
  pgdata train --config patn --source shards/fashion --out runs/patn
  pgdata train --config pix2pix --source shards/facades --out runs/pix2pix --set direction=BtoA
  pgdata train --config dmfn --source shards/faces --out runs/dmfn --set mask_set=masks/train
  pgdata train --config tiny-dmfn --source demo/face-shards --out demo/run --device cpu --steps 2
"""
"""The end of ``--help``: real invocations (``\\b`` keeps click from rewrapping them)."""


@click.command(
    "train",
    short_help="Train a generator (DPTN, PATN, pix2pix, DMFN) on pgdata shards.",
    epilog=EXAMPLES,
)
@click.option(
    "--config",
    "config",
    required=True,
    help="Training config: a TOML path or a bundled name (dptn, patn, pix2pix, pix2pix-pose, dmfn, dmfn-abl-..., tiny; `pgdata models` lists them).",
)
@source_option("Shard folder written by `pgdata build`.", old="--data")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Run folder: checkpoints, config.json, log.jsonl, samples/, tb/.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after this many optimiser steps in total.  [config, else the whole schedule]",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key (repeatable), e.g. --set perceptual=false --set lr=1e-4.",
)
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in --out.")
@click.option(
    "--force",
    is_flag=True,
    help="With --resume: continue even though the config or the shard set changed.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default=None,
    help="Where to train (auto = CUDA when available).  [config, else auto]",
)
def train_cmd(
    config: str,
    source: Path,
    out: Path,
    steps: int | None,
    sets: tuple[str, ...],
    resume: bool,
    force: bool,
    device: str | None,
) -> None:
    """Train the config's model family on its shards; print one summary line.

    DPTN, PATN and pix2pix-pose train on pose-transfer shards, pix2pix on aligned A|B shards
    (pipelines/aligned.toml), DMFN on face shards (pipelines/faces.toml). Logs go to stderr
    (progress bar), RUN/log.jsonl and TensorBoard (RUN/tb); sample grids to RUN/samples/.
    Without VGG19 weights pass --set perceptual=false (DMFN: drop "vgg" and "center" from
    dmfn_losses).
    """
    from pgdata.training.loop import train  # torch and the models load only for this command

    try:
        cfg = load_train_config(
            resolve_config(config), parse_sets(sets), steps=steps, device=device
        )
        result = train(cfg, source, out, resume=resume, force=force)
    except PgdataError as e:
        raise click.ClickException(str(e)) from e
    if os.environ.get("RANK", "0") != "0":
        return
    done = result.step - result.start_step
    span = f"{done} step{'' if done == 1 else 's'}"
    if result.start_step:
        span += f" ({result.start_step} -> {result.step})"
    line = (
        f"trained {span} in {result.seconds:.1f} s ({result.s_per_it:.3g} s/it, data wait "
        f"{100 * result.data_wait:.0f} %); checkpoint {result.checkpoint}"
    )
    if result.sample is not None:
        line += f"; samples {result.sample}"
    click.echo(line)


@click.command(
    "models",
    short_help="Print the parameter count of every network of the training configs.",
    epilog=examples("pgdata models", "pgdata models --config dptn"),
)
@click.option(
    "--config",
    "config",
    default=None,
    help="One config (path or bundled name); default: every config in train/.",
)
def models_cmd(config: str | None) -> None:
    """One line per network: CONFIG NETWORK PARAMS (an integer without separators)."""
    from pgdata.training.steps import get_family
    from pgdata.training.steps.base import count_parameters

    try:
        folder = bundled_dir("train")
        bundled = sorted(folder.glob("*.toml"), key=lambda p: p.stem) if folder else []
        paths = [resolve_config(config)] if config else bundled
        if not paths:
            raise ConfigError("this install has no bundled training configs: give --config FILE")
        for path in paths:
            cfg = load_train_config(path)
            networks = get_family(cfg.family).build_networks(cfg, init=False)  # shapes only
            for name, net in networks.items():
                click.echo(f"{path.stem} {name} {count_parameters(net)}")
    except PgdataError as e:
        raise click.ClickException(str(e)) from e
