"""``pgdata demo-shop``: the offline demo shop, its store config and (optionally) its crawl.

The shop (:mod:`pgdata.crawl.demo_shop`) is served on 127.0.0.1 on a free port (or ``port``),
and the bundled ``crawlers/fixture_shop.toml`` is written to ``out/fixture_shop.toml`` with its
hosts pointed at it, so ``pgdata crawl --store OUT/fixture_shop.toml`` crawls it like any store.
:func:`crawl_demo_shop` does that crawl in this process into ``out/crawl/`` with politeness off
(it is our own loopback server): a full crawl stores 6 products and 7 images, from which
``pgdata garments OUT/crawl`` keeps 5 garments and builds their shards.

The shop has broken pages on purpose (a 500, a 404, an endless redirect, a page without a
product, a broken image, an image URL that answers HTML, a page behind robots.txt), so the
crawl report shows how each is counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pgdata.config import resolve_bundled
from pgdata.crawl.demo_shop import STORE_NAME, Shop, make_shop, serve
from pgdata.crawl.settings import Politeness
from pgdata.errors import ConfigError, PgdataError
from pgdata.jobs.garments.crawl import CrawlConfig, CrawlResult, run_crawl

__all__ = ["DEMO_POLITENESS", "DemoShop", "DemoShopConfig", "crawl_demo_shop", "open_demo_shop"]

# our own loopback server: no delay, no throttling, a short timeout, no retries of the 500 page
DEMO_POLITENESS = Politeness(
    delay=0.0, autothrottle=False, per_domain=8, concurrency=16, timeout=5.0, retries=0
)
SLOW_PAGE_S = 0.5  # how long the shop's deliberately slow page takes (under the timeout)
CRAWL_FOLDER = "crawl"  # below out: what `pgdata crawl --out` would write


@dataclass(frozen=True)
class DemoShopConfig:
    """Options of ``pgdata demo-shop``."""

    out: Path
    port: int = 0  # 0: a free port

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0 (any free port) or 1..65535, got {self.port}")


@dataclass(frozen=True)
class DemoShop:
    """A running demo shop: its address and the store config that crawls it."""

    shop: Shop
    store: Path  # out/fixture_shop.toml

    @property
    def url(self) -> str:
        """The shop's front page address (``http://127.0.0.1:PORT``)."""
        return self.shop.page_base


@contextmanager
def open_demo_shop(cfg: DemoShopConfig) -> Iterator[DemoShop]:
    """Serve the demo shop while the ``with`` block runs; its store config is written first.

    Raises:
        PgdataError: the port cannot be bound (taken, or not allowed).
    """
    template = resolve_bundled("crawlers", STORE_NAME)
    with ExitStack() as stack:
        try:
            shop = stack.enter_context(serve(make_shop(slow_s=SLOW_PAGE_S), port=cfg.port))
        except OSError as e:
            raise PgdataError(
                f"cannot serve the demo shop on 127.0.0.1:{cfg.port} ({e.strerror or e}): "
                "give another --port, or 0 for any free one"
            ) from None
        cfg.out.mkdir(parents=True, exist_ok=True)
        yield DemoShop(shop, shop.store_toml(cfg.out / f"{STORE_NAME}.toml", template))


def crawl_demo_shop(
    cfg: DemoShopConfig, running: DemoShop, progress: Callable[[int], None] | None = None
) -> CrawlResult:
    """Crawl the running demo shop into ``cfg.out/crawl/`` (once per process: see
    :func:`pgdata.jobs.garments.crawl.run_crawl`)."""
    crawl = CrawlConfig(store=running.store, out=cfg.out / CRAWL_FOLDER, politeness=DEMO_POLITENESS)
    return run_crawl(crawl, progress=progress)
