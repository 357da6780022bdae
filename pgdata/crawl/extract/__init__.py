"""Product extraction from HTML text: pure functions, no Scrapy objects needed.

Order per field: schema.org ``Product`` in JSON-LD → microdata → RDFa (all three read by
extruct, :mod:`~pgdata.crawl.extract.markup`) → a breadcrumb trail (category only) →
OpenGraph ``og:*`` / ``product:*`` → the store config's CSS/XPath selectors. A store whose pages
carry any schema.org product markup needs no selectors at all.

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
from pgdata.crawl.extract import opengraph, schema
from pgdata.crawl.extract.markup import read_markup
from pgdata.crawl.extract.select import select_all, select_first
from pgdata.crawl.extract.values import absolute_urls, clean_text, parse_price

__all__ = ["SOURCES", "Extracted", "canonical_category", "extract_product", "rewrite_image_url"]

# scalar fields in item order (``images`` is handled apart)
SCALAR_FIELDS: tuple[str, ...] = tuple(f for f in PRODUCT_FIELDS if f != "images")
# where a field can come from, in precedence order ("breadcrumb" for the category only)
SOURCES = ("jsonld", "microdata", "rdfa", "breadcrumb", "opengraph", "selector")
STRUCTURED = ("jsonld", "microdata", "rdfa")


@dataclass(frozen=True)
class Extracted:
    """What one product page gave.

    ``fields`` maps the names in :data:`SCALAR_FIELDS` to values (``price`` a float, the rest
    strings; absent = not found); ``images`` are absolute URLs after the store's rewrites;
    ``sources`` says which extractor gave each field (one of :data:`SOURCES`).
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


def extract_product(
    html: str, url: str, rules: ProductRules | None = None, *, product_url: str | None = None
) -> Extracted | None:
    """Fields of the product on page ``html`` fetched from ``url``.

    The page shows a product when it has a schema.org product (JSON-LD, microdata or RDFa),
    an ``og:type`` of product, a match of the store's ``name`` selector, or, with no
    ``og:type`` at all, an ``og:title`` and an ``og:image`` at a product URL. ``product_url``
    is the store's product-URL pattern (searched in ``url``); ``None`` means the caller only
    passes product pages (the spider does). Returns ``None`` for a page without a product, or
    without a name or an image.
    """
    rules = rules or ProductRules()
    markup = read_markup(html, url)
    structured = {
        "jsonld": schema.products(markup.jsonld),
        "microdata": schema.products(markup.microdata),
        "rdfa": schema.products(markup.rdfa),
    }
    found: list[tuple[str, dict[str, Any]]] = [
        (source, schema.product_fields(nodes[0])) for source, nodes in structured.items() if nodes
    ]
    og = opengraph.og_fields(markup.opengraph)
    found.append(("opengraph", og))
    crumbs: list[str] = []
    for nodes in (markup.jsonld, markup.microdata, markup.rdfa):
        if crumbs := schema.breadcrumbs(nodes):
            break
    sel = Selector(text=html, base_url=url)

    picked: dict[str, Any] = {}
    sources: dict[str, str] = {}
    selector_hit = False
    for name in (*SCALAR_FIELDS, "images"):
        candidates = [(source, values.get(name)) for source, values in found]
        if name == "category" and len(crumbs) > 1:
            # a breadcrumb trail beats OpenGraph's category; the last crumb is often the
            # product itself, so keep the trail without it
            title = clean_text(str(next((v["name"] for _, v in found if v.get("name")), "")))
            trail = crumbs[:-1] if clean_text(crumbs[-1]) == title else crumbs
            candidates.insert(len(found) - 1, ("breadcrumb", " > ".join(trail)))
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

    kind = opengraph.og_type(markup.opengraph)
    titled = kind is None and bool(og.get("name")) and bool(og.get("images"))
    at_product_url = product_url is None or re.search(product_url, url) is not None
    is_product = (
        any(structured.values())
        or opengraph.is_product_type(kind)
        or selector_hit
        or (titled and at_product_url)
    )
    if not is_product:
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
