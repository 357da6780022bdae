"""Scrapy settings: polite defaults, then the store's ``[settings]``, then command-line flags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgdata import __version__

__all__ = ["POLITE_DEFAULTS", "USER_AGENT", "Politeness", "crawl_settings"]

MB = 1024 * 1024  # Scrapy's size settings are in bytes

USER_AGENT = f"pgdata/{__version__} (+garment dataset crawler; set a contact with --user-agent)"

# Every value here can be overridden by a store file's [settings] or a `pgdata crawl` flag.
POLITE_DEFAULTS: dict[str, Any] = {
    "ROBOTSTXT_OBEY": True,
    "USER_AGENT": USER_AGENT,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    "DOWNLOAD_DELAY": 1.0,
    "DOWNLOAD_DELAY_JITTER": 0.5,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    "RETRY_TIMES": 2,
    "DOWNLOAD_TIMEOUT": 30.0,
    "DOWNLOAD_MAXSIZE": 50 * MB,
    "DOWNLOAD_WARNSIZE": 10 * MB,
    "DEPTH_LIMIT": 100,  # each listing page is one level deeper: leave room for pagination
    "MEDIA_ALLOW_REDIRECTS": True,
    "REDIRECT_MAX_TIMES": 5,
}

# Not user-facing: how pgdata wires Scrapy.
_FIXED: dict[str, Any] = {
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,  # Scrapy 2.19's code-executing HTTP control server
    "LOG_LEVEL": "WARNING",
    "LOG_INSTALL_ROOT_HANDLER": False,
    "DEFAULT_DROPITEM_LOG_LEVEL": "INFO",  # pgdata's pipelines log one line per drop
    "FEED_EXPORT_ENCODING": "utf-8",
    "FILES_URLS_FIELD": "image_urls",
    "FILES_RESULT_FIELD": "images",
    "FILES_EXPIRES": 36500,  # a stored file is never fetched again (resume, reruns)
    "ITEM_PIPELINES": {
        "pgdata.crawl.pipelines.ValidatePipeline": 100,
        "pgdata.crawl.pipelines.GarmentFilesPipeline": 200,
        "pgdata.crawl.pipelines.ItemsJsonlPipeline": 300,
    },
    "DOWNLOADER_MIDDLEWARES": {
        "pgdata.crawl.middlewares.PolitenessMiddleware": 560,
    },
    "SPIDER_MIDDLEWARES": {},
    "HTTPERROR_ALLOW_ALL": False,
    "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
}


@dataclass(frozen=True)
class Politeness:
    """The politeness flags of ``pgdata crawl``; None keeps the store's or the default value."""

    user_agent: str | None = None
    delay: float | None = None  # seconds between requests to one domain
    per_domain: int | None = None  # concurrent requests per domain
    concurrency: int | None = None  # concurrent requests overall
    autothrottle: bool | None = None
    timeout: float | None = None  # seconds per request
    retries: int | None = None
    max_file_mb: float | None = None  # larger responses are refused (warned at half)

    def settings(self) -> dict[str, Any]:
        """The Scrapy settings these flags set (only the ones given)."""
        named = {
            "USER_AGENT": self.user_agent,
            "DOWNLOAD_DELAY": self.delay,
            "CONCURRENT_REQUESTS_PER_DOMAIN": self.per_domain,
            "CONCURRENT_REQUESTS": self.concurrency,
            "AUTOTHROTTLE_ENABLED": self.autothrottle,
            "DOWNLOAD_TIMEOUT": self.timeout,
            "RETRY_TIMES": self.retries,
        }
        out: dict[str, Any] = {k: v for k, v in named.items() if v is not None}
        if self.max_file_mb is not None:
            max_size = int(self.max_file_mb * MB)
            out["DOWNLOAD_MAXSIZE"] = max_size
            out["DOWNLOAD_WARNSIZE"] = max_size // 2
        return out


def crawl_settings(
    store_dir: Path,
    store_settings: dict[str, Any],
    overrides: dict[str, Any],
    *,
    jobdir: Path | None,
) -> dict[str, Any]:
    """The settings dict of one store's crawl (later sources win)."""
    out = {**POLITE_DEFAULTS, **store_settings, **overrides, **_FIXED}
    out["FILES_STORE"] = str(store_dir)
    if jobdir is not None:
        out["JOBDIR"] = str(jobdir)
    return out
