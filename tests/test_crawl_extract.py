"""Pure extraction on saved HTML: golden cases under tests/fixtures/crawl/<store>/<case>/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request

from pgdata.crawl.config import load_store
from pgdata.crawl.extract import canonical_category, extract_product, rewrite_image_url
from pgdata.crawl.extract.values import absolute_urls, parse_price

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "crawl"
CASES = sorted(p for p in FIXTURES.glob("*/*") if (p / "page.html").is_file())


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_page(case: Path) -> None:
    store = load_store(ROOT / "crawlers" / f"{case.parent.name}.toml")
    url = (case / "url.txt").read_text().strip()
    html = (case / "page.html").read_text(encoding="utf-8")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    got = extract_product(html, url, store.product)
    if expected is None:
        assert got is None
        return
    assert got is not None
    assert got.fields == expected["fields"]
    assert list(got.images) == expected["images"]
    assert got.sources == expected["sources"]


def test_golden_cases_cover_every_source() -> None:
    sources = set()
    for case in CASES:
        exp = json.loads((case / "expected.json").read_text(encoding="utf-8"))
        if exp:
            sources |= set(exp["sources"].values())
    assert {"jsonld", "opengraph", "selector", "breadcrumb"} <= sources
    assert any(json.loads((c / "expected.json").read_text()) is None for c in CASES)


def test_same_result_through_a_scrapy_response() -> None:
    case = FIXTURES / "fixture_shop" / "jsonld_graph"
    url = (case / "url.txt").read_text().strip()
    body = (case / "page.html").read_bytes()
    response = HtmlResponse(url=url, body=body, encoding="utf-8", request=Request(url))
    assert extract_product(response.text, response.url) == extract_product(body.decode(), url)


def test_jsonld_store_needs_no_selectors() -> None:
    page = (
        '<script type="application/ld+json">{"@type": "Product", "name": "Tee", '
        '"image": "/t.jpg", "offers": {"price": 12.5, "priceCurrency": "USD"}}</script>'
    )
    got = extract_product(page, "https://shop.example/p/1")
    assert got is not None
    assert got.fields == {"name": "Tee", "price": 12.5, "currency": "USD"}
    assert got.images == ("https://shop.example/t.jpg",)


def test_product_without_images_is_no_product() -> None:
    page = '<script type="application/ld+json">{"@type": "Product", "name": "Tee"}</script>'
    assert extract_product(page, "https://shop.example/p/1") is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("29,900원", 29900.0),
        ("$1,299.50", 1299.5),
        ("19,99 €", 19.99),
        ("1.299,00", 1299.0),
        ("KRW 1,299,000", 1299000.0),
        ("12.5", 12.5),
        ("59000", 59000.0),
        ("free", None),
    ],
)
def test_parse_price(text: str, value: float | None) -> None:
    assert parse_price(text) == value


def test_urls_and_rewrites() -> None:
    base = "https://shop.example/p/1"
    assert absolute_urls(
        ["/a.jpg", "a.jpg", "/a.jpg", "data:image/png;base64,xx", "ftp://x/y"], base
    ) == [
        "https://shop.example/a.jpg",
        "https://shop.example/p/a.jpg",
    ]
    rw = ((r"\?w=\d+", "?w=2000"),)
    assert (
        rewrite_image_url("https://cdn.example/x.jpg?w=300", rw)
        == "https://cdn.example/x.jpg?w=2000"
    )


def test_canonical_category_longest_key_wins() -> None:
    cmap = (("shirt", "top"), ("shirt dress", "dress"), ("jeans", "bottom"))
    assert canonical_category("Women > Shirt Dress", cmap) == "dress"
    assert canonical_category("Men's shirts", cmap) == "top"
    assert canonical_category("Hats", cmap) is None
    assert canonical_category(None, cmap) is None
