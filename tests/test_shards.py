import pickle

import h5py
import numpy as np
import pytest

from pgdata.errors import InputFormatError
from pgdata.shards import Column, Schema, ShardReader, write_shard
from pgdata.shards.writer import ATTR_PREFIX

SCHEMA = Schema(
    "toy",
    (
        Column("image", "encoded", encoding="jpeg"),
        Column("kps", "array", "float32", (4, 3)),
        Column("label", "array", "uint8", (5, 6), "gzip"),
        Column("name", "string"),
    ),
    tables=("pairs",),
)


def _columns(n: int, rng: np.random.Generator) -> dict[str, list]:
    return {
        "image": [rng.bytes(int(k)) for k in rng.integers(0, 50, n)],
        "kps": [rng.random((4, 3)).astype(np.float32) for _ in range(n)],
        "label": [rng.integers(0, 20, (5, 6), dtype=np.uint8) for _ in range(n)],
        "name": [f"näme-{i}" for i in range(n)],
    }


def test_round_trip_is_exact_and_deterministic(tmp_path):
    cols = _columns(7, np.random.default_rng(0))
    pairs = np.array([[0, 1], [1, 0]], np.int32)
    a = write_shard(
        tmp_path / "a.h5", SCHEMA, cols, tables={"pairs": pairs}, attrs={"split": "train"}
    )
    b = write_shard(
        tmp_path / "b.h5", SCHEMA, cols, tables={"pairs": pairs}, attrs={"split": "train"}
    )
    assert a.sha256 == b.sha256 and a.records == 7  # same content, same bytes
    r = ShardReader(tmp_path / "a.h5")
    assert len(r) == 7 and r.schema == SCHEMA
    for i in range(7):
        assert r.encoded("image", i) == cols["image"][i]
        np.testing.assert_array_equal(r.array("kps", i), cols["kps"][i])
        np.testing.assert_array_equal(r.array("label", i), cols["label"][i])
    assert list(r.column("name")) == cols["name"]
    np.testing.assert_array_equal(r.table("pairs"), pairs)
    assert r.attrs["split"] == "train"
    with h5py.File(tmp_path / "a.h5") as f:  # plain h5py reads it: gzip, one record per chunk
        assert f["label"].compression == "gzip" and f["label"].chunks == (1, 5, 6)


def test_schema_mismatch_and_failed_write_leave_nothing(tmp_path):
    cols = _columns(3, np.random.default_rng(1))
    with pytest.raises(ValueError, match="missing \\['name'\\]"):
        write_shard(tmp_path / "x.h5", SCHEMA, {k: v for k, v in cols.items() if k != "name"})
    cols["kps"] = cols["kps"][:2]
    with pytest.raises(ValueError, match="different lengths"):
        write_shard(tmp_path / "x.h5", SCHEMA, cols)
    bad = _columns(2, np.random.default_rng(2))
    bad["kps"] = [np.zeros((5, 3))] * 2  # wrong per-record shape: fails inside the HDF5 write
    with pytest.raises(ValueError):
        write_shard(tmp_path / "x.h5", SCHEMA, bad)
    assert list(tmp_path.iterdir()) == []  # no shard, no .partial


def test_reader_validates_and_pickles_without_handle(tmp_path):
    write_shard(
        tmp_path / "a.h5",
        SCHEMA,
        _columns(4, np.random.default_rng(3)),
        tables={"pairs": np.zeros((0, 2), np.int32)},
    )
    r = ShardReader(tmp_path / "a.h5")
    assert len(r) == 4
    clone = pickle.loads(pickle.dumps(r))
    assert clone._file is None and len(clone) == 4
    r.close()
    clone.close()
    with h5py.File(tmp_path / "a.h5", "r+") as f:
        f["image_offsets"][2] = 10**6
    with pytest.raises(InputFormatError, match="image_offsets is inconsistent"):
        len(ShardReader(tmp_path / "a.h5"))
    with h5py.File(tmp_path / "a.h5", "r+") as f:
        f.attrs[ATTR_PREFIX + "format_version"] = 99
    with pytest.raises(InputFormatError, match="format version 99"):
        len(ShardReader(tmp_path / "a.h5"))
    with pytest.raises(InputFormatError, match="not found"):
        len(ShardReader(tmp_path / "nope.h5"))
