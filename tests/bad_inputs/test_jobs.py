"""A whole ``pgdata build`` on a source with a mutated annotation or pair CSV (issue 11, point 10).

Whatever the bytes, the build either completes (a manifest, shards that verify) or stops with a
PgdataError naming a file and leaves no half-written output: no manifest, no partial shard, no
lock.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pgdata.errors import PgdataError
from pgdata.io.lock import LOCK_NAME
from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.shards.manifest import MANIFEST
from pgdata.shards.verify import verify_shards
from tests.bad_inputs import strategies as bs
from tests.bad_inputs.harness import COUNTS, ERRORS, HANG_S, hard_timeout, profile

CSVS = ("fasion-resize-annotation-train.csv", "fasion-resize-pairs-train.csv")
BUILD_CASES = 8  # a build takes a second: fewer cases than a reader gets


@profile(most=BUILD_CASES)
@given(st_data=st.data())
def test_build_leaves_no_half_written_output(st_data, tiny_pairs, tmp_path_factory):
    work = tmp_path_factory.mktemp("job")
    src = Path(shutil.copytree(tiny_pairs, work / "src"))
    name = st_data.draw(st.sampled_from(CSVS), label="file")
    data = st_data.draw(bs.bad_bytes((src / name).read_bytes(), bs.CSV_TOKENS), label="bytes")
    (src / name).write_bytes(data)
    out = work / "out"
    COUNTS["pgdata build (CSV inputs)"] += 1
    with hard_timeout(HANG_S):
        try:
            run_build(BuildConfig(source=src, out=out, image_hw=(64, 48), parsing=False))
        except PgdataError as e:
            ERRORS["pgdata build (CSV inputs)"] += 1
            assert str(src) in str(e) or str(out) in str(e), f"names no file: {e}"
            assert not (out / MANIFEST).exists()
        else:
            assert verify_shards(out, quick=True).faults == []
    if out.is_dir():
        assert not list(out.glob("*.partial")), "a partial shard was left behind"
        assert not (out / LOCK_NAME).exists(), "the lock was not released"
