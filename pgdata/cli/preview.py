"""``pgdata preview``: HTML contact sheets to check a dataset by eye."""

from __future__ import annotations

from pathlib import Path

import click

from pgdata.cli._common import echo_result
from pgdata.jobs.posetransfer.preview import PreviewPairsConfig, run_preview_pairs


@click.group(short_help="Write HTML contact sheets to check data by eye.")
def preview() -> None:
    """Write self-contained HTML pages with thumbnails, to check a dataset by eye."""


@preview.command("pairs", short_help="Random pairs with their skeletons.")
@click.argument("pairs_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("pairs.html"),
    show_default=True,
    help="HTML file to write.",
)
@click.option(
    "-n",
    "--count",
    default=24,
    show_default=True,
    type=click.IntRange(min=1),
    help="Pairs to show.",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Which pairs (random choice seed)."
)
def preview_pairs(pairs_dir: Path, out: Path, count: int, seed: int) -> None:
    """Show random pairs of PAIRS_DIR (what `pgdata build-pairs` wrote): source and target images
    with both skeletons drawn over them."""
    result = run_preview_pairs(PreviewPairsConfig(pairs_dir, out, count, seed))
    echo_result(
        f"preview: wrote {result.out} ({result.pairs} pairs; {result.with_images} images, "
        f"{result.without_images} skeleton-only)"
    )


@preview.command("tryon", short_help="One row per try-on sample, every stage's output.")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("preview.html"),
    show_default=True,
    help="HTML file to write.",
)
@click.option(
    "-n",
    "--count",
    default=24,
    show_default=True,
    type=click.IntRange(min=1),
    help="Samples per split (in id order).",
)
def preview_tryon(root: Path, out: Path, count: int) -> None:
    """Show a VITON-HD root (what `pgdata tryon` fills): image | parsing | skeleton | densepose |
    agnostic | parse-agnostic | cloth | mask, one row per person."""
    from pgdata.jobs.tryon.preview import PreviewTryonConfig, run_preview_tryon

    result = run_preview_tryon(PreviewTryonConfig(root, out, count))
    echo_result(
        f"preview: wrote {result.out} ({result.rows} samples; {result.missing} missing cells)"
    )
