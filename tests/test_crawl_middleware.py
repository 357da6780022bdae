"""Politeness middleware and item-file helpers, without a reactor."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from scrapy.http import Request, Response
from scrapy.settings import Settings

from pgdata.crawl.middlewares import PolitenessMiddleware, retry_after_seconds
from pgdata.crawl.pipelines import media_path, probe_image
from pgdata.io.items_jsonl import read_items, repair_tail


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, n: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + n


def _middleware(slots: dict[str, SimpleNamespace]) -> PolitenessMiddleware:
    crawler = SimpleNamespace(
        settings=Settings({"AUTOTHROTTLE_MAX_DELAY": 10.0, "USER_AGENT": "pgdata/test"}),
        engine=SimpleNamespace(downloader=SimpleNamespace(slots=slots)),
        stats=_Stats(),
    )
    return PolitenessMiddleware(crawler)  # type: ignore[arg-type]


def test_crawl_delay_raises_the_slot_delay() -> None:
    slot = SimpleNamespace(delay=0.5)
    mw = _middleware({"shop.example": slot})
    parser = SimpleNamespace(crawl_delay=lambda ua: 3.0)
    mw.robots_parsed(parser, Request("https://shop.example/robots.txt"))
    assert slot.delay == 3.0
    mw.robots_parsed(
        SimpleNamespace(crawl_delay=lambda ua: 60.0), Request("https://shop.example/robots.txt")
    )
    assert slot.delay == 10.0  # capped by AUTOTHROTTLE_MAX_DELAY
    mw.robots_parsed(
        SimpleNamespace(crawl_delay=lambda ua: None), Request("https://other.example/robots.txt")
    )
    assert mw.crawler.stats.values == {"pgdata/crawl_delay": 2}  # type: ignore[union-attr]


def test_retry_after_raises_the_slot_delay() -> None:
    slot = SimpleNamespace(delay=1.0)
    mw = _middleware({"shop.example": slot})
    req = Request("https://shop.example/p/1")
    busy = Response(req.url, status=429, headers={"Retry-After": "4"}, request=req)
    assert mw.process_response(req, busy) is busy
    assert slot.delay == 4.0
    ok = Response(req.url, status=200, headers={"Retry-After": "9"}, request=req)
    mw.process_response(req, ok)
    assert slot.delay == 4.0
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after_seconds("-1") is None and retry_after_seconds(None) is None


def test_file_names_come_from_hashes() -> None:
    path = media_path("https://img.example/../../etc/passwd?x=../../a.png")
    assert path.startswith("files/") and ".." not in path and path.endswith(".img")
    png = media_path("https://img.example/a/B.PNG?v=1")
    assert png.endswith(".png") and len(Path(png).stem) == 40


def test_probe_image(tmp_path: Path) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (7, 5)).save(buf, "PNG")
    assert probe_image(buf.getvalue()) == (7, 5, "PNG", "RGBA")
    try:
        probe_image(b"<html>")
    except ValueError:
        pass
    else:
        raise AssertionError("not an image")


def test_items_jsonl_partial_last_line(tmp_path: Path) -> None:
    p = tmp_path / "items.jsonl"
    p.write_bytes(b'{"url": "a"}\n{"url": "b"}\n{"url": "c", "ima')
    assert [i["url"] for _, i in read_items(p)] == ["a", "b"]
    assert repair_tail(p) == len(b'{"url": "c", "ima')
    assert p.read_bytes() == b'{"url": "a"}\n{"url": "b"}\n'
    assert repair_tail(p) == 0
