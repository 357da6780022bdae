"""``pgdata sample``: write the embedded synthetic DeepFashion In-shop sample."""

from __future__ import annotations

from pathlib import Path

import click

from pgdata.cli._common import echo_result, progress_bar
from pgdata.jobs.sample import SampleConfig, run_sample


@click.command(short_help="Write a synthetic DeepFashion In-shop sample dataset.")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--ids", default=24, show_default=True, type=click.IntRange(min=1), help="Number of identities."
)
@click.option(
    "--views",
    default=4,
    show_default=True,
    type=click.IntRange(1, 6),
    help="Images per identity (In-shop view kinds: front, side, back, full, additional, flat).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed; same seed, same bytes."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rendering processes.",
)
def sample(out: Path, ids: int, views: int, seed: int, workers: int) -> None:
    """Write a deterministic synthetic dataset in the DeepFashion In-shop layout into OUT.

    Images are 256x256 like the real In-shop low-res release (img/<MEN|WOMEN>/<Category>/
    id_XXXXXXXX/NN_k_view.jpg), with CIHP parsing PNGs (parsing/...), COCO-18 keypoints in the
    PATN annotation format (keypoints.csv, 256x256 frame) and list_eval_partition.txt. Persons are
    drawn from their keypoints, so image, parsing and keypoints agree.
    """
    cfg = SampleConfig(out=out, ids=ids, views=views, seed=seed, workers=workers)
    with progress_bar(ids * views, "sample") as update:
        result = run_sample(cfg, progress=update)
    echo_result(
        f"sample: wrote {result.images} images of {result.identities} identities to {out} "
        f"(train {result.train}, test {result.test}; {result.missing_torso} without full torso)"
    )
