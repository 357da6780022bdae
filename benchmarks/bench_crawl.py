"""``pgdata crawl`` and ``pgdata garments`` throughput on the offline fixture shop.

Crawl: the demo shop (``pgdata/crawl/demo_shop.py``) serves N JSON-LD products with one
600×800 JPEG each on 127.0.0.1 (a server thread in this process); each crawler runs in its own
process pinned to one core (the server gets the other cores where there are any), politeness
off (no delay, no AutoThrottle, 16 requests per domain; robots.txt still obeyed). Side by side:

- reference: the spider people write by hand today: a minimal ``scrapy.Spider`` (listing →
  product links → JSON-LD images) with Scrapy's stock ``FilesPipeline``, ``scrapy runspider``;
- pgdata: ``pgdata crawl`` (generic spider, extraction chain, validation, hashed atomic
  files, ``items.jsonl``, JOBDIR, report).

Figures are product pages/s and image MB/s over each tool's own crawl time (process start-up
excluded). Target: pgdata >= 150 product pages/s on one core.

Garments: ``run_garments`` on M distinct synthetic 600×800 packshots (JPEG and RGBA PNG) to
384×512 (600×800 sources cannot fill 768×1024 within the 1.25× upscale limit), one process and
all cores; images/s.

Last line: one JSON object.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgdata.crawl.demo_shop import make_shop, serve  # noqa: E402
from pgdata.jobs.garments.garments import GarmentsConfig, run_garments  # noqa: E402
from pgdata.stages.synth_garments import KINDS, draw_garment  # noqa: E402

N_PRODUCTS = int(os.environ.get("BENCH_CRAWL_PRODUCTS", "1500"))
N_GARMENTS = int(os.environ.get("BENCH_GARMENTS", "120"))

REFERENCE_SPIDER = textwrap.dedent(
    """
    import json
    import scrapy


    class Ref(scrapy.Spider):
        name = "ref"
        custom_settings = {
            "ITEM_PIPELINES": {"scrapy.pipelines.files.FilesPipeline": 1},
            "FILES_URLS_FIELD": "image_urls",
        }

        async def start(self):
            yield scrapy.Request(self.start_url)

        def parse(self, response):
            for href in response.css("a.product::attr(href)").getall():
                yield response.follow(href, self.parse_product)
            nxt = response.css("a[rel=next]::attr(href)").get()
            if nxt:
                yield response.follow(nxt, self.parse)

        def parse_product(self, response):
            data = json.loads(response.css('script[type="application/ld+json"]::text').get())
            product = next(n for n in data["@graph"] if n.get("@type") == "Product")
            yield {"url": response.url, "name": product["name"], "image_urls": product["image"]}
    """
)

# politeness off for the loopback shop, robots.txt still obeyed: the same for both crawlers
FAST = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "ROBOTSTXT_OBEY": True,
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "LOG_LEVEL": "WARNING",
}

RUN_REFERENCE = textwrap.dedent(
    """
    import json, os, sys, time
    settings, start_url, stats_path, core = json.loads(sys.argv[1])
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    from scrapy.crawler import AsyncCrawlerProcess
    from ref_spider import Ref
    proc = AsyncCrawlerProcess(settings)
    crawler = proc.create_crawler(Ref)
    proc.crawl(crawler, start_url=start_url)
    t0 = time.perf_counter()
    proc.start()
    dt = time.perf_counter() - t0
    s = crawler.stats.get_stats()
    with open(stats_path, "w") as f:
        json.dump({"duration": dt, "items": s.get("item_scraped_count", 0),
                   "bytes": s.get("downloader/response_bytes", 0)}, f)
    """
)


# runs `python -m pgdata ARGS` pinned to one core (no preexec_fn: this process has threads)
RUN_PINNED = (
    "import os, runpy, sys; core = int(sys.argv.pop(1)); "
    "hasattr(os, 'sched_setaffinity') and os.sched_setaffinity(0, {core}); "
    "sys.argv[0] = 'pgdata'; runpy.run_module('pgdata', run_name='__main__')"
)


def run_reference(start_url: str, out: Path, core: int) -> tuple[float, int, int]:
    (out / "ref_spider.py").write_text(REFERENCE_SPIDER)
    stats = out / "ref_stats.json"
    settings = {**FAST, "FILES_STORE": str(out / "ref_files")}
    arg = json.dumps([settings, start_url, str(stats), core])
    subprocess.run(
        [sys.executable, "-c", RUN_REFERENCE, arg],
        check=True,
        cwd=out,
        env={**os.environ, "PYTHONPATH": str(out)},
    )
    r = json.loads(stats.read_text())
    return float(r["duration"]), int(r["items"]), int(r["bytes"])


def run_pgdata(store: Path, out: Path, core: int) -> dict:
    cmd = [
        sys.executable, "-c", RUN_PINNED, str(core), "crawl", "--store", str(store), "--out", str(out),
        "--category", "bulk", "--delay", "0", "--no-autothrottle", "--per-domain", "16",
        "--concurrency", "32", "--timeout", "30",
    ]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return json.loads((out / "fixture_shop" / "crawl-report.json").read_text())


def garment_folder(root: Path, n: int) -> Path:
    d = root / "shop"
    (d / "files").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        colour = tuple(int(c) for c in rng.integers(0, 200, 3))
        rgb, mask = draw_garment(KINDS[i % len(KINDS)], colour, (600, 800), seed=i)
        buf = io.BytesIO()
        if i % 4 == 3:
            Image.fromarray(np.dstack([rgb, mask]), "RGBA").save(buf, "PNG")
        else:
            Image.fromarray(rgb).save(buf, "JPEG", quality=92)
        data = buf.getvalue()
        rel = f"files/{i:05d}.img"
        (d / rel).write_bytes(data)
        img = {"url": f"u{i}", "path": rel, "sha256": hashlib.sha256(data).hexdigest()}
        lines.append(
            json.dumps({"store": "shop", "url": f"p{i}", "name": f"g{i}", "images": [img]})
        )
    (d / "items.jsonl").write_text("\n".join(lines) + "\n")
    return root


def main() -> None:
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    crawl_core = cores[-1]
    if len(cores) > 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cores[:-1]))  # this process (the shop server) elsewhere
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(make_shop(bulk=N_PRODUCTS, bulk_image_wh=(600, 800))) as shop,
    ):
        d = Path(tmp)
        store = shop.store_toml(d / "fixture_shop.toml", ROOT / "crawlers" / "fixture_shop.toml")
        store.write_text(
            store.read_text().replace(
                "[categories]\n", f'[categories]\nbulk = ["{shop.page_base}/c/bulk"]\n'
            )
        )
        rep = run_pgdata(store, d / "pg", crawl_core)
        (d / "ref").mkdir()
        ref_s, ref_items, ref_bytes = run_reference(
            f"{shop.page_base}/c/bulk", d / "ref", crawl_core
        )

        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(cores))  # garments: every core again
        g = garment_folder(d / "garments_src", N_GARMENTS)
        t0 = time.perf_counter()
        g1 = run_garments(GarmentsConfig(src=g, out=d / "g1", size_hw=(512, 384)))
        g1_s = time.perf_counter() - t0
        workers = max(1, len(cores))
        t0 = time.perf_counter()
        run_garments(GarmentsConfig(src=g, out=d / "gn", size_hw=(512, 384), workers=workers))
        gn_s = time.perf_counter() - t0

    pg_pps = rep["product_pages"] / rep["duration_s"]
    pg_mbs = rep["bytes"] / 1e6 / rep["duration_s"]
    ref_pps = ref_items / ref_s
    ref_mbs = ref_bytes / 1e6 / ref_s
    print(
        f"{N_PRODUCTS} products, one 600x800 JPEG each, crawler pinned to 1 core (cpu {crawl_core})"
    )
    print(f"{'':28s}{'product pages/s':>16s}{'MB/s':>8s}{'items':>7s}{'s':>7s}")
    print(f"{'reference Scrapy spider':28s}{ref_pps:16.0f}{ref_mbs:8.1f}{ref_items:7d}{ref_s:7.2f}")
    print(
        f"{'pgdata crawl':28s}{pg_pps:16.0f}{pg_mbs:8.1f}{rep['items']:7d}{rep['duration_s']:7.2f}"
    )
    print(
        f"pgdata garments, {N_GARMENTS} 600x800 packshots -> 384x512: "
        f"{N_GARMENTS / g1_s:.1f} images/s (1 process), {N_GARMENTS / gn_s:.1f} images/s ({workers} processes); kept {g1.kept}"
    )
    print(
        json.dumps(
            {
                "bench": "crawl",
                "products": N_PRODUCTS,
                "pgdata_items": rep["items"],
                "pgdata_product_pages_per_s": round(pg_pps, 1),
                "pgdata_mb_per_s": round(pg_mbs, 2),
                "reference_items": ref_items,
                "reference_product_pages_per_s": round(ref_pps, 1),
                "reference_mb_per_s": round(ref_mbs, 2),
                "ratio": round(pg_pps / ref_pps, 2),
                "target_product_pages_per_s": 150,
                "garments": N_GARMENTS,
                "garments_images_per_s_1proc": round(N_GARMENTS / g1_s, 1),
                "garments_images_per_s_all": round(N_GARMENTS / gn_s, 1),
                "garments_workers": workers,
            }
        )
    )


if __name__ == "__main__":
    main()
