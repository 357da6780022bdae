"""``pgdata demo-shop``: a small synthetic shop on 127.0.0.1, to see the crawler work offline."""

from __future__ import annotations

import time
from pathlib import Path

import click

from pgdata.cli._common import echo_result, examples, make_config, out_dir_option, run_job
from pgdata.cli.crawl import log_to_stderr
from pgdata.jobs.garments.demo_shop import (
    CRAWL_FOLDER,
    DemoShopConfig,
    crawl_demo_shop,
    open_demo_shop,
)

__all__ = ["demo_shop"]


@click.command(
    "demo-shop",
    short_help="Serve a small synthetic shop on 127.0.0.1 (an offline crawl demo).",
    epilog=examples(
        "pgdata demo-shop --out demo/shop --crawl",
        "pgdata demo-shop --out demo/shop --port 8765",
    ),
)
@out_dir_option(
    "Folder for fixture_shop.toml (the store config that crawls the shop) and, with --crawl, "
    "the crawl in OUT/crawl/."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--crawl",
    "crawl",
    is_flag=True,
    help="Crawl the shop into OUT/crawl/ (politeness off: the server is ours), then stop.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0, min_open=True),
    help="Without --crawl: serve this long, then stop.  [default: until Ctrl-C]",
)
def demo_shop(out: Path, port: int, crawl: bool, seconds: float | None) -> None:
    """Serve the demo shop (JSON-LD, microdata-free OpenGraph and plain-markup products, packshot
    and on-model images, duplicates, broken pages and images) and write OUT/fixture_shop.toml,
    the bundled store config pointed at it.

    \b
    With --crawl:  crawl it into OUT/crawl/fixture_shop/ (items.jsonl, files/, crawl-report.json)
                   and stop; then `pgdata garments OUT/crawl --out GARMENTS` builds the garment
                   set and its shards (5 garments of 7 stored images).
    Without:       serve until Ctrl-C (or --seconds) for your own `pgdata crawl --store
                   OUT/fixture_shop.toml --out CRAWL`.
    """
    cfg = make_config(DemoShopConfig, out=out, port=port)
    with open_demo_shop(cfg) as running:
        echo_result(f"demo-shop: {running.url} (store config {running.store})")
        if crawl:
            with log_to_stderr(verbose=False):
                run_job(
                    lambda update: crawl_demo_shop(cfg, running, update),
                    desc="items",
                    lines=lambda r: r.files,
                )
            return
        click.echo(
            f"crawl it with: pgdata crawl --store {running.store} --out {out / CRAWL_FOLDER}"
            " --delay 0 (Ctrl-C stops the shop)",
            err=True,
        )
        try:
            if seconds is not None:
                time.sleep(seconds)
            else:
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            pass
    echo_result(f"demo-shop: stopped {running.url}")
