"""``pgdata crawl``: a store's products and original images, politely and resumably."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from pgdata.cli._common import bundled_option, examples, out_dir_option, run_job
from pgdata.crawl.config import load_store
from pgdata.crawl.settings import Politeness
from pgdata.jobs.garments.crawl import CrawlConfig, run_crawl


@click.command(
    "crawl",
    short_help="Crawl a store's products and images (Scrapy).",
    epilog=examples(
        "pgdata crawl --store ssfshop --out crawl --category tops --max-items 200",
        "pgdata demo-shop --out demo/shop --crawl   # the offline demo shop, crawled",
    ),
)
@bundled_option(
    "--store",
    "crawlers",
    required=True,
    help="Store config: a bundled name (fixture_shop, ssfshop, fashionnova; see `pgdata recipes`) or a TOML file such as crawlers/ssfshop.toml.",
)
@out_dir_option("Output folder; the store writes OUT/<store>/. Rerun with the same OUT to resume.")
@click.option("--category", help="Crawl only this category of the store config.")
@click.option(
    "--max-items",
    type=click.IntRange(min=1),
    help="Stop after about this many new items (pages in flight still finish; resumable).",
)
@click.option("--max-pages", type=click.IntRange(min=1), help="Stop after this many responses.")
@click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), help="Time budget.")
@click.option(
    "--refresh",
    is_flag=True,
    help="Forget the saved request queue and discover again from the start URLs (stored items and files are still skipped).",
)
@click.option("--user-agent", help="User-Agent header; put a contact URL or e-mail in it.")
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    help="Seconds between requests to one domain (default 1.0, jittered ±50%).",
)
@click.option(
    "--per-domain",
    type=click.IntRange(min=1),
    help="Concurrent requests per domain (default 2).",
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), help="Concurrent requests overall (default 16)."
)
@click.option(
    "--autothrottle/--no-autothrottle",
    default=None,
    help="Adapt the delay to the server's latency (default on).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds per request (default 30).",
)
@click.option("--retries", type=click.IntRange(min=0), help="Retries per request (default 2).")
@click.option(
    "--max-file-mb",
    type=click.FloatRange(min=0, min_open=True),
    help="Refuse responses larger than this many MB (default 50).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Log INFO messages on stderr, not only warnings."
)
def crawl(
    store: Path,
    out: Path,
    category: str | None,
    max_items: int | None,
    max_pages: int | None,
    max_minutes: float | None,
    refresh: bool,
    verbose: bool,
    **politeness: Any,
) -> None:
    """Crawl one store described by a crawlers/<store>.toml file into OUT/<store>/.

    \b
    OUT/<store>/items.jsonl        one product a line: fields, image URLs, stored files
                                   (path, sha256, width, height)
    OUT/<store>/files/             original image bytes, named by a hash of the URL
    OUT/<store>/crawl-report.json  pages, items, images, bytes, errors by type, duration

    Polite by default: robots.txt obeyed, identifying User-Agent, 1 s delay per domain,
    AutoThrottle, 2 requests per domain at a time. Flags override the store's [settings],
    which override the defaults. Exit status 1 when nothing was stored or the crawl broke off.
    """
    ua = politeness["user_agent"]
    if ua is not None and not ua.strip():
        raise click.BadParameter("must not be empty", param_hint="--user-agent")
    store_cfg = load_store(store)  # a malformed store file: one line, exit 1
    if category is not None and category not in store_cfg.category_names():
        raise click.BadParameter(
            f"no category {category!r} in {store}; it has {', '.join(store_cfg.category_names())}",
            param_hint="--category",
        )
    cfg = CrawlConfig(
        store=store,
        out=out,
        category=category,
        max_items=max_items,
        max_pages=max_pages,
        max_minutes=max_minutes,
        refresh=refresh,
        politeness=Politeness(**politeness),
    )
    with log_to_stderr(verbose):  # a result with a problem exits 1 after the summary
        run_job(
            lambda update: run_crawl(cfg, progress=update, store=store_cfg),
            desc="items",
            total=max_items,
            lines=lambda r: r.files,
        )


@contextmanager
def log_to_stderr(verbose: bool) -> Iterator[None]:
    """Scrapy's and pgdata's log records on stderr while a crawl runs: warnings and errors, or
    with ``verbose`` INFO too (everything also goes to the store's crawl.log)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
