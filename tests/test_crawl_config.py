"""Store configs: every shipped file loads; malformed ones name the key and what is expected."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pgdata.crawl.config import load_store, parse_store
from pgdata.crawl.settings import POLITE_DEFAULTS, crawl_settings
from pgdata.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
STORES = sorted((ROOT / "crawlers").glob("*.toml"))

BASE = {
    "name": "shop",
    "allowed_domains": ["shop.example"],
    "start_urls": ["https://shop.example/all"],
    "product_url": "/p/",
}


@pytest.mark.parametrize("path", STORES, ids=lambda p: p.name)
def test_shipped_store_configs_load(path: Path) -> None:
    store = load_store(path)
    assert store.name == path.stem
    assert store.start_urls()
    if path.stem != "fixture_shop":
        assert store.verified is False, "real-store configs are unverified against the live site"


def test_at_least_two_real_stores() -> None:
    assert len([p for p in STORES if p.stem != "fixture_shop"]) >= 2


def test_categories_and_start_urls() -> None:
    store = parse_store({**BASE, "categories": {"bottoms": ["https://shop.example/c/b"]}})
    assert store.category_names() == ["all", "bottoms"]
    assert store.start_urls("bottoms") == [("bottoms", "https://shop.example/c/b")]


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        ({"colour": "x"}, "colour", "one of the known keys"),
        ({"name": "Shop A"}, "name", "lower-case"),
        ({"allowed_domains": []}, "allowed_domains", "at least one"),
        ({"allowed_domains": ["https://shop.example"]}, "allowed_domains", "host names only"),
        ({"media_domains": "cdn.example"}, "media_domains", "a list of non-empty strings"),
        ({"start_urls": ["/relative"]}, "start_urls", "absolute http(s) URLs"),
        ({"start_urls": ["https://other.example/"]}, "start_urls", "on one of allowed_domains"),
        ({"categories": {"tops": ["https://cdn.example/t"]}}, "categories.tops", "allowed_domains"),
        ({"product_url": "(unclosed"}, "product_url", "a valid regular expression"),
        ({"listing": {"product_links": "a[["}}, "listing.product_links", "valid CSS selector"),
        ({"listing": {"next": "a"}}, "listing.next", "one of"),
        ({"listing": {"page_param": "page=2"}}, "listing.page_param", "query parameter name"),
        ({"listing": {"drop_params": "utag"}}, "listing.drop_params", "a list of query"),
        ({"product": {"images": "xpath://img[@"}}, "product.images", "valid CSS selector or XPath"),
        ({"product": {"size": "x"}}, "product.size", "one of"),
        (
            {"product": {"image_url_rewrite": ["only-one"]}},
            "product.image_url_rewrite",
            "[regex, replacement]",
        ),
        ({"settings": {"DOWNLOAD_DELAY": "1"}}, "settings.DOWNLOAD_DELAY", "a number >= 0"),
        (
            {"settings": {"CONCURRENT_REQUESTS_PER_DOMAIN": 1.5}},
            "settings.CONCURRENT_REQUESTS_PER_DOMAIN",
            "(int)",
        ),
        ({"settings": {"ROBOTSTXT_OBEY": False}}, "settings.ROBOTSTXT_OBEY", "one of"),
        (
            {"categories": {"Bottoms": ["https://shop.example/b"]}},
            "categories.Bottoms",
            "category name",
        ),
        ({"verified": "yes"}, "verified", "true or false"),
    ],
)
def test_malformed_config_names_key(change: dict[str, object], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_store({**BASE, **change}, source=Path("crawlers/shop.toml"))
    msg = str(err.value)
    assert msg.startswith(f"crawlers/shop.toml: {key}: expected"), msg
    assert expected in msg


def test_needs_a_product_rule_and_a_start() -> None:
    with pytest.raises(ConfigError, match="listing.product_links"):
        parse_store({k: v for k, v in BASE.items() if k != "product_url"})
    with pytest.raises(ConfigError, match="start_urls"):
        parse_store({k: v for k, v in BASE.items() if k != "start_urls"})


def test_toml_syntax_error_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_store(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_store(tmp_path / "missing.toml")


def test_settings_precedence(tmp_path: Path) -> None:
    s = crawl_settings(tmp_path, {"DOWNLOAD_DELAY": 2.0}, {}, jobdir=None)
    assert s["DOWNLOAD_DELAY"] == 2.0
    s = crawl_settings(tmp_path, {"DOWNLOAD_DELAY": 2.0}, {"DOWNLOAD_DELAY": 0.0}, jobdir=tmp_path)
    assert s["DOWNLOAD_DELAY"] == 0.0 and s["JOBDIR"] == str(tmp_path)
    assert POLITE_DEFAULTS["ROBOTSTXT_OBEY"] is True
    assert POLITE_DEFAULTS["DOWNLOAD_DELAY"] >= 1.0
    assert POLITE_DEFAULTS["CONCURRENT_REQUESTS_PER_DOMAIN"] <= 2
    assert POLITE_DEFAULTS["AUTOTHROTTLE_ENABLED"] is True
    assert POLITE_DEFAULTS["USER_AGENT"].startswith("pgdata/")


def test_fixture_store_is_plain_toml() -> None:
    data = tomllib.loads((ROOT / "crawlers" / "fixture_shop.toml").read_text())
    assert "shop.fixture.invalid" in data["allowed_domains"]


def test_product_links_are_cleaned() -> None:
    from pgdata.crawl.spider import StoreSpider

    store = parse_store(
        {**BASE, "listing": {"drop_params": ["utag"], "page_param": "page"}},
    )
    spider = StoreSpider(store, done_urls=frozenset({"https://shop.example/p/2"}))
    stats: dict[str, int] = {}
    spider._inc = lambda key, n=1: stats.__setitem__(key, stats.get(key, 0) + n)  # type: ignore[method-assign]
    req = spider._product_request("https://shop.example/p/1?utag=x&colour=red#top", "all")
    assert req is not None and req.url == "https://shop.example/p/1?colour=red"
    assert spider._product_request("https://shop.example/p/2?utag=y", "all") is None
    assert spider._product_request("https://elsewhere.example/p/3", "all") is None
    assert stats == {"links/already_stored": 1, "links/offsite": 1}


def test_real_store_url_rules() -> None:
    """URL shapes from the stores' public pages (the configs are unverified against live pages)."""
    import re

    from pgdata.crawl.extract import rewrite_image_url

    ssf = load_store(ROOT / "crawlers" / "ssfshop.toml")
    assert ssf.product_url is not None
    assert re.search(ssf.product_url, "https://www.ssfshop.com/LEMOUTON/GRG426021974780/good")
    assert re.search(ssf.product_url, "https://www.ssfshop.com/8seconds/GM0018120501196/good?x=1")
    assert not re.search(ssf.product_url, "https://www.ssfshop.com/Denim/list?dspCtgryNo=SFMA41")
    proxied = (
        "https://img.ssfshop.com/cmd/LB_750x1000/src/https://img.ssfshop.com/goods/ACSH/26/02/19/"
        "GRG426021974780_0_THNAIL_ORGINL_20260219143906884.jpg"
    )
    assert rewrite_image_url(proxied, ssf.product.image_url_rewrite) == proxied.split("/src/")[1]
    fn = load_store(ROOT / "crawlers" / "fashionnova.toml")
    assert fn.product_url is not None
    assert re.search(fn.product_url, "https://www.fashionnova.com/products/wide-leg-jeans")
    assert re.search(fn.product_url, "https://www.fashionnova.com/collections/jeans/products/a-b")
    for url in (
        "https://cdn.shopify.com/s/files/1/x_400x.jpg?v=12&width=400",
        "https://cdn.shopify.com/s/files/1/x.jpg?width=400&v=12",
    ):
        assert rewrite_image_url(url, fn.product.image_url_rewrite) == (
            "https://cdn.shopify.com/s/files/1/x.jpg?v=12"
        )
