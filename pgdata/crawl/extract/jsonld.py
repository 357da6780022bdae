"""schema.org ``Product`` / ``ProductGroup`` from JSON-LD ``<script>`` blocks (pure)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

from parsel import Selector

from pgdata.crawl.extract.values import parse_price

__all__ = ["breadcrumbs", "jsonld_blocks", "product_fields", "products"]

_PRODUCT_TYPES = {"Product", "ProductGroup", "IndividualProduct", "ProductModel"}
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def jsonld_blocks(sel: Selector) -> list[Any]:
    """Every parseable JSON-LD block of the page; tolerates trailing commas and HTML entities."""
    out = []
    for text in sel.xpath('//script[@type="application/ld+json"]/text()').getall():
        text = text.strip()
        if not text:
            continue
        for attempt in (text, _TRAILING_COMMA.sub(r"\1", html.unescape(text))):
            try:
                out.append(json.loads(attempt, strict=False))
                break
            except json.JSONDecodeError:
                continue
    return out


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for v in node:
            yield from _walk(v)
    elif isinstance(node, dict):
        yield node
        if "@graph" in node:
            yield from _walk(node["@graph"])


def _types(node: dict[str, Any]) -> set[str]:
    t = node.get("@type", ())
    names = [t] if isinstance(t, str) else t if isinstance(t, list) else []
    return {str(n).rsplit("/", 1)[-1] for n in names}


def products(blocks: list[Any]) -> list[dict[str, Any]]:
    """Product-like nodes, outermost first."""
    return [n for n in _walk(blocks) if _types(n) & _PRODUCT_TYPES]


def breadcrumbs(blocks: list[Any]) -> list[str]:
    """Names of the first ``BreadcrumbList`` (root first), without the last entry when it is
    the product itself."""
    for node in _walk(blocks):
        if "BreadcrumbList" in _types(node):
            items = node.get("itemListElement") or []
            if not isinstance(items, list):
                continue
            ranked = sorted(
                (i for i in items if isinstance(i, dict)),
                key=lambda i: _num(i.get("position")) or 0.0,
            )
            names = []
            for i in ranked:
                name = i.get("name")
                if name is None and isinstance(i.get("item"), dict):
                    name = i["item"].get("name")
                if isinstance(name, str) and name.strip():
                    names.append(name.strip())
            return names
    return []


def _text(v: Any) -> str | None:
    if isinstance(v, dict):
        v = v.get("name") or v.get("@value")
    if isinstance(v, list):
        v = next((x for x in (_text(i) for i in v) if x), None)
    if isinstance(v, int | float) and not isinstance(v, bool):
        v = str(v)
    if isinstance(v, str) and v.strip():
        return html.unescape(v.strip())
    return None


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        return parse_price(v)
    return None


def _images(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        u = v.get("contentUrl") or v.get("url")
        return [u] if isinstance(u, str) else []
    if isinstance(v, list):
        return [u for x in v for u in _images(x)]
    return []


def _offer(v: Any) -> dict[str, Any]:
    if isinstance(v, list):
        return next((_offer(x) for x in v if isinstance(x, dict)), {})
    if not isinstance(v, dict):
        return {}
    if "AggregateOffer" in _types(v) and "price" not in v:
        return {"price": v.get("lowPrice"), "priceCurrency": v.get("priceCurrency")}
    if "price" not in v and isinstance(v.get("priceSpecification"), dict | list):
        spec = v["priceSpecification"]
        spec = spec[0] if isinstance(spec, list) and spec else spec
        if isinstance(spec, dict):
            return {"price": spec.get("price"), "priceCurrency": spec.get("priceCurrency")}
    return v


def product_fields(node: dict[str, Any]) -> dict[str, Any]:
    """The pgdata fields of one JSON-LD product node (missing ones left out).

    ``images`` gathers the node's images then those of its variants (``hasVariant``).
    """
    out: dict[str, Any] = {}
    for key in ("sku", "productID", "mpn", "gtin13", "gtin", "gtin14", "gtin12", "gtin8"):
        if (v := _text(node.get(key))) is not None:
            out["product_id"] = v
            break
    for field, key in (
        ("name", "name"),
        ("brand", "brand"),
        ("category", "category"),
        ("color", "color"),
        ("description", "description"),
    ):
        if (v := _text(node.get(key))) is not None:
            out[field] = v
    offer = _offer(node.get("offers"))
    if (p := _num(offer.get("price"))) is not None:
        out["price"] = p
    if (c := _text(offer.get("priceCurrency"))) is not None:
        out["currency"] = c
    images = _images(node.get("image"))
    variants = node.get("hasVariant")
    if isinstance(variants, list):
        for var in variants:
            if isinstance(var, dict):
                images += _images(var.get("image"))
                if "color" not in out and (c := _text(var.get("color"))) is not None:
                    out["color"] = c
    if images:
        out["images"] = images
    return out
