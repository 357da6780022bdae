"""Item pipelines: validate, store original image bytes, append ``items.jsonl``.

Order (``settings.py``): :class:`ValidatePipeline` (100) → :class:`GarmentFilesPipeline` (200)
→ :class:`ItemsJsonlPipeline` (300). No image processing here (it would block the event loop
and tie the crawl to one processing setting): masks, dedup and resizing are ``pgdata garments``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from itemadapter import ItemAdapter
from PIL import Image
from scrapy.exceptions import DropItem
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FilesPipeline

from pgdata.crawl.items import GarmentItem, StoredImage
from pgdata.crawl.spider import StoreSpider, error_kind, host_allowed
from pgdata.io.atomic import atomic_write_bytes
from pgdata.io.items_jsonl import ITEMS_NAME, repair_tail

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.pipelines.media import MediaPipeline
    from twisted.python.failure import Failure

__all__ = [
    "GarmentFilesPipeline",
    "ItemsJsonlPipeline",
    "ValidatePipeline",
    "media_path",
    "probe_image",
]

logger = logging.getLogger(__name__)

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".bmp", ".tif", ".tiff"}
# content types accepted besides image/* (some CDNs send these for images)
_GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream", ""}
_REJECTED = "rejected:"


def _spider(crawler: Crawler) -> StoreSpider:
    spider = crawler.spider
    if not isinstance(spider, StoreSpider):  # pragma: no cover - wiring error
        raise TypeError("pgdata pipelines need pgdata.crawl.spider.StoreSpider")
    return spider


def _inc(crawler: Crawler, key: str, n: int = 1) -> None:
    assert crawler.stats is not None
    crawler.stats.inc_value(f"pgdata/{key}", n)


def _drop(crawler: Crawler, reason: str) -> DropItem:
    _inc(crawler, f"dropped/{reason}")
    return DropItem(reason)


def media_path(url: str) -> str:
    """``files/<sha1(url)>.<ext>``: the stored name of an image URL; the extension is kept only
    when it is a known image type (``.img`` otherwise), nothing else comes from the URL."""
    guid = hashlib.sha1(url.encode("utf-8")).hexdigest()  # noqa: S324 - a name, not security
    ext = PurePosixPath(urlsplit(url).path).suffix.lower()
    return f"files/{guid}{ext if ext in IMAGE_EXTS else '.img'}"


def probe_image(data: bytes) -> tuple[int, int, str, str]:
    """``(width, height, PIL format, PIL mode)`` from the image header.

    Raises:
        ValueError: not an image PIL can identify (corrupt, HTML, truncated header).
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.width, im.height, str(im.format), im.mode
    except (OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise ValueError(str(e) or type(e).__name__) from None


class ValidatePipeline:
    """Pre-media checks: a name, a URL, image URLs on allowed hosts, not already stored."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: GarmentItem, spider: object = None) -> GarmentItem:
        sp = _spider(self.crawler)
        missing = [k for k in ("name", "url") if not getattr(item, k)]
        if missing:
            logger.warning("dropped %s: missing %s", item.url, ", ".join(missing))
            raise _drop(self.crawler, "missing_fields")
        hosts = sp.allowed_domains
        kept = [u for u in item.image_urls if host_allowed(u, hosts)]
        if len(kept) < len(item.image_urls):
            _inc(self.crawler, "images/offsite_host", len(item.image_urls) - len(kept))
            logger.warning(
                "%s: %d image URL(s) on hosts not in allowed_domains/media_domains skipped",
                item.url,
                len(item.image_urls) - len(kept),
            )
        if not kept:
            raise _drop(self.crawler, "no_image_urls")
        item.image_urls = kept
        return item


class GarmentFilesPipeline(FilesPipeline):
    """``FilesPipeline`` keeping the original bytes (PNG alpha survives) under hashed names.

    Files go to ``files/<sha1(url)>.<ext>`` below the store folder (never a name from the URL),
    written atomically, so a file that exists is complete and is never downloaded again
    (``FILES_EXPIRES`` is set very high). Responses that are not images (content type, or
    PIL cannot read the header) fail with a counted reason.
    """

    def __init__(self, store_uri: str, *, crawler: Crawler) -> None:
        super().__init__(store_uri, crawler=crawler)
        self.basedir = Path(store_uri)
        self._probed: dict[str, StoredImage] = {}
        self._failed: dict[str, str] = {}  # URL -> why its download failed

    def media_failed(
        self, failure: Failure, request: Request, info: MediaPipeline.SpiderInfo
    ) -> NoReturn:
        # Scrapy replaces the failure by a bare FileException: keep its kind for the report
        self._failed[request.url] = error_kind(failure)
        super().media_failed(failure, request, info)
        raise AssertionError("unreachable")  # pragma: no cover - super() always raises

    async def media_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> Any:
        if response.status != 200:
            self._failed[request.url] = f"http_{response.status}"
        return await super().media_downloaded(response, request, info, item=item)

    def get_media_requests(self, item: Any, info: MediaPipeline.SpiderInfo) -> list[Request]:
        urls = ItemAdapter(item).get(self.files_urls_field) or []
        return [Request(u, callback=NO_CALLBACK) for u in urls]

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: MediaPipeline.SpiderInfo | None = None,
        *,
        item: Any = None,
    ) -> str:
        return media_path(request.url)

    def file_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> str:
        """Check and store one response; returns its sha256, or ``rejected:<reason>``.

        Rejections are returned rather than raised: Scrapy turns a raised ``FileException``
        into a bare failure (the reason is lost) and logs two tracebacks per image.
        """
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        ctype = ctype.split(";")[0].strip().lower()
        if not (ctype.startswith("image/") or ctype in _GENERIC_TYPES):
            return self._reject(request, "not_image_content_type", ctype)
        body = response.body
        try:
            width, height, _fmt, mode = probe_image(body)
        except ValueError as e:
            return self._reject(request, "broken_image", str(e))
        path = self.file_path(request, response=response, info=info, item=item)
        atomic_write_bytes(self.basedir / path, body)
        sha = hashlib.sha256(body).hexdigest()
        self._probed[path] = StoredImage(
            url=request.url,
            path=path,
            sha256=sha,
            width=width,
            height=height,
            bytes=len(body),
            content_type=ctype or None,
            mode=mode,
        )
        _inc(self.crawler, "images/stored")
        _inc(self.crawler, "images/bytes", len(body))
        return sha

    def _reject(self, request: Request, reason: str, detail: str) -> str:
        logger.warning("image %s rejected: %s (%s)", request.url, reason, detail[:80])
        return f"{_REJECTED}{reason}"

    def _describe(self, url: str, path: str) -> StoredImage | None:
        if path in self._probed:
            return self._probed[path]
        # stored by an earlier run (status "uptodate"): describe it from the file
        try:
            data = (self.basedir / path).read_bytes()
            width, height, _fmt, mode = probe_image(data)
        except (OSError, ValueError):
            return None
        img = StoredImage(
            url=url,
            path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            width=width,
            height=height,
            bytes=len(data),
            content_type=None,
            mode=mode,
        )
        self._probed[path] = img
        return img

    def item_completed(self, results: list[Any], item: Any, info: MediaPipeline.SpiderInfo) -> Any:
        images = []
        urls = ItemAdapter(item).get(self.files_urls_field) or []
        for url, (ok, value) in zip(urls, results, strict=False):
            if ok and str(value.get("checksum") or "").startswith(_REJECTED):
                kind = str(value["checksum"])[len(_REJECTED) :]
            elif ok:
                img = self._describe(value["url"], value["path"])
                if img is not None:
                    images.append(asdict(img))
                    continue
                kind = "unreadable_stored_file"
            else:
                kind = self._failed.get(url, "download_failed")
            _inc(self.crawler, f"errors/image_{kind}")
        ItemAdapter(item)[self.files_result_field] = images
        return item


class ItemsJsonlPipeline:
    """Append one JSON line per product with at least one stored image; skip products
    already in the file (resume)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path = Path(crawler.settings["FILES_STORE"]) / ITEMS_NAME
        self.file: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ItemsJsonlPipeline:
        return cls(crawler)

    def open_spider(self, spider: object = None) -> None:
        cut = repair_tail(self.path)
        if cut:
            logger.warning("%s: removed a partial last line (%d bytes)", self.path, cut)
        self.file = self.path.open("a", encoding="utf-8")

    def close_spider(self, spider: object = None) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def process_item(self, item: GarmentItem, spider: object = None) -> GarmentItem:
        sp = _spider(self.crawler)
        if not item.images:
            logger.warning("dropped %s: no image could be stored", item.url)
            raise _drop(self.crawler, "no_image_stored")
        keys = {item.url} | ({item.source_url} if item.source_url else set())
        if keys & sp.done_urls:
            raise _drop(self.crawler, "already_stored")
        assert self.file is not None
        self.file.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
        self.file.flush()
        sp.done_urls |= keys
        _inc(self.crawler, "items/written")
        return item
