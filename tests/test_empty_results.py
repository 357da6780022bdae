"""Empty or all-rejected results are failures (issue 10, point 7): exit 1 after the summary, with
one line that says what was expected and the most common rejection reason with its fix."""

from __future__ import annotations

import pytest

from pgdata.cli import cli


def _error_line(res) -> str:
    """The one ``Error: ...`` line of a failed command (stderr), checked to be alone."""
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error: ")]
    assert res.exit_code == 1 and len(errors) == 1, res.output
    return errors[0]


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory) -> object:
    from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample

    out = tmp_path_factory.mktemp("empty") / "inshop"
    run_sample(SampleConfig(out=out, ids=3, views=2))
    return out


def test_build_of_pairs_without_images_fails_and_says_run_build_pairs_with_images(
    runner, small_tree, tmp_path
):
    pairs, shards = tmp_path / "pairs", tmp_path / "shards"
    args = ["build-pairs", "--dataset", "deepfashion", "--source", str(small_tree)]
    assert runner.invoke(cli, [*args, "--out", str(pairs)]).exit_code == 0
    res = runner.invoke(cli, ["build", "--source", str(pairs), "--out", str(shards)])
    line = _error_line(res)
    assert "build: wrote 0 shards, reused 0 complete shards" in res.stdout  # the summary first
    assert "build kept no image" in line
    assert "most common rejection: annotation row without image (6 of 6)" in line
    assert line.endswith("run `pgdata build-pairs` with --images 256x176")
    # the folder left behind is an empty shard set: verify fails on it too
    line = _error_line(runner.invoke(cli, ["verify", str(shards)]))
    assert "the manifest lists 0 shards" in line


def test_build_pairs_reading_no_image_fails(runner, small_tree, tmp_path):
    (tmp_path / "train.lst").write_text("fashionMENDenimid0000000101_1front.jpg\n")
    (tmp_path / "test.lst").write_text("fashionMENDenimid0000000201_1front.jpg\n")
    res = runner.invoke(
        cli,
        ["build-pairs", "--dataset", "deepfashion", "--source", str(small_tree)]
        + ["--out", str(tmp_path / "p"), "--train-list", str(tmp_path / "train.lst")]
        + ["--test-list", str(tmp_path / "test.lst")],
    )
    line = _error_line(res)
    assert res.stdout.splitlines()[-1].startswith("build-pairs: train: read 0")
    assert f"build-pairs read no image under {small_tree}" in line
    assert "most common rejection: not in the split lists / partition file (6 of 6)" in line
    assert "check --train-list/--test-list" in line


def test_tryon_stages_rejecting_everything_fail(runner, tmp_path):
    root = tmp_path / "viton"
    args = ["sample", "--out", str(root), "--kind", "tryon", "--ids", "2", "--size", "256x192"]
    assert runner.invoke(cli, args).exit_code == 0
    line = _error_line(runner.invoke(cli, ["agnostic", str(root)]))
    assert line.startswith(
        "Error: agnostic rejected all 2 items; most common rejection: no parsing"
    )
    assert "run `pgdata parsing ROOT --import DIR`" in line

    res = runner.invoke(cli, ["tryon", str(root), "--stages", "parsing,agnostic"])
    line = _error_line(res)
    assert line.startswith("Error: tryon: agnostic rejected all 2 items")
    notices = [x for x in res.stderr.splitlines() if x.startswith("notice:")]
    assert notices and not any("None" in x for x in notices), notices
    assert "parsing: left out (no import folder given; give --parsing-import DIR" in notices[0]

    # a try-on root given to the pose-transfer default recipe says which recipe to use
    line = _error_line(
        runner.invoke(cli, ["build", "--source", str(root), "--out", str(tmp_path / "s")])
    )
    assert "--recipe viton-hd (pipelines/viton-hd.toml)" in line
