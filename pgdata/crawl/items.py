"""The crawled product record (one line of ``DIR/<store>/items.jsonl``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["GarmentItem", "StoredImage"]


@dataclass
class StoredImage:
    """One downloaded image: ``path`` is relative to ``DIR/<store>/`` and named by a hash."""

    url: str
    path: str
    sha256: str
    width: int
    height: int
    bytes: int
    content_type: str | None = None
    mode: str | None = None  # PIL mode: RGBA/LA/P+transparency images carry a free cloth mask


@dataclass
class GarmentItem:
    """A product page's fields; ``image_urls`` feeds the files pipeline, ``images`` its results.

    ``field_sources`` says where each field came from: ``jsonld``, ``microdata``, ``rdfa``,
    ``breadcrumb``, ``opengraph``, ``selector`` or ``listing`` (the crawl category).
    """

    store: str
    url: str
    crawl_category: str
    product_id: str | None = None
    name: str | None = None
    brand: str | None = None
    category: str | None = None
    raw_category: str | None = None
    price: float | None = None
    currency: str | None = None
    color: str | None = None
    description: str | None = None
    image_urls: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    field_sources: dict[str, str] = field(default_factory=dict)
    source_url: str | None = None  # the link followed, when redirects changed ``url``
    crawled_at: str | None = None
