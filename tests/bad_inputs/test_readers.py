"""Every reader of pgdata against random bytes and mutated valid files (issue 11, point 10).

Each case writes the bad bytes to a file and calls the reader the way the jobs do. The case
passes when the reader returns, or raises a PgdataError naming the file, within the time and
memory limits of :mod:`tests.bad_inputs.harness`. Shard readers must also never serve changed
bytes as good: with the manifest's sha256 checked, any change is an error, and ``pgdata
verify`` reports it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgdata.config import load_recipe
from pgdata.crawl.config import load_store
from pgdata.errors import PgdataError
from pgdata.io.files import read_bytes
from pgdata.io.images import (
    decode_image,
    decode_label_png,
    decode_mask,
    decode_rgb,
    image_size,
    imdecode_checked,
)
from pgdata.io.inshop import read_partition, read_split_list
from pgdata.io.items_jsonl import read_items
from pgdata.io.openpose import read_openpose
from pgdata.io.pose_csv import read_annotations, read_pairs
from pgdata.io.viton import read_parse_png
from pgdata.shards import verify
from pgdata.shards.encode import prepare_jpeg
from pgdata.shards.manifest import MANIFEST, read_manifest
from pgdata.shards.reader import ShardReader
from pgdata.shards.verify import verify_shards
from pgdata.training.config import load_train_config
from tests.bad_inputs import strategies as bs
from tests.bad_inputs.harness import check_apart, check_reader, profile


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the cases of this module overwrite (hypothesis runs them one by one)."""
    return tmp_path_factory.mktemp("bad")


def _file(scratch: Path, name: str, data: bytes) -> Path:
    path = scratch / name
    path.write_bytes(data)
    return path


def _text_reader(st_data, valid, scratch, kind, tokens, name, reader, read) -> None:  # noqa: ANN001
    data = st_data.draw(bs.bad_bytes(valid[kind], tokens), label=kind)
    path = _file(scratch, name, data)
    check_reader(reader, path, lambda: read(path))


@profile()
@given(st_data=st.data())
def test_annotation_csv(st_data, valid, scratch):
    _text_reader(
        st_data, valid, scratch, "annotation", bs.CSV_TOKENS, "ann.csv", "annotation CSV",
        read_annotations,
    )  # fmt: skip


@profile()
@given(st_data=st.data())
def test_pairs_csv(st_data, valid, scratch):
    _text_reader(
        st_data, valid, scratch, "pairs", bs.CSV_TOKENS, "pairs.csv", "pairs CSV", read_pairs
    )


@profile()
@given(st_data=st.data())
def test_openpose_json(st_data, valid, scratch):
    _text_reader(
        st_data, valid, scratch, "openpose", bs.JSON_TOKENS, "x_keypoints.json", "OpenPose JSON",
        read_openpose,
    )  # fmt: skip


@profile()
@given(st_data=st.data())
def test_inshop_partition(st_data, valid, scratch):
    _text_reader(
        st_data, valid, scratch, "partition", bs.TEXT_TOKENS, "list_eval_partition.txt",
        "In-shop partition", read_partition,
    )  # fmt: skip


@profile()
@given(st_data=st.data())
def test_patn_lst(st_data, valid, scratch):
    _text_reader(
        st_data, valid, scratch, "lst", bs.TEXT_TOKENS, "train.lst", "PATN .lst", read_split_list
    )


@profile()
@given(st_data=st.data())
def test_store_toml(st_data, valid, scratch):
    _text_reader(
        st_data, valid, scratch, "store", bs.TOML_TOKENS, "store.toml", "store TOML", load_store
    )


@profile()
@given(st_data=st.data())
def test_recipe_toml(st_data, valid, scratch):
    _text_reader(
        st_data, valid, scratch, "recipe", bs.TOML_TOKENS, "recipe.toml", "recipe TOML", load_recipe
    )


@profile()
@given(st_data=st.data())
def test_train_toml(st_data, valid, scratch):
    _text_reader(
        st_data, valid, scratch, "train", bs.TOML_TOKENS, "train.toml", "train TOML",
        load_train_config,
    )  # fmt: skip


@profile()
@given(st_data=st.data())
def test_items_jsonl(st_data, valid, scratch):
    _text_reader(
        st_data, valid, scratch, "items", (*bs.JSON_TOKENS, b"\n"), "items.jsonl",
        "crawl items.jsonl", lambda p: list(read_items(p)),
    )  # fmt: skip


@profile()
@given(st_data=st.data())
def test_parsing_png(st_data, valid, scratch):
    files = [valid["label_png"], valid["parse_png"]]
    path = _file(scratch, "parse.png", st_data.draw(bs.bad_bytes(files, bs.IMAGE_TOKENS)))
    check_reader("parsing PNG (grey ids)", path, lambda: decode_label_png(read_bytes(path), path))
    check_reader("parsing PNG (VITON-HD)", path, lambda: read_parse_png(path))


@profile()
@given(st_data=st.data())
def test_images(st_data, valid, scratch):
    path = _file(
        scratch,
        "photo.jpg",
        st_data.draw(bs.bad_bytes([valid["jpeg"], valid["png_rgba"]], bs.IMAGE_TOKENS)),
    )
    data = path.read_bytes()
    check_reader("image (OpenCV decode)", path, lambda: decode_rgb(read_bytes(path), path))
    check_reader("image (EXIF-aware decode)", path, lambda: decode_image(read_bytes(path), path))
    check_reader("image (header size)", path, lambda: image_size(path))
    check_reader("image (mask decode)", path, lambda: decode_mask(read_bytes(path), path))
    # the shard encoder answers with a reason instead of raising: any exception is a failure
    check_reader("image (shard encoder)", path, lambda: prepare_jpeg(data, (32, 24), 90))
    check_reader("image (strict JPEG decode)", path, lambda: imdecode_checked(data))


@profile()
@given(st_data=st.data())
def test_hdf5_shard(st_data, valid, tmp_path_factory):
    folder = tmp_path_factory.mktemp("shard")
    (folder / MANIFEST).write_bytes(valid["manifest"])
    data = st_data.draw(bs.bad_bytes(valid["shard"], bs.HDF5_TOKENS), label="shard")
    path = _file(folder, "train-00000.h5", data)
    entry = read_manifest(folder).shards[0]

    def read_all(reader: ShardReader) -> None:
        try:
            n = len(reader)
            for col in reader.schema.columns:
                if col.kind == "encoded":
                    for i in range(n):
                        reader.encoded(col.name, i)
                else:
                    reader.column(col.name)
            reader.table("pairs")
        finally:
            reader.close()

    check_apart("HDF5 shard", path, lambda: read_all(ShardReader(path)))
    changed = data != valid["shard"]
    checked = ShardReader(path, expect=entry, verify_sha256=True)
    if changed:  # never served as good
        with pytest.raises(PgdataError, match=re.escape(str(path))):
            read_all(checked)
    report = verify_shards(folder)  # reports faults, never raises for a shard's bytes
    assert bool(report.faults) == changed, report.faults


@profile()
@given(st_data=st.data())
def test_manifest(st_data, valid, tmp_path_factory):
    folder = tmp_path_factory.mktemp("manifest")
    (folder / "train-00000.h5").write_bytes(valid["shard"])
    data = st_data.draw(bs.bad_bytes(valid["manifest"], bs.JSON_TOKENS), label="manifest")
    path = _file(folder, MANIFEST, data)
    check_reader("manifest", path, lambda: read_manifest(folder))
    check_reader("manifest (verify)", path, lambda: verify_shards(folder))


# one byte inserted into the valid shard (found by the long profile): libhdf5 then loops forever
# in H5HG__cache_heap_deserialize while reading the schema attribute
HEAP_LOOP = (11678, b"\xea")
VALID_SHARD_SHA256 = "ffaf4a3bb6c257a13441b88731cc9f295cca794c07de12f3f01919074db8ee1c"


def test_a_shard_libhdf5_cannot_read_never_hangs_pgdata(valid, tmp_path, monkeypatch):
    if hashlib.sha256(valid["shard"]).hexdigest() != VALID_SHARD_SHA256:
        pytest.skip("the valid shard's bytes changed (another h5py?): the case no longer applies")
    at, byte = HEAP_LOOP
    (tmp_path / MANIFEST).write_bytes(valid["manifest"])
    path = _file(tmp_path, "train-00000.h5", valid["shard"][:at] + byte + valid["shard"][at:])
    monkeypatch.setattr(verify, "PARSE_TIMEOUT_S", 3.0)
    faults = verify_shards(tmp_path).faults  # parsed apart, given up after the timeout
    assert (
        faults[-1] == "train-00000.h5: damaged beyond reading (libhdf5 gave no answer or crashed)"
    )
    entry = read_manifest(tmp_path).shards[0]
    with pytest.raises(PgdataError, match=r"18620 bytes, manifest\.json says 18619"):  # not parsed
        len(ShardReader(path, expect=entry, verify_sha256=True))
