"""OpenGraph ``og:*`` / ``product:*`` properties (as read by extruct) → pgdata fields (pure)."""

from __future__ import annotations

from typing import Any

from pgdata.crawl.extract.values import clean_text, parse_price

__all__ = ["is_product_type", "og_fields", "og_type"]

# (pgdata field, OpenGraph properties, first present wins)
_OG: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("product_id", ("product:retailer_item_id", "product:sku")),
    ("name", ("og:title",)),
    ("brand", ("product:brand", "og:brand")),
    ("category", ("product:category",)),
    ("price", ("product:price:amount", "og:price:amount", "product:sale_price:amount")),
    ("currency", ("product:price:currency", "og:price:currency")),
    ("color", ("product:color",)),
    ("description", ("og:description",)),
)
_IMAGES = ("og:image", "og:image:url", "og:image:secure_url")


def _values(og: dict[str, Any], key: str) -> list[str]:
    v = og.get(key)
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [x for x in v if isinstance(x, str)]
    return []


def og_fields(og: dict[str, Any]) -> dict[str, Any]:
    """Fields from OpenGraph properties (missing ones left out); ``images`` = every og image."""
    out: dict[str, Any] = {}
    for name, keys in _OG:
        for key in keys:
            text = next((t for t in map(clean_text, _values(og, key)) if t), None)
            if text is None:
                continue
            if name == "price":
                price = parse_price(text)
                if price is None:
                    continue
                out[name] = price
            else:
                out[name] = text
            break
    images = [u for key in _IMAGES for u in _values(og, key)]
    if images:
        out["images"] = images
    return out


def og_type(og: dict[str, Any]) -> str | None:
    """``og:type`` in lower case, ``None`` when the page does not declare one."""
    t = og.get("@type")
    if isinstance(t, list):
        t = next((x for x in t if isinstance(x, str) and x.strip()), None)
    return t.strip().lower() if isinstance(t, str) and t.strip() else None


def is_product_type(kind: str | None) -> bool:
    """``og:type`` names a product (``product``, ``product.item``, ``og:product``)."""
    return kind is not None and kind.startswith(("product", "og:product"))
