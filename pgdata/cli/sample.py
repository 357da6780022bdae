"""``pgdata sample``: write the embedded synthetic DeepFashion In-shop or VITON-HD sample."""

from __future__ import annotations

from pathlib import Path

import click

from pgdata.cli._common import (
    SizeHW,
    choice_option,
    make_config,
    run_job,
    seed_option,
    shown_option,
    workers_option,
)
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample
from pgdata.jobs.tryon.sample import TryonSampleConfig, run_tryon_sample

KINDS = ("inshop", "tryon")
TRYON_SIZE_HW = (1024, 768)  # VITON-HD's person and garment size


@click.command(short_help="Write a synthetic DeepFashion In-shop sample dataset.")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@shown_option("--ids", default=24, type=click.IntRange(min=1), help="Number of identities.")
@shown_option(
    "--views",
    default=4,
    type=click.IntRange(1, 6),
    help="Images per identity (In-shop view kinds: front, side, back, full, additional, flat).",
)
@seed_option("Random seed; same seed, same bytes.")
@workers_option("Rendering processes.")
@choice_option(
    "--kind",
    choices=KINDS,
    help="inshop: DeepFashion In-shop tree; tryon: VITON-HD persons and garments (--ids persons).",
)
@click.option(
    "--size",
    "size_hw",
    type=SizeHW(),
    help="tryon: HEIGHTxWIDTH of persons and garments.  [1024x768, VITON-HD; e.g. 256x192 for a small one]",
)
def sample(
    out: Path,
    ids: int,
    views: int,
    seed: int,
    workers: int,
    kind: str,
    size_hw: tuple[int, int] | None,
) -> None:
    """Write a deterministic synthetic dataset in the DeepFashion In-shop layout into OUT.

    Images are 256x256 like the real In-shop low-res release (img/<MEN|WOMEN>/<Category>/
    id_XXXXXXXX/NN_k_view.jpg), with CIHP parsing PNGs (parsing/...), COCO-18 keypoints in the
    PATN annotation format (keypoints.csv, 256x256 frame) and list_eval_partition.txt. Persons are
    drawn from their keypoints, so image, parsing and keypoints agree.

    With --kind tryon: a VITON-HD root (test/image, test/cloth with JPEG and transparent PNG
    garments) plus precomputed/ parser, OpenPose and DensePose outputs for `pgdata tryon`.
    """
    if kind == "tryon":
        tryon_cfg = make_config(
            TryonSampleConfig, out=out, persons=ids, seed=seed, size_hw=size_hw or TRYON_SIZE_HW
        )
        run_job(
            lambda update: run_tryon_sample(tryon_cfg, progress=update), desc="sample", total=ids
        )
        return
    if size_hw is not None:
        raise click.UsageError("--size applies to --kind tryon (In-shop samples are 256x256)")
    cfg = make_config(SampleConfig, out=out, ids=ids, views=views, seed=seed, workers=workers)
    run_job(lambda update: run_sample(cfg, progress=update), desc="sample", total=ids * views)
