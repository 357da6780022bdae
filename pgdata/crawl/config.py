"""Store configs: ``crawlers/<store>.toml`` parsed into a frozen :class:`StoreConfig`.

Everything is validated at load, before Scrapy starts, so a typo is one clean line naming the
key and what is expected, never a Twisted traceback. Unknown keys are errors.

A store file (every table but the first keys is optional)::

    name = "shop_a"                               # [a-z0-9_-]+, names DIR/<name>/
    verified = false                              # checked against the live site?
    notes = "free text"
    allowed_domains = ["shop-a.example"]          # pages are only requested on these
    media_domains = ["img.shop-a-cdn.example"]    # extra hosts allowed for images only
    start_urls = ["https://shop-a.example/all"]   # category "all"; or [categories] below
    sitemap_urls = ["https://shop-a.example/sitemap.xml"]  # or robots.txt with Sitemap:
    product_url = '/p/[^/]+$'                     # regex: listing links that match it are
                                                  # products (besides listing.product_links);
                                                  # sitemap URLs must match it

    [categories]                                  # crawl groups for --category
    bottoms = ["https://shop-a.example/c/bottoms"]

    [listing]
    product_links = "a.tile::attr(href)"          # CSS, or "xpath:..." for XPath
    next_page = "a[rel=next]::attr(href)"
    category_links = "nav a.sub::attr(href)"      # other listing pages to follow
    page_param = "page"                           # or numbered pages: ?page=N+1 while
                                                  # a page still lists products
    drop_params = ["utm_source", "ref"]           # tracking parameters cut from product links

    [product]                                     # only for fields JSON-LD/OpenGraph lack
    name = "h1::text"
    images = "img.zoom::attr(data-large)"
    image_url_rewrite = ['\\?w=\\d+', '?w=2000']  # regex, replacement: largest variant

    [category_map]                                # raw category text → canonical name
    "jeans" = "bottom"

    [settings]                                    # Scrapy settings (see SETTINGS_TYPES)
    DOWNLOAD_DELAY = 2
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pgdata.errors import ConfigError, InputFormatError
from pgdata.io.files import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "PRODUCT_FIELDS",
    "SETTINGS_TYPES",
    "ListingRules",
    "ProductRules",
    "StoreConfig",
    "check_selector",
    "load_store",
    "parse_store",
]

# product fields a [product] selector may fill
PRODUCT_FIELDS: tuple[str, ...] = (
    "product_id",
    "name",
    "brand",
    "category",
    "price",
    "currency",
    "color",
    "description",
    "images",
)

# Scrapy settings a store file may set, with the Python type expected
SETTINGS_TYPES: dict[str, type] = {
    "DOWNLOAD_DELAY": float,
    "DOWNLOAD_DELAY_JITTER": float,
    "CONCURRENT_REQUESTS": int,
    "CONCURRENT_REQUESTS_PER_DOMAIN": int,
    "AUTOTHROTTLE_ENABLED": bool,
    "AUTOTHROTTLE_START_DELAY": float,
    "AUTOTHROTTLE_MAX_DELAY": float,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": float,
    "DOWNLOAD_TIMEOUT": float,
    "DOWNLOAD_MAXSIZE": int,
    "DOWNLOAD_WARNSIZE": int,
    "RETRY_TIMES": int,
    "DEPTH_LIMIT": int,
    "USER_AGENT": str,
}

MAX_STORE_BYTES = 1 << 20  # a store file is a page of TOML
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_DOMAIN = re.compile(r"[A-Za-z0-9.-]+")
_TOP_KEYS = {
    "name",
    "verified",
    "notes",
    "allowed_domains",
    "media_domains",
    "start_urls",
    "sitemap_urls",
    "product_url",
    "categories",
    "listing",
    "product",
    "category_map",
    "settings",
}


@dataclass(frozen=True)
class ListingRules:
    """How to find product links and further listing pages on a listing page."""

    product_links: str | None = None
    next_page: str | None = None
    category_links: str | None = None
    page_param: str | None = None  # numbered pages: ?<param>=N+1 while pages give products
    drop_params: tuple[str, ...] = ()  # query parameters removed from product links (tracking)


@dataclass(frozen=True)
class ProductRules:
    """Selectors for product fields (``None`` = not given) and image URL rewrites."""

    selectors: tuple[tuple[str, str], ...] = ()  # (field, selector) pairs
    image_url_rewrite: tuple[tuple[str, str], ...] = ()  # (regex, replacement) pairs

    def selector(self, name: str) -> str | None:
        """The selector of field ``name``, if the store gives one."""
        return dict(self.selectors).get(name)


@dataclass(frozen=True)
class StoreConfig:
    """A validated store file."""

    name: str
    allowed_domains: tuple[str, ...]
    categories: tuple[tuple[str, tuple[str, ...]], ...]  # (category, start URLs)
    media_domains: tuple[str, ...] = ()
    sitemap_urls: tuple[str, ...] = ()
    product_url: str | None = None
    listing: ListingRules = field(default_factory=ListingRules)
    product: ProductRules = field(default_factory=ProductRules)
    category_map: tuple[tuple[str, str], ...] = ()
    settings: tuple[tuple[str, Any], ...] = ()
    verified: bool = False
    notes: str = ""
    source: Path | None = None

    def start_urls(self, category: str | None = None) -> list[tuple[str, str]]:
        """``(category, url)`` for every start URL, or those of one category."""
        return [
            (cat, url)
            for cat, urls in self.categories
            if category is None or cat == category
            for url in urls
        ]

    def category_names(self) -> list[str]:
        """The store's crawl categories (``all`` for plain ``start_urls``)."""
        return [cat for cat, _ in self.categories]

    def settings_dict(self) -> dict[str, Any]:
        """The ``[settings]`` table as a dict."""
        return dict(self.settings)


def load_store(path: str | Path) -> StoreConfig:
    """Read and validate a store file.

    Raises:
        ConfigError: unreadable file, TOML syntax error or an invalid key (named in the message).
    """
    path = Path(path)
    try:
        text = read_text(path, max_bytes=MAX_STORE_BYTES)
    except InputFormatError as e:
        raise ConfigError(f"{path}: cannot read store config: {e.message}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    return parse_store(data, source=path)


def parse_store(data: Mapping[str, Any], source: Path | None = None) -> StoreConfig:
    """Validate a parsed store table (see the module docstring for the keys)."""
    where = f"{source}: " if source is not None else ""

    def fail(key: str, expected: str, got: object = None) -> ConfigError:
        found = f", got {got!r}" if got is not None else ""
        return ConfigError(f"{where}{key}: expected {expected}{found}")

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise fail(unknown[0], f"one of the known keys {sorted(_TOP_KEYS)}")

    name = data.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise fail("name", "a store name of lower-case letters, digits, '_' and '-'", name)

    def str_list(key: str, value: object, required: bool = False) -> tuple[str, ...]:
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise fail(key, "a list of non-empty strings", value)
        if required and not value:
            raise fail(key, "at least one entry")
        return tuple(value)

    def domains(key: str, required: bool) -> tuple[str, ...]:
        out = str_list(key, data.get(key), required)
        for d in out:
            if not _DOMAIN.fullmatch(d):
                raise fail(key, "host names only (no scheme, port or path)", d)
        return tuple(d.lower() for d in out)

    allowed = domains("allowed_domains", required=True)
    media = domains("media_domains", required=False)

    def urls(key: str, value: object) -> tuple[str, ...]:
        out = str_list(key, value)
        for u in out:
            if not re.match(r"https?://[^/\s]+", u):
                raise fail(key, "absolute http(s) URLs", u)
            try:  # what urllib rejects later (a bracket in the host, a bad port) fails here
                parts = urlsplit(u)
                _ = parts.hostname, parts.port
            except ValueError as e:
                raise fail(key, f"absolute http(s) URLs ({e})", u) from None
        return out

    categories: list[tuple[str, tuple[str, ...]]] = []
    if "start_urls" in data:
        categories.append(("all", urls("start_urls", data["start_urls"])))
    cats = data.get("categories")
    if cats is not None:
        if not isinstance(cats, dict):
            raise fail("categories", "a table of category = [start URLs]", cats)
        for cat, value in cats.items():
            if not _NAME.fullmatch(cat):
                raise fail(f"categories.{cat}", "a category name of [a-z0-9_-]")
            categories.append((cat, urls(f"categories.{cat}", value)))
    sitemaps = urls("sitemap_urls", data.get("sitemap_urls"))
    named = [("start_urls" if c == "all" else f"categories.{c}", u) for c, u in categories]
    for key, value in [*named, ("sitemap_urls", sitemaps)]:
        for u in value:
            host = (urlsplit(u).hostname or "").lower()
            if not any(host == d or host.endswith("." + d) for d in allowed):
                raise fail(key, "URLs on one of allowed_domains", u)
    if not any(u for _, u in categories) and not sitemaps:
        raise fail("start_urls", "start_urls, a [categories] table or sitemap_urls")
    if sitemaps:
        categories.append(("sitemap", sitemaps))

    product_url = data.get("product_url")
    if product_url is not None:
        if not isinstance(product_url, str):
            raise fail("product_url", "a regular expression string", product_url)
        try:
            re.compile(product_url)
        except re.error as e:
            raise fail("product_url", f"a valid regular expression ({e})", product_url) from None

    listing = _listing(data.get("listing"), fail)
    if listing.product_links is None and product_url is None:
        raise fail("listing.product_links", "a selector, or a product_url pattern at top level")
    product = _product(data.get("product"), fail)

    cmap = data.get("category_map", {})
    if not isinstance(cmap, dict) or not all(isinstance(v, str) for v in cmap.values()):
        raise fail("category_map", 'a table of "raw text" = "category"', cmap)

    settings = _settings(data.get("settings", {}), fail)

    verified = data.get("verified", False)
    if not isinstance(verified, bool):
        raise fail("verified", "true or false", verified)
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        raise fail("notes", "a string", notes)

    return StoreConfig(
        name=name,
        allowed_domains=allowed,
        categories=tuple(categories),
        media_domains=media,
        sitemap_urls=sitemaps,
        product_url=product_url,
        listing=listing,
        product=product,
        category_map=tuple((k.lower(), v) for k, v in cmap.items()),
        settings=settings,
        verified=verified,
        notes=notes,
        source=source,
    )


def check_selector(selector: str) -> None:
    """Raise ``ValueError`` when ``selector`` (CSS, or ``xpath:...``) does not compile."""
    from cssselect import SelectorError
    from parsel import Selector

    probe = Selector(text="<html></html>")
    try:
        if selector.startswith("xpath:"):
            probe.xpath(selector[len("xpath:") :])
        else:
            probe.css(selector)
    except (SyntaxError, ValueError, SelectorError) as e:  # an unknown pseudo-class is neither
        raise ValueError(str(e)) from None


def _selector(key: str, value: object, fail: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(key, 'a CSS selector or "xpath:EXPR"', value)
    try:
        check_selector(value)
    except ValueError as e:
        raise fail(key, f"a valid CSS selector or XPath ({e})", value) from None
    return value


def _listing(value: object, fail: Any) -> ListingRules:
    if value is None:
        return ListingRules()
    if not isinstance(value, dict):
        raise fail("listing", "a table")
    known = {"product_links", "next_page", "category_links", "page_param", "drop_params"}
    rules: dict[str, Any] = {}
    for key, v in value.items():
        if key not in known:
            raise fail(f"listing.{key}", f"one of {sorted(known)}")
        if key == "drop_params":
            if not isinstance(v, list) or not all(isinstance(p, str) and p for p in v):
                raise fail("listing.drop_params", "a list of query parameter names", v)
            rules[key] = tuple(v)
        elif key == "page_param":
            if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+", v):
                raise fail("listing.page_param", 'a query parameter name such as "page"', v)
            rules[key] = v
        else:
            rules[key] = _selector(f"listing.{key}", v, fail)
    return ListingRules(**rules)


def _product(value: object, fail: Any) -> ProductRules:
    if value is None:
        return ProductRules()
    if not isinstance(value, dict):
        raise fail("product", "a table")
    selectors = []
    rewrites: list[tuple[str, str]] = []
    for key, v in value.items():
        if key == "image_url_rewrite":
            if not (
                isinstance(v, list) and len(v) % 2 == 0 and v and all(isinstance(s, str) for s in v)
            ):
                raise fail("product.image_url_rewrite", "a list of [regex, replacement] strings", v)
            for pat, rep in zip(v[::2], v[1::2], strict=True):
                try:
                    compiled = re.compile(pat)
                except re.error as e:
                    raise fail("product.image_url_rewrite", f"valid regexes ({e})", pat) from None
                try:  # group references are checked when the template is compiled, not at load
                    compiled.sub(rep, "")
                except (re.error, IndexError) as e:
                    raise fail(
                        "product.image_url_rewrite",
                        f"a replacement whose groups exist in {pat!r} ({e})",
                        rep,
                    ) from None
                rewrites.append((pat, rep))
        elif key in PRODUCT_FIELDS:
            selectors.append((key, _selector(f"product.{key}", v, fail)))
        else:
            raise fail(f"product.{key}", f"one of {[*PRODUCT_FIELDS, 'image_url_rewrite']}")
    return ProductRules(tuple(selectors), tuple(rewrites))


def _settings(value: object, fail: Any) -> tuple[tuple[str, Any], ...]:
    if not isinstance(value, dict):
        raise fail("settings", "a table")
    out = []
    for key, v in value.items():
        kind = SETTINGS_TYPES.get(key)
        if kind is None:
            raise fail(f"settings.{key}", f"one of {sorted(SETTINGS_TYPES)}")
        ok = (
            isinstance(v, bool)
            if kind is bool
            else isinstance(v, str)
            if kind is str
            else isinstance(v, int | float)
            and not isinstance(v, bool)
            and math.isfinite(v)
            and v >= 0
        )
        if kind is int and isinstance(v, float):
            ok = False
        if not ok:
            what = {bool: "true or false", str: "a string"}.get(
                kind, f"a number >= 0 ({kind.__name__})"
            )
            raise fail(f"settings.{key}", what, v)
        out.append((key, kind(v)))
    return tuple(out)
