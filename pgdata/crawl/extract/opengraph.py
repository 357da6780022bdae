"""OpenGraph and ``product:*`` / ``itemprop`` meta tags (pure)."""

from __future__ import annotations

from typing import Any

from parsel import Selector

from pgdata.crawl.extract.values import clean_text, parse_price

__all__ = ["is_product_page", "meta_fields"]

# (pgdata field, meta property/name/itemprop names, first match wins)
_META: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("product_id", ("product:retailer_item_id", "product:sku", "sku", "productID")),
    ("name", ("og:title", "twitter:title")),
    ("brand", ("product:brand", "og:brand", "brand")),
    ("category", ("product:category", "category")),
    ("price", ("product:price:amount", "og:price:amount", "price")),
    ("currency", ("product:price:currency", "og:price:currency", "priceCurrency")),
    ("color", ("product:color", "color")),
    ("description", ("og:description", "description")),
)


def _metas(sel: Selector) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in sel.xpath("//meta[@content]"):
        key = m.attrib.get("property") or m.attrib.get("name") or m.attrib.get("itemprop")
        if key:
            out.setdefault(key.strip().lower(), []).append(m.attrib["content"])
    return out


def meta_fields(sel: Selector) -> dict[str, Any]:
    """Fields from meta tags (missing ones left out); ``images`` = every ``og:image``."""
    metas = _metas(sel)
    out: dict[str, Any] = {}
    for field, names in _META:
        for name in names:
            values = metas.get(name.lower())
            if not values:
                continue
            text = clean_text(values[0])
            if text is None:
                continue
            if field == "price":
                price = parse_price(text)
                if price is None:
                    continue
                out[field] = price
            else:
                out[field] = text
            break
    images = metas.get("og:image", []) + metas.get("og:image:secure_url", [])
    images += metas.get("og:image:url", []) + metas.get("twitter:image", [])
    if images:
        out["images"] = images
    return out


def is_product_page(sel: Selector) -> bool:
    """``og:type`` says product (``product``, ``og:product``, ``product.item``)."""
    kinds = [k.strip().lower() for k in _metas(sel).get("og:type", [])]
    return any(k.startswith(("product", "og:product")) for k in kinds)
