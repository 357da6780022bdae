"""schema.org ``Product`` / ``ProductGroup`` nodes → pgdata fields (pure).

The nodes come from JSON-LD, microdata or RDFa (:mod:`pgdata.crawl.extract.markup` gives all
three the JSON-LD shape). Types are compared case-insensitively and without their vocabulary
prefix, so ``"product"``, ``"Product"``, ``"schema:Product"`` and
``"https://schema.org/Product"`` are one type.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from pgdata.crawl.extract.values import parse_price

__all__ = ["PRODUCT_TYPES", "breadcrumbs", "node_types", "product_fields", "products"]

PRODUCT_TYPES = frozenset({"product", "productgroup", "individualproduct", "productmodel"})
# the keys through which a page-level node holds the page's main thing
_CONTAINERS = ("@graph", "mainEntity", "about")
# product identifiers, most specific first
_ID_KEYS = ("sku", "productID", "mpn", "gtin13", "gtin", "gtin14", "gtin12", "gtin8")


def node_types(node: dict[str, Any]) -> set[str]:
    """Lower-case type names of a node without vocabulary (``"Product"`` → ``"product"``)."""
    t = node.get("@type", ())
    names = [t] if isinstance(t, str) else t if isinstance(t, list) else []
    out = set()
    for name in names:
        short = str(name).strip().rstrip("/")
        for sep in ("/", "#", ":"):
            short = short.rsplit(sep, 1)[-1]
        out.add(short.lower())
    return out


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Nodes in page order: each top-level node, then what its ``@graph`` / ``mainEntity`` /
    ``about`` hold (not related products, offers or list items)."""
    if isinstance(node, list | tuple):
        for v in node:
            yield from _walk(v)
    elif isinstance(node, dict):
        yield node
        for key in _CONTAINERS:
            if key in node:
                yield from _walk(node[key])


def products(nodes: Any) -> list[dict[str, Any]]:
    """Product-like nodes, outermost first (a ``ProductGroup`` before its variants)."""
    return [n for n in _walk(nodes) if node_types(n) & PRODUCT_TYPES]


def breadcrumbs(nodes: Any) -> list[str]:
    """Names of the first ``BreadcrumbList`` (root first, ordered by ``position``)."""
    for node in _walk(nodes):
        if "breadcrumblist" in node_types(node):
            items = node.get("itemListElement") or []
            if isinstance(items, dict):
                items = [items]
            if not isinstance(items, list):
                continue
            ranked = sorted(
                (i for i in items if isinstance(i, dict)),
                key=lambda i: _num(i.get("position")) or 0.0,
            )
            names = []
            for i in ranked:
                name = _text(i.get("name"))
                if name is None and isinstance(i.get("item"), dict):
                    name = _text(i["item"].get("name"))
                if name is not None:
                    names.append(name)
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
    if isinstance(v, list):
        return next((x for x in map(_num, v) if x is not None), None)
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
        return _images(u) if isinstance(u, str | list) else []
    if isinstance(v, list):
        return [u for x in v for u in _images(x)]
    return []


def _offer(v: Any) -> dict[str, Any]:
    """The first offer as ``{"price": ..., "priceCurrency": ...}``-like dict."""
    if isinstance(v, list):
        return next((_offer(x) for x in v if isinstance(x, dict)), {})
    if not isinstance(v, dict):
        return {}
    if "aggregateoffer" in node_types(v) and "price" not in v:
        return {"price": v.get("lowPrice"), "priceCurrency": v.get("priceCurrency")}
    spec = v.get("priceSpecification")
    if "price" not in v and isinstance(spec, dict | list):
        spec = spec[0] if isinstance(spec, list) and spec else spec
        if isinstance(spec, dict):
            return {"price": spec.get("price"), "priceCurrency": spec.get("priceCurrency")}
    return v


def product_fields(node: dict[str, Any]) -> dict[str, Any]:
    """The pgdata fields of one product node (missing ones left out).

    ``product_id`` is the first of sku, productID, mpn, GTINs; ``price`` a float (strings go
    through :func:`~pgdata.crawl.extract.values.parse_price`); ``images`` gathers the node's
    images then those of its variants (``hasVariant``), whose colour fills a missing one.
    """
    out: dict[str, Any] = {}
    for key in _ID_KEYS:
        if (v := _text(node.get(key))) is not None:
            out["product_id"] = v
            break
    for name in ("name", "brand", "category", "color", "description"):
        if (v := _text(node.get(name))) is not None:
            out[name] = v
    offer = _offer(node.get("offers"))
    if (p := _num(offer.get("price"))) is not None:
        out["price"] = p
    if (c := _text(offer.get("priceCurrency"))) is not None:
        out["currency"] = c
    images = _images(node.get("image"))
    variants = node.get("hasVariant")
    if isinstance(variants, dict):
        variants = [variants]
    if isinstance(variants, list):
        for var in variants:
            if isinstance(var, dict):
                images += _images(var.get("image"))
                if "color" not in out and (c := _text(var.get("color"))) is not None:
                    out["color"] = c
    if images:
        out["images"] = images
    return out
