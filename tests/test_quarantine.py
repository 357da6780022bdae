"""The one quarantine report (``item,reason``), its counting rule, and shard packing."""

from __future__ import annotations

import pytest

from pgdata.io.reports import count_reasons, read_rejected_csv, reason_kind, write_rejected_csv
from pgdata.jobs.tryon.common import read_rejected, write_rejected
from pgdata.shards.build import pack, shard_file


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("duplicate_near (of shop/a.jpg: hash distance 0, ΔE 0.1)", "duplicate_near"),
        ("no person detected", "no person detected"),
        ("size mismatch: parsing is 10x20, image is 20x40 (W x H)", "size mismatch"),
        ("no garment found (auto mask covers < 1%)", "no garment found"),
        ("/data/x.png: unknown labels [21]", "/data/x.png"),
        ("", ""),
    ],
)
def test_reason_kind_ends_at_the_first_detail(reason, kind):
    assert reason_kind(reason) == kind


def test_report_bytes_quoting_and_round_trip(tmp_path):
    rows = [("a.jpg", "plain"), ("b,c.jpg", 'says "no"'), ("d.jpg", "two\nlines")]
    path = tmp_path / "rejected.csv"
    write_rejected_csv(path, rows)
    assert path.read_bytes() == (
        b'item,reason\na.jpg,plain\n"b,c.jpg","says ""no"""\nd.jpg,"two\nlines"\n'
    )
    assert read_rejected_csv(path) == rows
    assert read_rejected_csv(tmp_path / "absent.csv") == []
    assert count_reasons([("x", "too_small (x2)"), ("y", "too_small (x3)"), ("z", "bad")]) == {
        "too_small": 2,
        "bad": 1,
    }


def test_each_try_on_stage_replaces_only_its_own_report(tmp_path):
    write_rejected(tmp_path, "parsing", [("test/1", "no parsing result")])
    write_rejected(tmp_path, "agnostic", [("test/2", "no keypoints")])
    write_rejected(tmp_path, "keypoints", [])  # nothing rejected, no report before: no file
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "rejected-agnostic.csv",
        "rejected-parsing.csv",
    ]
    write_rejected(tmp_path, "parsing", [])  # a clean rerun empties its own report only
    assert (tmp_path / "rejected-parsing.csv").read_text() == "item,reason\n"
    assert read_rejected(tmp_path) == [("agnostic", "test/2", "no keypoints")]


def test_pack_rolls_over_by_size_and_split():
    ten_bytes = 10 / 1e6  # limit in MB
    assert pack([4, 4, 4, 20, 1], ten_bytes) == [[0, 1], [2], [3], [4]]
    assert pack([4, 4, 4], 1.0, ["train", "train", "test"]) == [[0, 1], [2]]
    assert pack([], 1.0) == []
    assert shard_file("train", 12) == "train-00012.h5"
