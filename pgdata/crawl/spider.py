"""The one generic spider: a :class:`~pgdata.crawl.config.StoreConfig` says where to go.

Listing pages (start URLs per category) give product links (store selector and/or the
``product_url`` pattern) and further listing pages (``next_page``, ``category_links``);
sitemaps (or a robots.txt naming them) give product URLs directly. Product pages go through
the pure :func:`pgdata.crawl.extract.extract_product`.

Resumable: callbacks are spider methods and ``cb_kwargs`` hold strings only, so requests pickle
into Scrapy's ``JOBDIR``; products already in ``items.jsonl`` (``done_urls``) are not requested
again. Every failure goes through :meth:`StoreSpider.on_error` and is counted by type in the
``pgdata/errors/<kind>`` stats.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx
from twisted.python.failure import Failure
from twisted.web.client import ResponseNeverReceived
from w3lib.url import add_or_replace_parameter, url_query_cleaner, url_query_parameter

from pgdata.crawl.config import StoreConfig
from pgdata.crawl.extract import canonical_category, extract_product
from pgdata.crawl.extract.select import select_all
from pgdata.crawl.extract.values import absolute_urls
from pgdata.crawl.items import GarmentItem

__all__ = ["StoreSpider", "error_kind", "host_allowed", "next_page_url"]

logger = logging.getLogger(__name__)


def host_allowed(url: str, domains: Iterable[str]) -> bool:
    """True when ``url``'s host is one of ``domains`` or a subdomain of one."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def next_page_url(url: str, param: str) -> str:
    """``url`` with the integer query parameter ``param`` increased by one (missing = page 1).

    >>> next_page_url("https://s.example/c?x=1&page=3", "page")
    'https://s.example/c?x=1&page=4'
    """
    current = url_query_parameter(url, param)
    try:
        page = int(current) if current is not None else 1
    except ValueError:
        page = 1
    return add_or_replace_parameter(url, param, str(page + 1))


def error_kind(failure: Failure) -> str:
    """A short, stable name for a request failure: ``http_500``, ``timeout``, ``dns``, ...."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, DownloadTimeoutError | tx.TimeoutError | tx.TCPTimedOutError):
        return "timeout"
    if isinstance(exc, CannotResolveHostError | tx.DNSLookupError):
        return "dns"
    if isinstance(exc, DownloadConnectionRefusedError | tx.ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, DownloadCancelledError):
        return "too_large" if "max size" in str(exc).lower() else "cancelled"
    if isinstance(
        exc,
        ResponseDataLossError | tx.ConnectionLost | ResponseNeverReceived | tx.ConnectionDone,
    ):
        return "connection_lost"
    if isinstance(exc, IgnoreRequest):
        text = str(exc).lower()
        if "robots" in text:
            return "robots_forbidden"
        if "redirect" in text:
            return "redirect_loop"
        return "ignored"
    name = type(exc).__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class StoreSpider(scrapy.Spider):
    """Crawl one store; ``store`` is a validated config, ``done_urls`` products already stored."""

    name = "pgdata_store"

    def __init__(
        self,
        store: StoreConfig,
        category: str | None = None,
        done_urls: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(name=store.name, **kwargs)
        self.store = store
        self.category = category
        self.done_urls: set[str] = set(done_urls)  # grows as items are written
        # pages on the store's domains; images also on the listed media hosts
        self.page_domains = store.allowed_domains
        self.allowed_domains = list(store.allowed_domains + store.media_domains)
        self.product_re = re.compile(store.product_url) if store.product_url else None

    # ----------------------------------------------------------------------------- requests

    async def start(self) -> AsyncIterator[Any]:
        for category, url in self.store.start_urls(self.category):
            callback = self.parse_sitemap if category == "sitemap" else self.parse_listing
            yield Request(
                url, callback=callback, errback=self.on_error, cb_kwargs={"category": category}
            )

    def _inc(self, key: str, n: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"pgdata/{key}", n)

    def _product_request(self, url: str, category: str) -> Request | None:
        url = url.split("#", 1)[0]
        if self.store.listing.drop_params:
            url = url_query_cleaner(url, self.store.listing.drop_params, remove=True)
        if not host_allowed(url, self.page_domains):
            self._inc("links/offsite")
            return None
        if url in self.done_urls:
            self._inc("links/already_stored")
            return None
        return Request(
            url,
            callback=self.parse_product,
            errback=self.on_error,
            cb_kwargs={"category": category},
        )

    def _listing_request(self, url: str, category: str) -> Request | None:
        if not host_allowed(url, self.page_domains):
            self._inc("links/offsite")
            return None
        return Request(
            url,
            callback=self.parse_listing,
            errback=self.on_error,
            cb_kwargs={"category": category},
        )

    # ---------------------------------------------------------------------------- callbacks

    def parse_listing(self, response: Response, category: str) -> Iterator[Request]:
        """A category page: product links, next page, sub-category links."""
        self._inc("pages/listing")
        if not isinstance(response, TextResponse):
            self._inc("pages/not_html")
            return
        rules = self.store.listing
        hrefs: list[str] = []
        if rules.product_links:
            hrefs += select_all(response.selector, rules.product_links)
        if self.product_re is not None:
            hrefs += [
                h
                for h in absolute_urls(response.css("a::attr(href)").getall(), response.url)
                if self.product_re.search(h)
            ]
        products = absolute_urls(hrefs, response.url)
        for url in products:
            if (req := self._product_request(url, category)) is not None:
                yield req
        more: list[str] = []
        for selector in (rules.next_page, rules.category_links):
            if selector:
                more += select_all(response.selector, selector)
        if rules.page_param and products and not (rules.next_page and more):
            more.append(next_page_url(response.url, rules.page_param))
        for url in absolute_urls(more, response.url):
            if (req := self._listing_request(url, category)) is not None:
                yield req
        if not products and not more:
            self._inc("pages/empty_listing")

    def parse_sitemap(self, response: Response, category: str) -> Iterator[Request]:
        """A robots.txt with ``Sitemap:`` lines, a sitemap index or a URL set."""
        from scrapy.utils.gz import gunzip
        from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

        self._inc("pages/sitemap")
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.text, base_url=response.url):
                if (req := self._sitemap_request(url, category)) is not None:
                    yield req
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":
            body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            sitemap = Sitemap(body)
        except Exception:  # noqa: BLE001 - lxml raises several types on junk
            self._inc("errors/bad_sitemap")
            logger.warning("not a sitemap: %s", response.url)
            return
        for entry in sitemap:
            loc = entry.get("loc", "")
            if sitemap.type == "sitemapindex":
                req = self._sitemap_request(loc, category)
            elif self.product_re is None or self.product_re.search(loc):
                req = self._product_request(loc, category)
            else:
                req = None
            if req is not None:
                yield req

    def _sitemap_request(self, url: str, category: str) -> Request | None:
        if not host_allowed(url, self.page_domains):
            self._inc("links/offsite")
            return None
        return Request(
            url,
            callback=self.parse_sitemap,
            errback=self.on_error,
            cb_kwargs={"category": category},
        )

    def parse_product(self, response: Response, category: str) -> Iterator[GarmentItem]:
        """A product page: one :class:`GarmentItem`, or a ``pages/no_product`` count."""
        self._inc("pages/product")
        if not isinstance(response, TextResponse):
            self._inc("pages/not_html")
            return
        found = extract_product(response.text, response.url, self.store.product)
        if found is None:
            self._inc("pages/no_product")
            logger.warning("no product found on %s", response.url)
            return
        f = found.fields
        for field, source in found.sources.items():
            self._inc(f"field_source/{field}/{source}")
        raw = f.get("category")
        sources = dict(found.sources)
        listing = category if category not in ("all", "sitemap") else None
        canonical = canonical_category(raw, self.store.category_map)
        if canonical is None and listing is not None:
            canonical = canonical_category(listing, self.store.category_map)
            if canonical is not None or raw is None:
                canonical = canonical or listing
                sources["category"] = "listing"
        redirects = response.meta.get("redirect_urls") or []
        yield GarmentItem(
            store=self.store.name,
            url=response.url,
            crawl_category=category,
            product_id=f.get("product_id"),
            name=f.get("name"),
            brand=f.get("brand"),
            category=canonical if canonical is not None else raw,
            raw_category=raw,
            price=f.get("price"),
            currency=f.get("currency"),
            color=f.get("color"),
            description=f.get("description"),
            image_urls=list(found.images),
            field_sources=sources,
            source_url=redirects[0] if redirects else None,
            crawled_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def on_error(self, failure: Failure) -> None:
        """Count and log a failed page request; the crawl goes on."""
        kind = error_kind(failure)
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        self._inc(f"errors/{kind}")
        log = logger.info if kind == "robots_forbidden" else logger.warning
        log("%s: %s", kind, url)
