"""End to end: ``pgdata crawl`` (in a subprocess) against the fixture shop on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from pgdata.cli import cli
from pgdata.crawl.demo_shop import (
    EXPECTED_FILES,
    EXPECTED_GARMENTS,
    EXPECTED_ITEMS,
    Shop,
    make_shop,
    serve,
)

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "crawlers" / "fixture_shop.toml"  # the store config of the demo shop
# politeness off for the loopback shop; a 1 s timeout makes the slow page a timeout
FAST = [
    "--delay",
    "0",
    "--no-autothrottle",
    "--per-domain",
    "8",
    "--timeout",
    "1",
    "--retries",
    "0",
]


def crawl(
    store: Path, out: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pgdata", "crawl", "--store", str(store), "--out", str(out), *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def items(out: Path) -> list[dict]:
    path = out / "fixture_shop" / "items.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def report(out: Path) -> dict:
    return json.loads((out / "fixture_shop" / "crawl-report.json").read_text())


def stored_files(out: Path) -> list[Path]:
    d = out / "fixture_shop" / "files"
    return sorted(p for p in d.iterdir() if not p.name.startswith(".")) if d.is_dir() else []


BULK = 60


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    with serve(make_shop(slow_s=2.0, bulk=BULK)) as s:
        yield s


@pytest.fixture(scope="module")
def store(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shop.store_toml(tmp_path_factory.mktemp("store") / "fixture_shop.toml", STORE)


@pytest.fixture(scope="module")
def full_crawl(
    shop: Shop, store: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list]:
    """One complete crawl; returns (out, the shop log lines of that crawl)."""
    out = tmp_path_factory.mktemp("crawl")
    start = len(shop.requested())
    proc = crawl(store, out, *FAST)
    assert "crawl fixture_shop: 6 new items" in proc.stdout
    return out, shop.requested()[start:]


@pytest.mark.slow
def test_crawl_counts_and_manifest(full_crawl: tuple[Path, list]) -> None:
    out, _ = full_crawl
    got = items(out)
    assert len(got) == EXPECTED_ITEMS
    assert len({i["url"] for i in got}) == EXPECTED_ITEMS
    files = stored_files(out)
    assert len(files) == EXPECTED_FILES
    listed = [img for i in got for img in i["images"]]
    assert sorted(out / "fixture_shop" / img["path"] for img in listed) == files
    for img in listed:
        path = out / "fixture_shop" / img["path"]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == img["sha256"]
        with Image.open(path) as im:
            assert (im.width, im.height) == (img["width"], img["height"])
        # names come from hashes, never from the URL
        assert path.stem == hashlib.sha1(img["url"].encode()).hexdigest()


@pytest.mark.slow
def test_crawl_fields_and_sources(full_crawl: tuple[Path, list]) -> None:
    out, _ = full_crawl
    by_slug = {i["url"].rsplit("/", 1)[-1]: i for i in items(out)}
    assert set(by_slug) == {
        "denim-jeans",
        "red-tee",
        "red-tee-2pack",
        "blue-tee",
        "midi-dress",
        "linen-shorts",
    }
    jeans = by_slug["denim-jeans"]
    assert (jeans["product_id"], jeans["brand"], jeans["price"], jeans["currency"]) == (
        "J-100",
        "Fixture",
        59000.0,
        "KRW",
    )
    assert jeans["category"] == "bottom" and jeans["raw_category"] == "Jeans"
    assert len(jeans["images"]) == 2  # the image on an unlisted host was skipped
    blue = by_slug["blue-tee"]
    assert blue["field_sources"]["name"] == "opengraph" and blue["color"] == "blue"
    assert blue["category"] == "top" and blue["field_sources"]["category"] == "listing"
    shorts = by_slug["linen-shorts"]
    assert shorts["field_sources"]["name"] == "selector" and shorts["price"] == 39000.0
    assert shorts["image_urls"][0].endswith("/img/linen-shorts.jpg")  # rewritten from _small
    dress = by_slug["midi-dress"]
    assert dress["category"] == "dress"
    (png,) = dress["images"]
    assert png["mode"] == "RGBA" and png["content_type"] == "image/png"
    with Image.open(out / "fixture_shop" / png["path"]) as im:
        assert im.mode == "RGBA" and im.getextrema()[3][0] == 0  # the alpha survived


@pytest.mark.slow
def test_crawl_politeness_offsite_and_errors(full_crawl: tuple[Path, list]) -> None:
    out, log = full_crawl
    paths = [p for _, p in log]
    assert not [p for p in paths if p.startswith("/private/")], (
        "robots.txt disallowed path requested"
    )
    assert ("127.0.0.1", "/robots.txt") in log and ("localhost", "/robots.txt") in log
    images = [(h, p) for h, p in log if p.startswith("/img/")]
    assert images and {h for h, _ in images} == {"localhost"}, "images come from the media host"
    # every image URL once: the duplicate bytes under two URLs are two files
    assert max(Counter(images).values()) == 1
    rep = report(out)
    assert rep["errors"] == {
        "http_404": 1,
        "http_500": 1,
        "redirect_loop": 1,
        "timeout": 1,
        "image_broken_image": 1,
        "image_not_image_content_type": 1,
    }
    assert rep["dropped"] == {"no_image_stored": 1}
    assert rep["skipped"]["robots_forbidden"] == 1
    assert rep["skipped"]["offsite_image_urls"] == 1
    assert rep["skipped"]["no_product_pages"] == 1
    assert (rep["items"], rep["items_total"], rep["images"]) == (6, 6, EXPECTED_FILES)
    assert rep["pages"] == 4 + 8  # 4 listing pages; 8 product pages answered 200
    assert rep["image_bytes"] == sum(p.stat().st_size for p in stored_files(out))
    assert rep["bytes"] > rep["image_bytes"] > 0 and rep["duration_s"] > 0
    assert rep["finish_reason"] == "finished"


@pytest.mark.slow
def test_rerun_downloads_nothing_again(
    shop: Shop, store: Path, full_crawl: tuple[Path, list]
) -> None:
    out, _ = full_crawl
    before = {p: p.stat().st_mtime_ns for p in stored_files(out)}
    start = len(shop.requested())
    proc = crawl(store, out, *FAST)
    log = shop.requested()[start:]
    assert "0 new items (6 in items.jsonl)" in proc.stdout
    stored_images = {
        img["url"].replace(shop.image_base, "") for i in items(out) for img in i["images"]
    }
    assert not stored_images & {p for _, p in log}  # failed images are tried again, stored ones not
    stored_pages = {i["url"].replace(shop.page_base, "") for i in items(out)}
    assert not stored_pages & {p for _, p in log}
    assert ("127.0.0.1", "/c/tops") in log  # the listings are looked at again for new products
    assert len(items(out)) == EXPECTED_ITEMS
    assert {p: p.stat().st_mtime_ns for p in stored_files(out)} == before


@pytest.mark.slow
def test_resume_after_kill(shop: Shop, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    start = len(shop.requested())
    cmd = [
        sys.executable,
        "-m",
        "pgdata",
        "crawl",
        "--store",
        str(store),
        "--out",
        str(out),
        "--delay",
        "0.15",
        "--no-autothrottle",
        "--per-domain",
        "1",
        "--timeout",
        "1",
        "--retries",
        "0",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    try:
        while len(stored_files(out)) < 3:
            assert proc.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = len(shop.requested())
    files_then = {p.name: p.stat().st_mtime_ns for p in stored_files(out)}
    items_path = out / "fixture_shop" / "items.jsonl"
    done_then = (
        {json.loads(x)["url"] for x in items_path.read_text().splitlines() if x.endswith("}")}
        if items_path.exists()
        else set()
    )
    assert 3 <= len(files_then) < EXPECTED_FILES

    crawl(store, out, *FAST)
    after = shop.requested()[killed_at:]
    got = items(out)
    assert len(got) == EXPECTED_ITEMS and len({i["url"] for i in got}) == EXPECTED_ITEMS
    assert len(stored_files(out)) == EXPECTED_FILES
    # nothing stored before the kill was fetched again, nor rewritten
    refetched = {hashlib.sha1(f"http://{h}:{shop.port}{p}".encode()).hexdigest() for h, p in after}
    assert not {Path(n).stem for n in files_then} & refetched
    assert {
        p.name: p.stat().st_mtime_ns for p in stored_files(out) if p.name in files_then
    } == files_then
    assert not {u for u in done_then if u.replace(shop.page_base, "") in {p for _, p in after}}
    assert report(out)["recovered_after_kill"] is True
    assert len(shop.requested()) > start


@pytest.mark.slow
def test_max_items_then_resume_and_category(shop: Shop, store: Path, tmp_path: Path) -> None:
    bulk_store = tmp_path / "bulk.toml"
    bulk_store.write_text(
        store.read_text().replace(
            "[categories]\n", f'[categories]\nbulk = ["{shop.page_base}/c/bulk"]\n'
        )
    )
    out = tmp_path / "out"
    slow = ["--delay", "0.02", "--no-autothrottle", "--per-domain", "1", "--timeout", "5"]
    proc = crawl(bulk_store, out, *slow, "--category", "bulk", "--max-items", "5")
    n1 = len(items(out))
    assert 5 <= n1 < BULK, proc.stdout
    assert report(out)["finish_reason"] == "closespider_itemcount"
    assert (out / "fixture_shop" / "job-bulk" / "requests.seen").is_file()  # JOBDIR kept
    start = len(shop.requested())
    crawl(bulk_store, out, *FAST, "--category", "bulk")
    got = items(out)
    assert len(got) == BULK and len({i["url"] for i in got}) == BULK
    assert {i["crawl_category"] for i in got} == {"bulk"}
    rep = report(out)
    assert rep["resumed"] is True and rep["items"] == BULK - n1
    # the saved queue went on from where it stopped: the first listing page was not fetched again
    assert ("127.0.0.1", "/c/bulk") not in shop.requested()[start:]


@pytest.mark.parametrize("command", ["crawl", "garments"])
def test_help(runner, command: str) -> None:
    result = runner.invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_importing_the_cli_loads_no_reactor() -> None:
    code = "import sys, pgdata.cli, pgdata.crawl.config; print('twisted.internet.reactor' in sys.modules, 'scrapy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


def test_crawl_cli_errors(runner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "bad"\nallowed_domains = ["x.example"]\nstart_urls = ["https://x.example/"]\n'
    )
    result = runner.invoke(cli, ["crawl", "--store", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "listing.product_links: expected a selector" in result.output
    good = ROOT / "crawlers" / "fixture_shop.toml"
    result = runner.invoke(
        cli, ["crawl", "--store", str(good), "--out", str(tmp_path / "o"), "--category", "hats"]
    )
    assert result.exit_code == 2
    assert "no category 'hats'" in result.output
    result = runner.invoke(
        cli, ["crawl", "--store", str(good), "--out", str(tmp_path / "o"), "--delay", "-1"]
    )
    assert result.exit_code == 2


def test_crawl_fails_when_nothing_is_stored(shop: Shop, tmp_path: Path) -> None:
    text = (
        shop.store_toml(tmp_path / "s.toml", STORE)
        .read_text()
        .replace("product_url = ", 'product_url = "/nothing/" #')
    )
    (tmp_path / "s.toml").write_text(
        text.replace(
            'product_links = "a.product::attr(href)"', 'product_links = "a.none::attr(href)"'
        )
    )
    proc = crawl(tmp_path / "s.toml", tmp_path / "out", *FAST, "--category", "dresses", check=False)
    assert proc.returncode == 1
    assert "Error: no items stored for fixture_shop" in proc.stderr


@pytest.mark.slow
def test_garments_from_the_crawl(runner, full_crawl: tuple[Path, list], tmp_path: Path) -> None:
    out, _ = full_crawl
    dest = tmp_path / "garments"
    result = runner.invoke(cli, ["garments", str(out), "--out", str(dest), "--size", "256x192"])
    assert result.exit_code == 0, result.output
    assert f"kept {EXPECTED_GARMENTS}" in result.output
    records = [json.loads(x) for x in (dest / "garments.jsonl").read_text().splitlines()]
    assert len(records) == EXPECTED_GARMENTS
    names = {r["name"] for r in records}
    assert "Basic Tee (Blue)" in names  # the colour variant is kept
    # the red tee's bytes came under two URLs (two products): one is kept, whichever came first
    assert len(names & {"Basic Tee", "Basic Tee 2-pack"}) == 1
    reasons = (dest / "rejected.csv").read_text()
    assert "duplicate_exact" in reasons and "not_packshot" in reasons
    assert {r["kind"] for r in records} == {"upper_body", "lower_body", "dresses"}
    (dress,) = [r for r in records if r["kind"] == "dresses"]
    assert dress["mask_source"] == "alpha"
    for r in records:
        with Image.open(dest / r["cloth"]) as im:
            assert (im.mode, im.size) == ("RGB", (192, 256))
        with Image.open(dest / r["cloth_mask"]) as im:
            assert (im.mode, im.size) == ("L", (192, 256))
    assert sorted(p.name for p in (dest / "cloth").iterdir()) == sorted(
        f"{r['id']}.jpg" for r in records
    )


@pytest.mark.slow
def test_oversized_files_are_refused(store: Path, tmp_path: Path) -> None:
    proc = crawl(store, tmp_path, *FAST, "--category", "tops", "--max-file-mb", "0.03", check=False)
    assert proc.returncode == 1  # nothing could be stored
    rep = report(tmp_path)
    assert rep["errors"]["image_too_large"] == 3 and rep["items_total"] == 0
    assert not stored_files(tmp_path)


@pytest.mark.slow
def test_sitemap_discovery(shop: Shop, tmp_path: Path) -> None:
    store = tmp_path / "sitemap.toml"
    store.write_text(
        'name = "fixture_shop"\n'
        'allowed_domains = ["127.0.0.1"]\n'
        'media_domains = ["localhost"]\n'
        f'sitemap_urls = ["{shop.page_base}/robots.txt"]\n'
        "product_url = '/p/[a-z0-9-]+$'\n"
    )
    crawl(store, tmp_path / "out", *FAST)
    got = items(tmp_path / "out")
    assert sorted(i["url"].rsplit("/", 1)[-1] for i in got) == ["midi-dress", "red-tee"]
    assert {i["crawl_category"] for i in got} == {"sitemap"}
    assert report(tmp_path / "out")["pages"] == 3 + 2  # robots.txt, index, URL set; 2 products
