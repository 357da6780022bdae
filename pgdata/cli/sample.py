"""``pgdata sample``: write the embedded synthetic DeepFashion In-shop sample."""

from __future__ import annotations

from pathlib import Path

import click

from pgdata.cli._common import SizeHW, echo_result, progress_bar
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample


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
@click.option(
    "--kind",
    type=click.Choice(["inshop", "tryon"]),
    default="inshop",
    show_default=True,
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
        _sample_tryon(out, ids, seed, size_hw or (1024, 768))
        return
    if size_hw is not None:
        raise click.UsageError("--size applies to --kind tryon (In-shop samples are 256x256)")
    cfg = SampleConfig(out=out, ids=ids, views=views, seed=seed, workers=workers)
    with progress_bar(ids * views, "sample") as update:
        result = run_sample(cfg, progress=update)
    echo_result(
        f"sample: wrote {result.images} images of {result.identities} identities to {out} "
        f"(train {result.train}, test {result.test}; {result.missing_torso} without full torso)"
    )


def _sample_tryon(out: Path, persons: int, seed: int, size_hw: tuple[int, int]) -> None:
    from pgdata.jobs.tryon.sample import TryonSampleConfig, run_tryon_sample

    if min(size_hw) < 64:
        raise click.BadParameter("at least 64x64", param_hint="--size")
    cfg = TryonSampleConfig(out=out, persons=persons, seed=seed, size_hw=size_hw)
    with progress_bar(persons, "sample") as update:
        result = run_tryon_sample(cfg, progress=update)
    echo_result(
        f"sample: wrote {result.persons} try-on persons and {result.persons} garments "
        f"({result.garments_jpeg} JPEG on white, {result.garments_rgba} RGBA PNG) at "
        f"{size_hw[1]}x{size_hw[0]} (W x H) to {out}"
    )
