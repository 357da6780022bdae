"""kill -9 of ``pgdata crawl`` on the demo shop (served here on 127.0.0.1, every request logged):
the rerun stores the items and files of an uninterrupted crawl, and no file stored before the
kill is downloaded again (server hits counted per image URL).

The shop is the demo shop with :data:`BULK` extra products (one JPEG each, served with a small
delay so the crawl lasts long enough to be killed in the middle).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from pgdata.config import resolve_bundled
from pgdata.crawl.demo_shop import STORE_NAME, make_shop, serve
from tests.faults import harness
from tests.faults.harness import Kill, kill9, pgdata, replay, wait_until

BULK = 60  # products of /c/bulk
IMAGE_DELAY_S = 0.02  # per image request
SHORT, LONG = 1, 4
POINTS = [
    *range(SHORT),
    *(pytest.param(i, marks=pytest.mark.faults_long) for i in range(SHORT, SHORT + LONG)),
]
VOLATILE = ("crawled_at",)  # item fields that differ between any two crawls


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):
    """The demo shop served for the module, and its store config with a ``bulk`` category."""
    d = tmp_path_factory.mktemp("faults-shop")
    demo = make_shop(bulk=BULK, slow_s=0.2)
    for path, route in demo.routes.items():
        if path.startswith("/img/bulk-"):
            route.delay = IMAGE_DELAY_S
    with serve(demo) as running:
        store = running.store_toml(
            d / f"{STORE_NAME}.toml", resolve_bundled("crawlers", STORE_NAME)
        )
        text = store.read_text().replace(
            "[categories]\n", f'[categories]\nbulk = ["{running.page_base}/c/bulk"]\n'
        )
        store.write_text(text)
        yield running, store


def _crawl(store: Path, out: Path) -> list[str]:
    return pgdata(
        "crawl", "--store", store, "--out", out, "--category", "bulk", "--delay", "0",
        "--no-autothrottle", "--per-domain", "4", "--concurrency", "8", "--timeout", "10",
    )  # fmt: skip


def _items(folder: Path) -> dict[str, dict[str, object]]:
    """items.jsonl by product URL, without the fields that differ between crawls."""
    found = {}
    for line in (folder / STORE_NAME / "items.jsonl").read_text().splitlines():
        item = json.loads(line)
        found[item["url"]] = {k: v for k, v in item.items() if k not in VOLATILE}
    return found


def _files(folder: Path) -> dict[str, str]:
    files = folder / STORE_NAME / "files"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files.iterdir())}


def _image_hits(log: list[tuple[str, str]]) -> Counter[str]:
    return Counter(path for _, path in log if path.startswith("/img/"))


@pytest.fixture(scope="module")
def reference(shop, tmp_path_factory: pytest.TempPathFactory):
    """An uninterrupted crawl: its items, its files, and the image hits it made."""
    running, store = shop
    d = tmp_path_factory.mktemp("faults-crawl-ref")
    before = len(running.requested())
    rc, _, err = harness.run(_crawl(store, d / "crawl"), d / "crawl")
    assert rc == 0, err[-3000:]
    hits = _image_hits(running.requested()[before:])
    assert hits and max(hits.values()) == 1  # the crawler itself never fetches a file twice
    items = _items(d / "crawl")
    assert len(items) >= BULK
    return items, _files(d / "crawl")


@pytest.mark.parametrize("index", POINTS)
def test_a_killed_crawl_resumes_to_the_same_items_without_downloading_a_file_twice(
    shop, reference, tmp_path, index
):
    running, store = shop
    ref_items, ref_files = reference
    rng = harness.rng("crawl", index)
    after, delay = rng.randint(1, BULK // 2), rng.uniform(0, 0.05)
    why = replay("crawl", index)
    out = tmp_path / "crawl"
    items = out / STORE_NAME / "items.jsonl"
    files = out / STORE_NAME / "files"

    start = len(running.requested())
    proc = harness.start(_crawl(store, out), tmp_path / "killed")
    try:
        wait_until(lambda: harness.lines(items) >= after, 120, f"{after} items; {why}")
        time.sleep(delay)
        kill9(proc.pid)
        proc.wait(timeout=30)
    finally:
        kill9(proc.pid)
    killed_log = running.requested()[start:]
    stored = {p.name for p in files.iterdir()} if files.is_dir() else set()
    stored = {name for name in stored if not name.startswith(".")}  # temporaries are not files
    kept_items = harness.lines(items)

    mid = len(running.requested())
    rc, _, err = harness.run(_crawl(store, out), tmp_path / "rerun")
    assert rc == 0, f"{why}\n{err[-3000:]}"
    rerun_log = running.requested()[mid:]

    assert _items(out) == ref_items, why
    assert _files(out) == ref_files, why
    assert not [p for p in files.iterdir() if p.name.startswith(".")], why  # no temporaries
    # no file stored before the kill is requested again; a file in flight at most twice
    first, second = _image_hits(killed_log), _image_hits(rerun_log)
    by_name = {
        json.loads(line)["images"][0]["path"].split("/")[-1]: json.loads(line)["images"][0]["url"]
        for line in (out / STORE_NAME / "items.jsonl").read_text().splitlines()
    }
    again = [name for name in stored if name in by_name and second[_path(by_name[name])]]
    assert again == [], (why, again)
    assert all(first[p] + second[p] <= 2 for p in first | second), why
    twice = sorted(p for p in first | second if first[p] + second[p] == 2)
    # products already in items.jsonl are not requested again either
    done_before = {json.loads(x)["url"] for x in items.read_text().splitlines()[:kept_items]}
    pages = {f"{running.page_base}{path}" for _, path in rerun_log}
    assert not done_before & pages, why
    lost = len(set(ref_files) - set(_files(out)))
    point = (
        f"after {kept_items} items, {len(stored)} files stored (+{delay * 1e3:.0f} ms); "
        f"{len(twice)} file(s) in flight fetched again"
    )
    harness.KILLS.append(Kill("crawl", index, point, survived=True, lost=lost))


def _path(url: str) -> str:
    """``/img/x.jpg`` of an image URL (what the server logs)."""
    return "/" + url.split("/", 3)[3]
