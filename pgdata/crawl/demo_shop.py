"""The demo shop: a small synthetic web shop on 127.0.0.1 (``pgdata demo-shop``, the crawl tests
and ``benchmarks/bench_crawl.py``), so the crawler can be seen and tested without the internet.

It is served by the standard library's ``http.server`` in a daemon thread (:func:`serve`); the
store config that crawls it is the bundled ``crawlers/fixture_shop.toml`` with its placeholder
hosts pointed at the server (:meth:`Shop.store_toml`). Nothing here imports Scrapy.

Pages are served at ``http://127.0.0.1:PORT``, images at ``http://localhost:PORT`` (the same
server; a different host name, so the store's ``media_domains`` matter). Every request is
logged as ``(host, path)``.

The default shop (what ``crawlers/fixture_shop.toml`` crawls):

- ``/c/bottoms`` (2 pages, ``rel=next``), ``/c/tops``, ``/c/dresses``;
- products with JSON-LD (denim-jeans, red-tee, midi-dress, red-tee-2pack, broken-shirt),
  OpenGraph only (blue-tee), plain markup only (linen-shorts, needs the store's selectors);
- images: JPEG packshots, a PNG with alpha (midi-dress), an on-model photo (denim-jeans'
  second image), the red tee's bytes under two URLs (red-tee, red-tee-2pack), the blue tee
  (a colour variant), a broken image and an HTML page behind an image URL (broken-shirt);
- ``/robots.txt`` disallows ``/private/`` (a product link points there) and names
  ``/sitemap.xml`` (an index of one URL set: red-tee, midi-dress, /about); ``/p/server-error``
  answers 500, ``/p/gone`` 404, ``/p/loop`` redirects without end, ``/p/slow-skirt`` answers after
  ``slow_s`` seconds, ``/p/no-product`` has no product, and denim-jeans lists an image on an
  unlisted host (127.0.0.3).

Expected from a full crawl: 6 items, 7 stored files; ``garments`` then keeps 5 (the on-model
photo and the duplicate red tee are rejected; the blue tee is kept).

``bulk=N`` adds ``/c/bulk`` (50 products a page) with N JSON-LD products of one small JPEG each,
for the benchmark.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from pgdata.io.atomic import atomic_write_text
from pgdata.io.files import read_bytes
from pgdata.io.images import encode_jpeg, encode_png
from pgdata.stages.synth_garments import draw_garment, model_photo

__all__ = [
    "EXPECTED_FILES",
    "EXPECTED_GARMENTS",
    "EXPECTED_ITEMS",
    "IMAGE_HOST",
    "PAGE_HOST",
    "STORE_NAME",
    "Route",
    "Shop",
    "make_shop",
    "serve",
]

STORE_NAME = "fixture_shop"  # the bundled crawlers/fixture_shop.toml crawls this shop
# the placeholder hosts of that store file
PAGE_HOST, IMAGE_HOST = "shop.fixture.invalid:8000", "img.fixture.invalid:8000"

# what a full crawl of the default shop stores, and what `pgdata garments` then keeps
EXPECTED_ITEMS = 6
EXPECTED_FILES = 7
EXPECTED_GARMENTS = 5
JPEG_QUALITY = 92  # of the shop's JPEG packshots


def _jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    return encode_jpeg(rgb, quality)


def _png_rgba(rgb: np.ndarray, mask: np.ndarray) -> bytes:
    rgba = np.dstack([rgb, mask])
    rgba[mask == 0, :3] = 0  # transparent pixels carry no colour
    return encode_png(rgba)


@dataclass
class Route:
    status: int
    body: bytes
    ctype: str
    delay: float = 0.0
    location: str | None = None


@dataclass
class Shop:
    """Routes by path; ``log`` collects ``(host, path)`` of every request."""

    routes: dict[str, Route]
    log: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def page_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def image_base(self) -> str:
        return f"http://localhost:{self.port}"

    def requested(self, path_prefix: str = "") -> list[tuple[str, str]]:
        with self.lock:
            return [(h, p) for h, p in self.log if p.startswith(path_prefix)]

    def store_text(self, template: str) -> str:
        """The fixture store config ``template`` with its placeholder hosts pointed at this
        server (pages on 127.0.0.1, images on localhost, the same port)."""
        text = template.replace(PAGE_HOST, f"127.0.0.1:{self.port}")
        text = text.replace(IMAGE_HOST, f"localhost:{self.port}")
        text = text.replace('"shop.fixture.invalid"', '"127.0.0.1"')
        return text.replace('"img.fixture.invalid"', '"localhost"')

    def store_toml(self, dest: Path, template: Path) -> Path:
        """Write :meth:`store_text` of the store file ``template`` to ``dest`` (atomically)."""
        atomic_write_text(dest, self.store_text(read_bytes(template).decode("utf-8")))
        return dest


def _page(title: str, body: str, head: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"{head}</head><body>{body}</body></html>"
    ).encode()


def _listing(title: str, links: list[str], next_href: str | None) -> bytes:
    items = "".join(
        f"<li><a class='product' href='{h}'>{escape(h.rsplit('/', 1)[-1])}</a></li>" for h in links
    )
    nxt = f"<a rel='next' href='{next_href}'>next</a>" if next_href else ""
    nav = "<nav><a href='/about'>about</a></nav>"
    return _page(title, f"{nav}<h1>{escape(title)}</h1><ul>{items}</ul>{nxt}")


def _jsonld_product(
    slug: str,
    name: str,
    images: list[str],
    *,
    category: str,
    color: str,
    price: str,
    sku: str,
    extra_head: str = "",
) -> bytes:
    data = {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "BreadcrumbList",
                "itemListElement": [
                    {"@type": "ListItem", "position": 1, "name": "Home"},
                    {"@type": "ListItem", "position": 2, "name": category},
                ],
            },
            {
                "@type": "Product",
                "name": name,
                "sku": sku,
                "brand": {"@type": "Brand", "name": "Fixture"},
                "category": category,
                "color": color,
                "description": f"The {name.lower()}.",
                "image": images,
                "offers": {"@type": "Offer", "price": price, "priceCurrency": "KRW"},
            },
        ],
    }
    head = f"<script type='application/ld+json'>{json.dumps(data)}</script>{extra_head}"
    return _page(name, f"<h1>{escape(name)}</h1><p>{escape(slug)}</p>", head)


def make_shop(
    *, bulk: int = 0, slow_s: float = 2.0, bulk_image_wh: tuple[int, int] = (96, 128)
) -> Shop:
    """Build the routes (images drawn at build time)."""
    img = "{IMG}"  # replaced by the image base URL when served
    red_tee, _ = draw_garment("tee", (200, 30, 40), seed=1)
    blue_tee, _ = draw_garment("tee", (30, 60, 200), seed=1)
    jeans, _ = draw_garment("trousers", (50, 70, 120), seed=2)
    shorts, _ = draw_garment("shorts", (200, 190, 150), seed=3)
    dress_rgb, dress_mask = draw_garment("dress", (20, 120, 60), seed=4)
    red_bytes = _jpeg(red_tee)
    r: dict[str, Route] = {}

    def html(path: str, body: bytes, status: int = 200, delay: float = 0.0) -> None:
        r[path] = Route(status, body, "text/html; charset=utf-8", delay)

    def image(path: str, body: bytes, ctype: str = "image/jpeg") -> None:
        r[path] = Route(200, body, ctype)

    r["/robots.txt"] = Route(
        200, b"User-agent: *\nDisallow: /private/\nSitemap: {PAGE}/sitemap.xml\n", "text/plain"
    )
    locs = "".join(
        f"<url><loc>{{PAGE}}{p}</loc></url>" for p in ("/p/red-tee", "/p/midi-dress", "/about")
    )
    r["/sitemap.xml"] = Route(
        200,
        (
            b'<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            b'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<sitemap><loc>{PAGE}/sitemap-products.xml</loc></sitemap></sitemapindex>"
        ),
        "application/xml",
    )
    r["/sitemap-products.xml"] = Route(
        200,
        (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
        ).encode(),
        "application/xml",
    )
    html(
        "/c/bottoms",
        _listing(
            "Bottoms",
            ["/p/denim-jeans", "/p/linen-shorts", "/p/slow-skirt", "/private/secret"],
            "/c/bottoms?page=2",
        ),
    )
    html(
        "/c/bottoms?page=2",
        _listing("Bottoms 2", ["/p/server-error", "/p/no-product", "/p/gone", "/p/loop"], None),
    )
    html(
        "/c/tops",
        _listing(
            "Tops", ["/p/red-tee", "/p/blue-tee", "/p/red-tee-2pack", "/p/broken-shirt"], None
        ),
    )
    html("/c/dresses", _listing("Dresses", ["/p/midi-dress"], None))
    html(
        "/p/denim-jeans",
        _jsonld_product(
            "denim-jeans",
            "Denim Jeans",
            [
                f"{img}/img/denim-jeans.jpg",
                f"{img}/img/denim-jeans-model.jpg",
                "http://127.0.0.3:9/img/x.jpg",
            ],
            category="Jeans",
            color="indigo",
            price="59000",
            sku="J-100",
        ),
    )
    html(
        "/p/red-tee",
        _jsonld_product(
            "red-tee",
            "Basic Tee",
            [f"{img}/img/red-tee.jpg"],
            category="Tees",
            color="red",
            price="19900",
            sku="T-1-RED",
        ),
    )
    html(
        "/p/red-tee-2pack",
        _jsonld_product(
            "red-tee-2pack",
            "Basic Tee 2-pack",
            [f"{img}/img/red-tee-2pack.jpg"],
            category="Tees",
            color="red",
            price="34900",
            sku="T-2-RED",
        ),
    )
    html(
        "/p/midi-dress",
        _jsonld_product(
            "midi-dress",
            "Midi Dress",
            [f"{img}/img/midi-dress.png"],
            category="Dresses",
            color="green",
            price="89000",
            sku="D-7",
        ),
    )
    html(
        "/p/broken-shirt",
        _jsonld_product(
            "broken-shirt",
            "Broken Shirt",
            [f"{img}/img/broken.jpg", f"{img}/img/not-an-image.jpg"],
            category="Shirts",
            color="white",
            price="1000",
            sku="B-0",
        ),
    )
    og = (
        "<meta property='og:type' content='product'>"
        "<meta property='og:title' content='Basic Tee (Blue)'>"
        f"<meta property='og:image' content='{img}/img/blue-tee.jpg'>"
        "<meta property='product:price:amount' content='19900'>"
        "<meta property='product:price:currency' content='KRW'>"
        "<meta property='product:brand' content='Fixture'>"
        "<meta property='product:color' content='blue'>"
        "<meta property='product:retailer_item_id' content='T-1-BLUE'>"
        "<meta property='og:description' content='The basic tee in blue.'>"
    )
    html("/p/blue-tee", _page("Basic Tee (Blue)", "<h1>Basic Tee</h1>", og))
    html(
        "/p/linen-shorts",
        _page(
            "Linen Shorts",
            "<h1 class='product-name'>Linen Shorts</h1><div class='brand'>Fixture</div>"
            "<span class='price'>₩39,000</span><span class='color'>sand</span>"
            f"<div class='gallery'><img src='{img}/img/linen-shorts_small.jpg' "
            f"data-zoom='{img}/img/linen-shorts_small.jpg'></div>",
        ),
    )
    html("/p/server-error", _page("oops", "<h1>Internal error</h1>"), status=500)
    html("/p/slow-skirt", _page("Slow Skirt", "<h1>slow</h1>"), delay=slow_s)
    html("/p/gone", _page("404", "<h1>gone</h1>"), status=404)
    html("/p/no-product", _page("About us", "<h1>About us</h1><p>No product here.</p>"))
    html("/private/secret", _page("Secret", "<h1>secret</h1>"))
    html("/about", _page("About", "<p>about</p>"))

    image("/img/denim-jeans.jpg", _jpeg(jeans))
    image("/img/denim-jeans-model.jpg", _jpeg(model_photo(seed=5)))
    image("/img/red-tee.jpg", red_bytes)
    image("/img/red-tee-2pack.jpg", red_bytes)  # same bytes, another URL
    image("/img/blue-tee.jpg", _jpeg(blue_tee))
    image("/img/linen-shorts.jpg", _jpeg(shorts))
    image("/img/midi-dress.png", _png_rgba(dress_rgb, dress_mask), "image/png")
    image("/img/broken.jpg", b"\xff\xd8\xff\xe0 this is not really a JPEG" * 10)
    r["/img/not-an-image.jpg"] = Route(200, _page("x", "<p>not an image</p>"), "text/html")

    if bulk:
        small, _ = draw_garment("tee", (120, 120, 120), bulk_image_wh, texture=False)
        small_jpeg = _jpeg(small, 80)
        per_page = 50
        pages = (bulk + per_page - 1) // per_page
        for p in range(pages):
            ids = range(p * per_page, min(bulk, (p + 1) * per_page))
            path = "/c/bulk" if p == 0 else f"/c/bulk?page={p + 1}"
            nxt = f"/c/bulk?page={p + 2}" if p + 1 < pages else None
            html(path, _listing(f"Bulk {p + 1}", [f"/p/bulk-{i}" for i in ids], nxt))
            for i in ids:
                html(
                    f"/p/bulk-{i}",
                    _jsonld_product(
                        f"bulk-{i}",
                        f"Bulk Tee {i}",
                        [f"{img}/img/bulk-{i}.jpg"],
                        category="Tees",
                        color="grey",
                        price="10000",
                        sku=f"BULK-{i}",
                    ),
                )
                image(f"/img/bulk-{i}.jpg", small_jpeg)
    return Shop(r)


def _handler(shop: Shop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            host = self.headers.get("Host", "")
            with shop.lock:
                shop.log.append((host.split(":")[0], self.path))
            route = shop.routes.get(self.path)
            if self.path.startswith("/p/loop"):  # an endless chain of redirects
                n = int(self.path.partition("?n=")[2] or 0)
                route = Route(302, b"", "text/html", location=f"/p/loop?n={n + 1}")
            if route is None:
                route = Route(404, _page("404", "<h1>not found</h1>"), "text/html")
            if route.delay:
                time.sleep(route.delay)
            body = route.body.replace(b"{IMG}", shop.image_base.encode())
            body = body.replace(b"{PAGE}", shop.page_base.encode())
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", route.ctype)
                self.send_header("Content-Length", str(len(body)))
                if route.location:
                    self.send_header("Location", route.location)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops connections under 16 concurrent requests
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up (timeouts, refused large files) are part of the tests


@contextmanager
def serve(shop: Shop, *, port: int = 0) -> Iterator[Shop]:
    """Serve ``shop`` on 127.0.0.1 in a daemon thread, on ``port`` (0: a free one).

    Raises:
        OSError: the port cannot be bound.
    """
    server = _Server(("127.0.0.1", port), _handler(shop))
    shop.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()
