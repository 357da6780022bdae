"""``pgdata crawl``: one store's products and original image bytes, resumable.

Writes, below ``out/<store>/``:

- ``items.jsonl``: one product a line (fields, image URLs, stored files with sha256, width,
  height), appended and flushed per product;
- ``files/<sha1(url)>.<ext>``: the images as downloaded (written atomically);
- ``job-<category>/``: Scrapy's ``JOBDIR`` (request queue and seen set);
- ``crawl.log`` (INFO) and ``crawl-report.json`` (counts of this run, written last).

Resume. Rerunning with the same ``out`` continues: products already in ``items.jsonl`` are not
requested again and stored files are not downloaded again. After a clean stop (``--max-items``,
``--max-pages``, one Ctrl-C) Scrapy's ``JOBDIR`` queue is reused as it is; after a finished
crawl it is removed, so a rerun looks at the listings again for new products. After a hard kill the
queue on disk is not trustworthy (Scrapy saves it on a clean close), so pgdata notices the
``pgdata-running`` marker left behind, discards the ``JOBDIR`` and discovers again from the start
URLs; completed products and files are still skipped. ``refresh`` forces that.

Scrapy runs in this process and its reactor cannot be restarted: call :func:`run_crawl` once per
process (the CLI does; tests run the CLI in a subprocess). The store folder is locked while the
crawl runs (:mod:`pgdata.io.lock`): a second crawl of the same store into the same folder is
refused, naming the first.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pgdata import __version__
from pgdata.config import check_number
from pgdata.crawl.config import StoreConfig, load_store
from pgdata.crawl.settings import Politeness, crawl_settings
from pgdata.errors import ConfigError, PgdataError
from pgdata.io.atomic import atomic_write_text
from pgdata.io.items_jsonl import ITEMS_NAME, item_keys, read_items, repair_tail
from pgdata.io.lock import folder_lock

__all__ = ["CrawlConfig", "CrawlReport", "CrawlResult", "run_crawl"]

REPORT_NAME = "crawl-report.json"
RUNNING_MARKER = "pgdata-running"
# the range of each politeness flag (None keeps the store's or the default value)
_POLITENESS_BOUNDS: dict[str, dict[str, float]] = {
    "delay": {"ge": 0},
    "timeout": {"gt": 0},
    "max_file_mb": {"gt": 0},
    "per_domain": {"ge": 1},
    "concurrency": {"ge": 1},
    "retries": {"ge": 0},
}
# finish reasons that mean "stopped on purpose, resumable"
_OK_FINISH = {"finished", "closespider_itemcount", "closespider_pagecount", "closespider_timeout"}


@dataclass(frozen=True)
class CrawlConfig:
    """Resolved options of ``pgdata crawl``.

    ``politeness`` flags win over the store's ``[settings]``, which win over
    :data:`pgdata.crawl.settings.POLITE_DEFAULTS`.
    """

    store: Path
    out: Path
    category: str | None = None
    max_items: int | None = None
    max_pages: int | None = None
    max_minutes: float | None = None
    refresh: bool = False
    politeness: Politeness = field(default_factory=Politeness)

    def __post_init__(self) -> None:
        for key in ("max_items", "max_pages"):
            if getattr(self, key) is not None:
                check_number(key, getattr(self, key), ge=1)
        if self.max_minutes is not None:
            check_number("max_minutes", self.max_minutes, gt=0)
        for key, bound in _POLITENESS_BOUNDS.items():
            value = getattr(self.politeness, key)
            if value is not None:
                check_number(key, value, **bound)


@dataclass
class CrawlReport:
    """Counts of one crawl run (``crawl-report.json``)."""

    store: str
    category: str | None
    finish_reason: str
    duration_s: float
    pages: int
    product_pages: int
    items: int
    items_total: int
    images: int
    images_reused: int
    image_bytes: int
    bytes: int
    requests: int
    errors: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    field_sources: dict[str, int] = field(default_factory=dict)
    slowed_down: dict[str, int] = field(default_factory=dict)  # crawl_delay / retry_after raises
    resumed: bool = False
    recovered_after_kill: bool = False
    pgdata_version: str = __version__


@dataclass
class CrawlResult:
    """What ``run_crawl`` did; ``problem`` is set when the CLI should exit non-zero."""

    report: CrawlReport
    files: list[Path]
    problem: str | None = None

    def summary(self) -> str:
        """One line of counts for the CLI."""
        r = self.report
        errors = ", ".join(f"{k}={v}" for k, v in sorted(r.errors.items())) or "none"
        return (
            f"crawl {r.store}: {r.items} new items ({r.items_total} in {ITEMS_NAME}), "
            f"{r.pages} pages, {r.images} images downloaded ({r.image_bytes / 1e6:.1f} MB), "
            f"{r.images_reused} already stored; errors: {errors}; "
            f"{r.duration_s:.1f} s, {r.finish_reason}"
        )


def _load_done(items_path: Path) -> tuple[set[str], int]:
    done: set[str] = set()
    n = 0
    if items_path.is_file():
        for _, item in read_items(items_path):
            done |= item_keys(item)
            n += 1
    return done, n


def _prefixed(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    return {
        k[len(prefix) :]: int(v)
        for k, v in sorted(stats.items())
        if k.startswith(prefix) and isinstance(v, int)
    }


def _report(
    store: StoreConfig,
    cfg: CrawlConfig,
    stats: dict[str, Any],
    duration: float,
    items_before: int,
    resumed: bool,
    recovered: bool,
) -> CrawlReport:
    pages = _prefixed(stats, "pgdata/pages/")
    errors = _prefixed(stats, "pgdata/errors/")
    robots = errors.pop("robots_forbidden", 0)
    skipped = {
        "robots_forbidden": max(robots, int(stats.get("robotstxt/forbidden", 0))),
        "offsite_requests": int(stats.get("offsite/filtered", 0)),
        "offsite_links": int(stats.get("pgdata/links/offsite", 0)),
        "offsite_image_urls": int(stats.get("pgdata/images/offsite_host", 0)),
        "already_stored": int(stats.get("pgdata/links/already_stored", 0)),
        "no_product_pages": pages.get("no_product", 0),
    }
    written = int(stats.get("pgdata/items/written", 0))
    return CrawlReport(
        store=store.name,
        category=cfg.category,
        finish_reason=str(stats.get("finish_reason", "unknown")),
        duration_s=round(duration, 3),
        pages=pages.get("listing", 0) + pages.get("product", 0) + pages.get("sitemap", 0),
        product_pages=pages.get("product", 0),
        items=written,
        items_total=items_before + written,
        images=int(stats.get("pgdata/images/stored", 0)),
        images_reused=int(stats.get("file_status_count/uptodate", 0)),
        image_bytes=int(stats.get("pgdata/images/bytes", 0)),
        bytes=int(stats.get("downloader/response_bytes", 0)),
        requests=int(stats.get("downloader/request_count", 0)),
        errors=errors,
        dropped=_prefixed(stats, "pgdata/dropped/"),
        skipped={k: v for k, v in skipped.items() if v},
        statuses=_prefixed(stats, "downloader/response_status_count/"),
        field_sources=_prefixed(stats, "pgdata/field_source/"),
        slowed_down={
            k: int(stats[f"pgdata/{k}"])
            for k in ("crawl_delay", "retry_after")
            if f"pgdata/{k}" in stats
        },
        resumed=resumed,
        recovered_after_kill=recovered,
    )


def run_crawl(
    cfg: CrawlConfig,
    progress: Callable[[int], None] | None = None,
    *,
    store: StoreConfig | None = None,
) -> CrawlResult:
    """Crawl one store into ``cfg.out/<store>/`` (see the module docstring).

    ``progress(n)`` is called as items are stored. ``store`` is ``cfg.store`` already read with
    :func:`~pgdata.crawl.config.load_store` (the command checks the category with it), else it
    is read here.

    Raises:
        ConfigError: invalid store file or unknown category.
        PgdataError: the spider could not start.
    """
    if store is None:
        store = load_store(cfg.store)
    if cfg.category is not None and cfg.category not in store.category_names():
        raise ConfigError(
            f"{cfg.store}: no category {cfg.category!r}; the store has {store.category_names()}"
        )
    store_dir = cfg.out / store.name
    with folder_lock(store_dir, f"pgdata crawl --store {store.name}"):  # one crawl per store folder
        return _crawl_store(cfg, store, store_dir, progress)


def _crawl_store(
    cfg: CrawlConfig,
    store: StoreConfig,
    store_dir: Path,
    progress: Callable[[int], None] | None,
) -> CrawlResult:
    """:func:`run_crawl` with the store folder locked."""
    items_path = store_dir / ITEMS_NAME
    repair_tail(items_path)
    for tmp in (store_dir / "files").glob(".*.tmp"):  # a write cut short by a kill
        tmp.unlink(missing_ok=True)
    done, items_before = _load_done(items_path)

    jobdir = store_dir / f"job-{cfg.category or 'all'}"
    marker = jobdir / RUNNING_MARKER
    recovered = marker.exists() and not cfg.refresh
    if (cfg.refresh or recovered) and jobdir.exists():
        shutil.rmtree(jobdir)
    resumed = jobdir.exists() or items_before > 0
    jobdir.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{os.getpid()}\n", encoding="utf-8")

    settings = crawl_settings(
        store_dir, store.settings_dict(), cfg.politeness.settings(), jobdir=jobdir
    )
    if cfg.max_items:
        settings["CLOSESPIDER_ITEMCOUNT"] = cfg.max_items
    if cfg.max_pages:
        settings["CLOSESPIDER_PAGECOUNT"] = cfg.max_pages
    if cfg.max_minutes:
        settings["CLOSESPIDER_TIMEOUT"] = cfg.max_minutes * 60

    log_path = store_dir / "crawl.log"
    stats, duration, failed = _run_process(cfg, store, settings, done, progress, log_path)
    if failed:
        raise PgdataError(f"the crawl of {store.name} failed to start; see {log_path}")
    report = _report(store, cfg, stats, duration, items_before, resumed, recovered)
    if report.finish_reason == "finished":
        # nothing left in the queue: the next run discovers again (new products) and still
        # skips stored items and files
        shutil.rmtree(jobdir, ignore_errors=True)
    else:
        marker.unlink(missing_ok=True)  # a clean close: the JOBDIR queue is consistent
    report_path = store_dir / REPORT_NAME
    atomic_write_text(report_path, json.dumps(asdict(report), indent=2, sort_keys=True) + "\n")
    problem = None
    if report.finish_reason == "shutdown":
        problem = "interrupted; rerun the same command to resume"
    elif report.finish_reason not in _OK_FINISH:
        problem = f"the crawl ended with {report.finish_reason!r}; see {log_path}"
    elif report.items_total == 0:
        problem = (
            f"no items stored for {store.name}: check the start URLs, product link rule and "
            f"selectors against a product page (see {log_path})"
        )
    return CrawlResult(report, [items_path, report_path], problem)


def _run_process(
    cfg: CrawlConfig,
    store: StoreConfig,
    settings: dict[str, Any],
    done: set[str],
    progress: Callable[[int], None] | None,
    log_path: Path,
) -> tuple[dict[str, Any], float, bool]:
    # Scrapy (and its reactor) only load here, never at import time.
    from scrapy.crawler import AsyncCrawlerProcess

    from pgdata.crawl.spider import StoreSpider

    proc = AsyncCrawlerProcess(settings)  # configures logging: add our file handler after it
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root, ours = logging.getLogger(), logging.getLogger("pgdata")
    old_level = ours.level
    root.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        return _crawl(proc, StoreSpider, cfg, store, done, progress)
    finally:
        root.removeHandler(handler)
        handler.close()
        ours.setLevel(old_level)


def _crawl(
    proc: Any,
    spider_cls: type,
    cfg: CrawlConfig,
    store: StoreConfig,
    done: set[str],
    progress: Callable[[int], None] | None,
) -> tuple[dict[str, Any], float, bool]:
    from scrapy import signals

    crawler = proc.create_crawler(spider_cls)
    if progress is not None:

        def on_item(item: object, response: object, spider: object) -> None:
            progress(1)

        crawler.signals.connect(on_item, signal=signals.item_scraped)
    proc.crawl(crawler, store=store, category=cfg.category, done_urls=frozenset(done))
    t0 = time.perf_counter()
    proc.start()
    duration = time.perf_counter() - t0
    if proc.bootstrap_failed or crawler.stats is None:
        return {}, duration, True
    return dict(crawler.stats.get_stats()), duration, False
