"""Downloader middleware: honour ``Retry-After`` (AutoThrottle ignores it on 429/503)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.http import Request, Response

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["RetryAfterMiddleware", "retry_after_seconds"]


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


class RetryAfterMiddleware:
    """On a 429/503 with ``Retry-After``, raise that download slot's delay (capped by
    ``AUTOTHROTTLE_MAX_DELAY``) so the retry and later requests wait."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_delay = crawler.settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 60.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in (429, 503):
            delay = retry_after_seconds(response.headers.get(b"Retry-After"))
            engine = self.crawler.engine
            key = request.meta.get("download_slot")
            if delay is not None and engine is not None and key is not None:
                slot = engine.downloader.slots.get(key)
                if slot is not None:
                    slot.delay = max(slot.delay, min(delay, self.max_delay))
                    assert self.crawler.stats is not None
                    self.crawler.stats.inc_value("pgdata/retry_after")
        return response
