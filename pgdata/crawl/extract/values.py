"""Value clean-up shared by the extractors: prices, whitespace, URLs (pure)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

__all__ = ["absolute_urls", "clean_text", "parse_price"]

_NUMBER = re.compile(r"\d[\d.,\s']*")


def clean_text(text: str | None) -> str | None:
    """Collapse whitespace; ``None`` for empty text."""
    if text is None:
        return None
    out = " ".join(text.split())
    return out or None


def parse_price(text: str) -> float | None:
    """A price from shop text: ``"29,900원"`` → 29900.0, ``"$1,299.50"`` → 1299.5,
    ``"19,99 €"`` → 19.99, ``"1.299,00"`` → 1299.0; ``None`` without digits."""
    m = _NUMBER.search(text)
    if m is None:
        return None
    s = re.sub(r"[\s']", "", m.group(0)).rstrip(".,")
    last_dot, last_comma = s.rfind("."), s.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        # the later separator is the decimal one
        dec = "." if last_dot > last_comma else ","
        s = s.replace("," if dec == "." else ".", "").replace(dec, ".")
    elif last_comma >= 0:
        # "19,99" decimal; "29,900" / "1,299,000" thousands
        s = s.replace(",", ".") if len(s) - last_comma - 1 == 2 else s.replace(",", "")
    elif s.count(".") > 1 or (last_dot >= 0 and len(s) - last_dot - 1 == 3 and s[0] != "0"):
        s = s.replace(".", "")  # "1.299.000" / "29.900" thousands
    try:
        return float(s)
    except ValueError:
        return None


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
