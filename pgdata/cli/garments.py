"""``pgdata garments``: crawled packshots → VITON-HD style ``cloth/`` + ``cloth-mask/``."""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from pgdata.cli._common import (
    DIR,
    SizeHW,
    SizeWH,
    choice_option,
    dask_options,
    examples,
    make_config,
    old_spelling,
    out_dir_option,
    quality_option,
    run_job,
    shown_option,
    takes_old_spelling,
    workers_option,
)
from pgdata.jobs.garments.garments import GarmentsConfig, run_garments
from pgdata.stages.cloth_mask import METHODS


def _size(ctx: click.Context, param: click.Parameter, value: tuple[int, int]) -> tuple[int, int]:
    """``--size`` is HEIGHTxWIDTH like every size of pgdata; it used to be WIDTHxHEIGHT (now the
    hidden ``--size-wh``, for one more release). A landscape size gets a note on stderr."""
    value = takes_old_spelling(False)(ctx, param, value)
    given = ctx.get_parameter_source("size_hw") == ParameterSource.COMMANDLINE
    if given and value[1] > value[0]:
        h, w = value
        click.echo(
            f"note: --size is HEIGHTxWIDTH (VITON-HD: 1024x768); {h}x{w} makes landscape garments "
            f"{w} wide and {h} high (the old WIDTHxHEIGHT reading is --size {w}x{h})",
            err=True,
        )
    return value


@click.command(
    "garments",
    short_help="Crawled packshots -> cloth/ + cloth-mask/ (offline).",
    epilog=examples(
        "pgdata garments crawl/ssfshop --out garments",
        "pgdata garments demo/crawl/fixture_shop --out demo/garments --size 512x384",
    ),
)
@click.argument("src", type=DIR)
@out_dir_option("Output folder (cloth/, cloth-mask/, garments.jsonl, rejected.csv, garments.json).")
@shown_option(
    "--size",
    "size_hw",
    type=SizeHW(),
    default="1024x768",
    callback=_size,
    help="Output HEIGHTxWIDTH (VITON-HD: 1024x768).",
)
@old_spelling(
    "--size-wh",
    new="--size",
    dest="size_hw",
    type=SizeWH(),
    convert=lambda wh: (wh[1], wh[0]),
)
@choice_option(
    "--mask",
    "method",
    choices=METHODS,
    help="Cloth mask: auto = alpha channel when present, else threshold against the border colour; rgb-cut = VITON-HD's all-channels>240 rule; grabcut = threshold refined by GrabCut (slower).",
)
@shown_option(
    "--max-upscale",
    type=click.FloatRange(min=1.0),
    default=1.25,
    help="Reject garments that would be enlarged more than this to fill the size.",
)
@shown_option(
    "--hash-bits",
    type=click.IntRange(0, 64),
    default=6,
    help="Near duplicate: grey perceptual hashes at most this many bits apart (of 64) ...",
)
@shown_option(
    "--color-delta-e",
    type=click.FloatRange(min=0),
    default=12.0,
    help="... and mean colours at most this far apart (CIE76 ΔE); larger = colour variant, kept.",
)
@quality_option()
@workers_option()
@dask_options("garment shard", recipe=False)
@shown_option(
    "--shard-mb",
    type=click.FloatRange(min=0.001),
    default=128.0,
    help="HDF5 shards in OUT/shards/ roll over at about this many MB.",
)
def garments(**options: Any) -> None:
    """Turn the images of a `pgdata crawl` folder SRC into a garment set, without network.

    \b
    OUT/cloth/<id>.jpg        garment centred on its own background colour (white if it
                              was transparent), HEIGHTxWIDTH (default 1024x768)
    OUT/cloth-mask/<id>.jpg   its mask, JPEG mode L, 255 = garment
    OUT/garments.jsonl        one kept garment a line: product fields, source, kind, hashes
    OUT/rejected.csv          source image, reason (duplicate, not a packshot, too small, ...)
    OUT/shards/               HDF5 shards of the kept garments (cloth JPEG, mask, metadata)

    Exact duplicates (same bytes) and near duplicates (same shape and colour) are dropped;
    the same garment in another colour is kept. <id> is the start of the image's sha256.
    """
    cfg = make_config(GarmentsConfig, **options)
    run_job(
        lambda update: run_garments(cfg, progress=update), desc="garments", lines=lambda r: r.files
    )
