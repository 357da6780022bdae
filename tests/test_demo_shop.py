"""``pgdata demo-shop``: the offline shop a new user crawls (issue 10, point 6), end to end as
``make demo`` runs it: serve + crawl, then ``garments`` builds the garment shards, ``verify``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from pgdata.cli import cli
from pgdata.config import load_toml
from pgdata.crawl.demo_shop import EXPECTED_FILES, EXPECTED_GARMENTS, EXPECTED_ITEMS

ROOT = Path(__file__).resolve().parents[1]


def test_demo_shop_crawl_then_garment_shards(runner, tmp_path):
    shop = tmp_path / "shop"
    # Scrapy's reactor runs once per process: the crawl runs in a child, as from a terminal
    proc = subprocess.run(
        [sys.executable, "-m", "pgdata", "demo-shop", "--out", str(shop), "--crawl"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("demo-shop: http://127.0.0.1:")
    assert f"crawl fixture_shop: {EXPECTED_ITEMS} new items" in proc.stdout
    report = json.loads((shop / "crawl" / "fixture_shop" / "crawl-report.json").read_text())
    assert report["items"] == EXPECTED_ITEMS and report["images"] == EXPECTED_FILES

    garments = tmp_path / "garments"
    res = runner.invoke(
        cli, ["garments", str(shop / "crawl"), "--out", str(garments), "--size", "256x192"]
    )
    assert res.exit_code == 0, res.output
    assert f"kept {EXPECTED_GARMENTS}" in res.output
    res = runner.invoke(cli, ["verify", str(garments / "shards")])
    assert res.exit_code == 0 and f"{EXPECTED_GARMENTS} records" in res.output


def test_demo_shop_serves_with_its_store_config(runner, tmp_path):
    res = runner.invoke(cli, ["demo-shop", "--out", str(tmp_path), "--seconds", "0.1"])
    assert res.exit_code == 0, res.output
    first = res.stdout.splitlines()[0]
    port = int(first.split("http://127.0.0.1:")[1].split(" ")[0])
    store = load_toml(tmp_path / "fixture_shop.toml")
    assert store["allowed_domains"] == ["127.0.0.1"] and store["media_domains"] == ["localhost"]
    assert store["categories"]["tops"] == [f"http://127.0.0.1:{port}/c/tops"]
    assert f"--store {tmp_path / 'fixture_shop.toml'}" in res.stderr
    assert res.stdout.splitlines()[-1].startswith("demo-shop: stopped")


def test_demo_shop_on_a_taken_port_is_one_line(runner, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = runner.invoke(cli, ["demo-shop", "--out", str(tmp_path), "--port", str(port)])
    assert res.exit_code == 1
    assert res.output.strip().startswith(f"Error: cannot serve the demo shop on 127.0.0.1:{port}")
    assert len(res.output.strip().splitlines()) == 1
