"""Store-config selectors: CSS (``"h1::text"``) or XPath (``"xpath://h1/text()"``) (pure)."""

from __future__ import annotations

from parsel import Selector, SelectorList

from pgdata.crawl.extract.values import clean_text

__all__ = ["select_all", "select_first"]


def _run(sel: Selector, selector: str) -> SelectorList[Selector]:
    if selector.startswith("xpath:"):
        return sel.xpath(selector[len("xpath:") :])
    return sel.css(selector)


def select_all(sel: Selector, selector: str) -> list[str]:
    """Every non-empty string the selector yields (text nodes, attributes or element text)."""
    out = []
    for node in _run(sel, selector):
        value = node.get()
        if node.root is not None and not isinstance(node.root, str):
            value = " ".join(node.xpath(".//text()").getall())  # an element: its text
        text = clean_text(value)
        if text is not None:
            out.append(text)
    return out


def select_first(sel: Selector, selector: str) -> str | None:
    """The first non-empty string the selector yields, or ``None``."""
    values = select_all(sel, selector)
    return values[0] if values else None
