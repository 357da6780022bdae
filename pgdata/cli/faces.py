"""``pgdata masks``: the fixed inpainting evaluation mask set."""

from __future__ import annotations

from pathlib import Path

import click

from pgdata.cli._common import make_config, out_dir_option, run_job, seed_option, shown_option
from pgdata.jobs.faces.masks import MasksConfig, run_masks
from pgdata.stages.masks import MASK_KINDS

__all__ = ["masks"]


EXAMPLES = """\b
Examples:
  pgdata masks --n 1000 --out masks/eval
  pgdata masks --n 200 --out masks/brush --kinds brush --size 256 --seed 1
  pgdata train --config dmfn --source shards/faces --out runs/dmfn --set mask_set=masks/eval
"""
"""The end of ``--help``: real invocations (``\\b`` keeps click from rewrapping them)."""


@click.command(
    short_help="Write a fixed set of inpainting masks (the same holes for every model).",
    epilog=EXAMPLES,
)
@shown_option("--n", default=1000, type=click.IntRange(min=1), help="Number of masks.")
@out_dir_option("Folder for 00000.png ... and masks.json.")
@shown_option(
    "--size", default=256, type=click.IntRange(min=8), help="Side of the square masks, pixels."
)
@click.option(
    "--kinds",
    default=",".join(MASK_KINDS),
    show_default=True,
    help=f"Comma-separated mask kinds, used in turn: {', '.join(MASK_KINDS)}.",
)
@seed_option("Random seed; same seed, same masks, byte for byte.")
@click.option("--overwrite", is_flag=True, help="Replace another mask set in --out.")
def masks(n: int, out: Path, size: int, kinds: str, seed: int, overwrite: bool) -> None:
    """Write N masks (grey PNG, 255 = hole) and masks.json into OUT, so every inpainting model and
    ablation variant is scored on the same holes. Mask i has kind KINDS[i % len(KINDS)] and is
    drawn from seed (SEED, i): center (the centred half-size box), box (DMFN's random box),
    boxes (1-4 random boxes), brush (free-form strokes).
    """
    names = tuple(k.strip() for k in kinds.split(",") if k.strip())
    cfg = make_config(
        MasksConfig, out=out, n=n, size=size, kinds=names, seed=seed, overwrite=overwrite
    )
    run_job(lambda update: run_masks(cfg, progress=update), desc="masks", total=n)
