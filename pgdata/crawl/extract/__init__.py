"""Product extraction from HTML text: pure functions, no Scrapy objects needed.

Order per field: schema.org ``Product`` JSON-LD → OpenGraph / meta tags → the store config's
CSS/XPath selectors. A store whose pages carry JSON-LD needs no selectors at all.

>>> page = '<script type="application/ld+json">{"@type": "Product", "name": "Tee", '
>>> page += '"image": "/t.jpg"}</script>'
>>> p = extract_product(page, "https://shop.example/p/1")
>>> p.fields["name"], p.images, p.sources["name"]
('Tee', ('https://shop.example/t.jpg',), 'jsonld')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from parsel import Selector

from pgdata.crawl.config import PRODUCT_FIELDS, ProductRules
from pgdata.crawl.extract import jsonld, opengraph
from pgdata.crawl.extract.select import select_all, select_first
from pgdata.crawl.extract.values import absolute_urls, clean_text, parse_price

__all__ = ["Extracted", "canonical_category", "extract_product", "rewrite_image_url"]

# scalar fields in item order (``images`` is handled apart)
SCALAR_FIELDS: tuple[str, ...] = tuple(f for f in PRODUCT_FIELDS if f != "images")


@dataclass(frozen=True)
class Extracted:
    """What one product page gave.

    ``fields`` maps the names in :data:`SCALAR_FIELDS` to values (``price`` a float, the rest
    strings; absent = not found); ``images`` are absolute URLs after the store's rewrites;
    ``sources`` says which extractor gave each field (``jsonld``, ``opengraph``, ``breadcrumb``,
    ``selector``).
    """

    fields: dict[str, Any]
    images: tuple[str, ...]
    sources: dict[str, str]
    breadcrumbs: tuple[str, ...] = field(default=())


def rewrite_image_url(url: str, rewrites: tuple[tuple[str, str], ...]) -> str:
    """Apply the store's ``(regex, replacement)`` rewrites (e.g. to the largest CDN variant)."""
    for pat, rep in rewrites:
        url = re.sub(pat, rep, url)
    return url


def extract_product(html: str, url: str, rules: ProductRules | None = None) -> Extracted | None:
    """Fields of the product on page ``html`` fetched from ``url``.

    Returns ``None`` when the page shows no product: no JSON-LD product, ``og:type`` is not a
    product and no store ``name`` selector matched, or no name or no image was found.
    """
    rules = rules or ProductRules()
    sel = Selector(text=html, base_url=url)
    blocks = jsonld.jsonld_blocks(sel)
    nodes = jsonld.products(blocks)
    ld = jsonld.product_fields(nodes[0]) if nodes else {}
    meta = opengraph.meta_fields(sel)
    crumbs = jsonld.breadcrumbs(blocks)

    picked: dict[str, Any] = {}
    sources: dict[str, str] = {}
    selector_hit = False
    for name in (*SCALAR_FIELDS, "images"):
        candidates: list[tuple[str, Any]] = [
            ("jsonld", ld.get(name)),
            ("opengraph", meta.get(name)),
        ]
        if name == "category" and len(crumbs) > 1:
            # a breadcrumb trail beats the generic og/meta category; the last crumb is often
            # the product itself, so keep the trail without it
            title = clean_text(str(ld.get("name", meta.get("name", ""))))
            trail = crumbs[:-1] if clean_text(crumbs[-1]) == title else crumbs
            candidates.insert(1, ("breadcrumb", " > ".join(trail)))
        if (css := rules.selector(name)) is not None:
            value: Any
            if name == "images":
                value = select_all(sel, css)
            elif name == "price":
                text = select_first(sel, css)
                value = parse_price(text) if text else None
            else:
                value = select_first(sel, css)
            candidates.append(("selector", value))
            if name == "name" and value:
                selector_hit = True
        for source, value in candidates:
            if value is not None and value != [] and value != "":
                picked[name] = value
                sources[name] = source
                break

    if not (nodes or opengraph.is_product_page(sel) or selector_hit):
        return None
    images = absolute_urls(
        [rewrite_image_url(u, rules.image_url_rewrite) for u in picked.pop("images", [])], url
    )
    if not picked.get("name") or not images:
        return None
    for name in ("name", "brand", "category", "color", "description", "product_id", "currency"):
        if isinstance(picked.get(name), str):
            picked[name] = clean_text(picked[name])
    return Extracted(picked, tuple(images), sources, tuple(crumbs))


def canonical_category(raw: str | None, category_map: tuple[tuple[str, str], ...]) -> str | None:
    """Map raw category text with the store's ``[category_map]``: the longest key contained in
    the text (case-insensitive) wins; ``None`` when nothing matches."""
    if not raw:
        return None
    text = raw.lower()
    for key, value in sorted(category_map, key=lambda kv: -len(kv[0])):
        if key in text:
            return value
    return None
