"""``pgdata preview``: HTML contact sheets to check a dataset by eye."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pgdata.cli._common import DIR, examples, run_job, seed_option
from pgdata.jobs.posetransfer.preview import PreviewPairsConfig, run_preview_pairs
from pgdata.jobs.tryon.preview import PreviewTryonConfig, run_preview_tryon


def _page_options(default_out: str, count_help: str) -> Callable[[Callable[..., Any]], Any]:
    """``--out FILE.html`` and ``-n/--count N``, shared by the preview commands."""

    def decorate(f: Callable[..., Any]) -> Any:
        f = click.option(
            "-n",
            "--count",
            default=24,
            show_default=True,
            type=click.IntRange(min=1),
            help=count_help,
        )(f)
        return click.option(
            "--out",
            type=click.Path(dir_okay=False, path_type=Path),
            default=Path(default_out),
            show_default=True,
            help="HTML file to write.",
        )(f)

    return decorate


DEFAULT_PAGE = "preview.html"  # what both previews write unless --out says otherwise


@click.group(
    short_help="Write HTML contact sheets to check data by eye.",
    epilog=examples(
        "pgdata preview pairs data/fashion --out fashion.html",
        "pgdata preview tryon VITON-HD -n 8",
    ),
)
def preview() -> None:
    """Write self-contained HTML pages with thumbnails, to check a dataset by eye."""


@preview.command(
    "pairs",
    short_help="Random pairs with their skeletons.",
    epilog=examples(
        "pgdata preview pairs data/fashion", "pgdata preview pairs data/market -n 48 --seed 1"
    ),
)
@click.argument("pairs_dir", type=DIR)
@_page_options(DEFAULT_PAGE, "Pairs to show.")
@seed_option("Which pairs (random choice seed).")
def preview_pairs(pairs_dir: Path, out: Path, count: int, seed: int) -> None:
    """Show random pairs of PAIRS_DIR (what `pgdata build-pairs` wrote): source and target images
    with both skeletons drawn over them."""
    cfg = PreviewPairsConfig(pairs_dir=pairs_dir, out=out, n=count, seed=seed)
    run_job(lambda _update: run_preview_pairs(cfg), desc=None)


@preview.command(
    "tryon",
    short_help="One row per try-on sample, every stage's output.",
    epilog=examples(
        "pgdata preview tryon VITON-HD", "pgdata preview tryon demo/tryon -n 4 --out tryon.html"
    ),
)
@click.argument("root", type=DIR)
@_page_options(DEFAULT_PAGE, "Samples per split (in id order).")
def preview_tryon(root: Path, out: Path, count: int) -> None:
    """Show a VITON-HD root (what `pgdata tryon` fills): image | parsing | skeleton | densepose |
    agnostic | parse-agnostic | cloth | mask, one row per person."""
    cfg = PreviewTryonConfig(root=root, out=out, n=count)
    run_job(lambda _update: run_preview_tryon(cfg), desc=None)
