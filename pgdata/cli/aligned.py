"""``pgdata combine-ab``: two folders of paired images → pix2pix's A|B images."""

from __future__ import annotations

from pathlib import Path

import click

from pgdata.cli._common import (
    DIR,
    make_config,
    out_dir_option,
    quality_option,
    run_job,
    strict_option,
    workers_option,
)
from pgdata.jobs.aligned.combine import CombineConfig, run_combine

__all__ = ["combine_ab"]


EXAMPLES = """\b
Examples:
  pgdata combine-ab facades/A facades/B --out facades/AB
  pgdata combine-ab labels photos --out pairs --strict --workers 4
  pgdata build --recipe aligned --source facades/AB --out shards/facades
"""
"""The end of ``--help``: real invocations (``\\b`` keeps click from rewrapping them)."""


@click.command(
    "combine-ab",
    short_help="Put paired images side by side (pix2pix's A|B files).",
    epilog=EXAMPLES,
)
@click.argument("a_dir", type=DIR)
@click.argument("b_dir", type=DIR)
@out_dir_option("Folder for the A|B images (split folders mirrored) and rejected.csv.")
@quality_option("JPEG quality of A|B images made from JPEG sources (others are PNG).", minimum=1)
@strict_option("Stop at the first unmatched, unreadable or mismatched image; write nothing.")
@workers_option("Processes combining images.")
def combine_ab(
    a_dir: Path, b_dir: Path, out: Path, quality: int, strict: bool, workers: int
) -> None:
    """Combine each image of A_DIR with the image of the same name in B_DIR (extension ignored)
    into one image, A on the left, B on the right, as pix2pix's datasets/combine_A_and_B.py.

    A_DIR and B_DIR hold train/ val/ test/ folders (mirrored in --out) or are flat. Images
    without a partner, unreadable ones and pairs of different sizes are skipped and listed in
    OUT/rejected.csv (with --strict the first one stops the command before anything is written).
    """
    cfg = make_config(
        CombineConfig, a_dir=a_dir, b_dir=b_dir, out=out, quality=quality, strict=strict,
        workers=workers,
    )  # fmt: skip
    run_job(lambda update: run_combine(cfg, progress=update), desc="combine-ab")
