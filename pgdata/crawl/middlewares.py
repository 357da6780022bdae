"""Downloader middleware: waits that Scrapy does not apply by itself.

- ``Crawl-delay`` from robots.txt: raise that host's download-slot delay after robots.txt is
  parsed (Scrapy parses the directive but never applies it);
- ``Retry-After`` on 429/503 (AutoThrottle does not back off on them): raise the slot delay.

Both are capped by ``AUTOTHROTTLE_MAX_DELAY`` and never lower a delay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.http import Request, Response

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["PolitenessMiddleware", "retry_after_seconds"]


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Seconds of a ``Retry-After`` header given in seconds (HTTP dates are ignored)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    try:
        seconds = float(text.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class PolitenessMiddleware:
    """Apply robots.txt ``Crawl-delay`` and ``Retry-After`` to Scrapy's download slots."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_delay = crawler.settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 60.0)
        self.user_agent = crawler.settings.get("USER_AGENT") or ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PolitenessMiddleware:
        mw = cls(crawler)
        crawler.signals.connect(mw.robots_parsed, signal=signals.robots_parsed)
        return mw

    def _raise_delay(self, key: str | None, seconds: float, stat: str) -> None:
        engine = self.crawler.engine
        if key is None or engine is None:
            return
        slot = engine.downloader.slots.get(key)
        if slot is None:
            return
        new = min(seconds, self.max_delay)
        if new > slot.delay:
            slot.delay = new
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value(f"pgdata/{stat}")

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        delay = robotparser.crawl_delay(self.user_agent)
        if delay:
            host = urlsplit(request.url).hostname
            self._raise_delay(
                request.meta.get("download_slot") or host, float(delay), "crawl_delay"
            )

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in (429, 503):
            delay = retry_after_seconds(response.headers.get(b"Retry-After"))
            if delay is not None:
                key = request.meta.get("download_slot") or urlsplit(request.url).hostname
                self._raise_delay(key, delay, "retry_after")
        return response
