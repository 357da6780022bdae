"""Value clean-up shared by the extractors: prices, whitespace, URLs (pure)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from price_parser import Price

__all__ = ["absolute_urls", "clean_text", "parse_price"]


def clean_text(text: str | None) -> str | None:
    """Collapse whitespace; ``None`` for empty text."""
    if text is None:
        return None
    out = " ".join(text.split())
    return out or None


def parse_price(text: str) -> float | None:
    """The amount of a price string in any common locale, via price-parser.

    ``"29,900원"`` → 29900.0, ``"$1,299.50"`` → 1299.5, ``"19,99 €"`` → 19.99,
    ``"1.299,00"`` → 1299.0, ``"1 299,90 €"`` → 1299.9, ``"CHF 1'299.50"`` → 1299.5,
    ``"₹1,29,999"`` → 129999.0; ``None`` for text without digits (price-parser reads
    ``"free"`` as 0, which is not a garment's price).
    """
    if not any(ch.isdigit() for ch in text):
        return None
    return Price.fromstring(text).amount_float


def absolute_urls(urls: list[str], base: str) -> list[str]:
    """Join ``urls`` to ``base``; keep http(s) only, drop duplicates, keep order."""
    seen: set[str] = set()
    out = []
    for u in urls:
        u = u.strip()
        if not u or u.startswith("data:"):
            continue
        full = urljoin(base, u)
        if urlsplit(full).scheme not in ("http", "https") or full in seen:
            continue
        seen.add(full)
        out.append(full)
    return out
