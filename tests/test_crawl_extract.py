"""Pure extraction on saved HTML: golden cases under tests/fixtures/crawl/<store>/<case>/.

The golden pages were written by hand after real shop markup: JSON-LD in a commented CDATA
section, lower-case schema.org types, ``//`` comments in JSON-LD, microdata-only and RDFa-only
products, OpenGraph without ``og:type`` at a product and at a listing URL, and prices written in
German, French, Swiss, Indian, Japanese and Dutch style. Each ``expected.json`` was written from
the page by hand, not from the extractor's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request

from pgdata.crawl.config import load_store
from pgdata.crawl.extract import SOURCES, canonical_category, extract_product, rewrite_image_url
from pgdata.crawl.extract.markup import rdfa_nodes, read_markup
from pgdata.crawl.extract.schema import node_types, products
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
    got = extract_product(html, url, store.product, product_url=store.product_url)
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
    assert sources == set(SOURCES)
    assert any(json.loads((c / "expected.json").read_text()) is None for c in CASES)


@pytest.mark.parametrize("name", ["jsonld_graph", "rdfa_product", "price_fr_opengraph"])
def test_same_result_through_a_scrapy_response(name: str) -> None:
    case = FIXTURES / "fixture_shop" / name
    url = (case / "url.txt").read_text().strip()
    body = (case / "page.html").read_bytes()
    response = HtmlResponse(url=url, body=body, encoding="utf-8", request=Request(url))
    got = extract_product(response.text, response.url)
    assert got is not None and got == extract_product(body.decode(), url)


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
        ("1\u202f299,90 €", 1299.9),  # French: narrow no-break space, decimal comma
        ("1\xa0299,90", 1299.9),  # ... or a no-break space
        ("CHF 1'299.50", 1299.5),  # Swiss apostrophe
        ("₹1,29,999", 129999.0),  # Indian lakh grouping
        ("¥12,800", 12800.0),
        ("R$ 1.299,90", 1299.9),  # Brazil
        ("12.800 ₫", 12800.0),  # Vietnam: dot thousands
        ("€ 49,95", 49.95),
        ("kr 1 299,-", 1299.0),  # Scandinavian ",-" for no cents
        ("£1,049", 1049.0),
        ("free", None),
        ("", None),
    ],
)
def test_parse_price(text: str, value: float | None) -> None:
    assert parse_price(text) == value


PRODUCT_LD = (
    '<script type="application/ld+json">{"@type": "Product", "name": "LD name", '
    '"image": "/ld.jpg"}</script>'
)
PRODUCT_MD = (
    '<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">MD name</span>'
    '<span itemprop="color">red</span><img itemprop="image" src="/md.jpg"></div>'
)
PRODUCT_OG = (
    '<meta property="og:type" content="product"><meta property="og:title" content="OG | Shop">'
    '<meta property="og:image" content="/og.jpg"><meta property="product:brand" content="OG brand">'
    '<meta property="product:price:amount" content="10">'
)


def page(head: str, body: str = "") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def test_precedence_jsonld_microdata_opengraph_selectors() -> None:
    rules = load_store(ROOT / "crawlers" / "fixture_shop.toml").product
    body = PRODUCT_MD + '<h1 class="product-name">Sel name</h1><span class="color">blue</span>'
    body += '<span class="price">5</span><div class="gallery"><img data-zoom="/sel.jpg"></div>'
    url = "https://shop.example/p/1"
    got = extract_product(page(PRODUCT_LD + PRODUCT_OG, body), url, rules)
    assert got is not None
    # name: JSON-LD over the rest; colour: microdata (JSON-LD has none) over the selector;
    # brand and price: OpenGraph (no schema.org value) over the selector
    assert got.fields == {"name": "LD name", "color": "red", "brand": "OG brand", "price": 10.0}
    assert got.sources == {
        "name": "jsonld",
        "color": "microdata",
        "brand": "opengraph",
        "price": "opengraph",
        "images": "jsonld",
    }
    assert got.images == ("https://shop.example/ld.jpg",)
    # without JSON-LD, microdata gives the name (not the OpenGraph title with the shop suffix)
    got = extract_product(page(PRODUCT_OG, body), url, rules)
    assert (
        got is not None and got.fields["name"] == "MD name" and got.sources["name"] == "microdata"
    )
    # without structured data and OpenGraph, the selectors
    got = extract_product(page("", body.replace(PRODUCT_MD, "")), url, rules)
    assert got is not None
    assert got.fields == {"name": "Sel name", "color": "blue", "price": 5.0}
    assert set(got.sources.values()) == {"selector"}
    assert got.images == ("https://shop.example/sel.jpg",)


def test_product_without_og_type_needs_a_product_url() -> None:
    head = '<meta property="og:title" content="Jacket"><meta property="og:image" content="/j.jpg">'
    rule = "/p/[a-z-]+$"
    assert extract_product(page(head), "https://shop.example/p/jacket", product_url=rule)
    assert extract_product(page(head), "https://shop.example/c/jackets", product_url=rule) is None
    # the spider passes only product pages and no pattern
    assert extract_product(page(head), "https://shop.example/c/jackets") is not None
    # an explicit og:type that is not a product still says no
    website = head + '<meta property="og:type" content="website">'
    assert extract_product(page(website), "https://shop.example/p/jacket", product_url=rule) is None


def test_jsonld_blocks_are_read_one_by_one() -> None:
    blocks = [
        '<script type="application/ld+json">{"@type": "WebSite", "name": {{ name }}}</script>',
        '<script type="application/ld+json"><![CDATA[ {"@type": "Organization"} ]]></script>',
        '<script type="application/ld+json">{&quot;@type&quot;: &quot;Brand&quot;}</script>',
        '<script type="application/ld+json">/*<![CDATA[*/ {"@type": "Thing"} /*]]>*/</script>',
        '<script type="application/ld+json">   </script>',
    ]
    got = read_markup(page("".join(blocks)), "https://shop.example/p/1").jsonld
    assert [node["@type"] for node in got] == ["Organization", "Brand", "Thing"]


def test_empty_page_has_no_markup() -> None:
    markup = read_markup("", "https://shop.example/p/1")
    assert markup.jsonld == () and markup.microdata == () and markup.opengraph == {}
    assert extract_product("", "https://shop.example/p/1") is None


@pytest.mark.parametrize(
    "kind", ["Product", "product", "PRODUCT", "schema:Product", "https://schema.org/product"]
)
def test_types_compare_case_insensitively(kind: str) -> None:
    assert node_types({"@type": kind}) == {"product"}
    assert products([{"@type": [kind, "Thing"], "name": "x"}])


def test_products_are_found_in_graphs_and_main_entities_only() -> None:
    page_node = {"@type": "WebPage", "mainEntity": {"@type": "Product", "name": "main"}}
    listing = {"@type": "ItemList", "itemListElement": [{"@type": "Product", "name": "tile"}]}
    assert [p["name"] for p in products([page_node])] == ["main"]
    assert products([listing]) == []  # a listing page's tiles are no product page


def test_rdfa_nodes_fold_expanded_rdfa() -> None:
    items = [
        {
            "@id": "https://shop.example/p/1#p",
            "@type": ["http://schema.org/Product"],
            "http://schema.org/name": [{"@value": "Shirt"}],
            "http://schema.org/image": [{"@id": "https://shop.example/1.jpg"}],
            "http://schema.org/offers": [{"@id": "_:o"}],
            "http://ogp.me/ns#title": [{"@value": "Shirt | Shop"}],
        },
        {
            "@id": "_:o",
            "@type": ["http://schema.org/Offer"],
            "http://schema.org/price": [{"@value": "12"}],
        },
        {"@id": "https://shop.example/p/1", "http://ogp.me/ns#type": [{"@value": "website"}]},
    ]
    assert rdfa_nodes(items) == [
        {
            "@type": "Product",
            "name": "Shirt",
            "image": "https://shop.example/1.jpg",
            "offers": {"@type": "Offer", "price": "12"},
        }
    ]


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
