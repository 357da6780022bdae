import subprocess
import sys
from pathlib import Path

import pytest

from pgdata.cli import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args", [[], ["sample"], ["build-pairs"], ["preview"], ["preview", "pairs"]]
)
def test_every_command_has_help(runner, args):
    result = runner.invoke(cli, args + ["--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_shim_and_module_entry_points():
    for cmd in (
        [sys.executable, "cli.py", "--help"],
        [sys.executable, "-m", "pgdata", "--version"],
    ):
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "pgdata" in proc.stdout


def test_sample_build_pairs_preview_end_to_end(runner, tmp_path):
    res = runner.invoke(cli, ["sample", "--out", str(tmp_path / "s"), "--ids", "5", "--views", "3"])
    assert res.exit_code == 0, res.output
    assert res.output.strip().splitlines()[-1].startswith("sample: wrote 15 images of 5 identities")
    res = runner.invoke(
        cli,
        [
            "build-pairs",
            "--dataset",
            "deepfashion",
            "--source",
            str(tmp_path / "s"),
            "--out",
            str(tmp_path / "p"),
            "--images",
            "256x176",
            "--workers",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("build-pairs: train: read ") and "pairs" in last
    assert len(list((tmp_path / "p").glob("*/*.jpg"))) == 15
    res = runner.invoke(
        cli,
        ["preview", "pairs", str(tmp_path / "p"), "--out", str(tmp_path / "pairs.html"), "-n", "4"],
    )
    assert res.exit_code == 0, res.output
    page = (tmp_path / "pairs.html").read_text()
    assert page.count("data:image/png;base64,") == 2 * int(
        res.output.split("(")[1].split(" pairs")[0]
    )
    assert "skeleton-only" in res.output


def test_annotation_mode_reproduces_published_files(runner, tmp_path, deepfashion_data):
    d = deepfashion_data / "defgan_myeongjun2"
    res = runner.invoke(
        cli,
        [
            "build-pairs",
            "--dataset",
            "market1501",
            "--annotations-test",
            str(d / "market-annotation-test.csv"),
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "market-pairs-test.csv").read_bytes() == (
        d / "market-pairs-test.csv"
    ).read_bytes()
    assert not (tmp_path / "market-pairs-train.csv").exists()  # only the split given is built
    res = runner.invoke(
        cli,
        [
            "build-pairs",
            "--dataset",
            "deepfashion",
            "--annotations-test",
            str(d / "fasion-annotation-test.csv"),
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "fasion-resize-pairs-test.csv").read_bytes() == (
        d / "fasion-pairs-test.csv"
    ).read_bytes()


def test_usage_errors_exit_2(runner, tmp_path):
    res = runner.invoke(cli, ["build-pairs", "--dataset", "market1501", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "either --source" in res.output
    res = runner.invoke(cli, ["build-pairs", "--dataset", "nope", "--out", str(tmp_path)])
    assert res.exit_code == 2
    res = runner.invoke(
        cli,
        [
            "build-pairs",
            "--dataset",
            "deepfashion",
            "--source",
            str(tmp_path),
            "--out",
            str(tmp_path),
            "--images",
            "wide",
        ],
    )
    assert res.exit_code == 2 and "height x width" in res.output
    res = runner.invoke(
        cli,
        [
            "build-pairs",
            "--dataset",
            "deepfashion",
            "--source",
            str(tmp_path),
            "--out",
            str(tmp_path),
            "--required-joints",
            "2,99",
        ],
    )
    assert res.exit_code == 2 and "0..17" in res.output


def test_runtime_errors_exit_1_with_one_line(runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name:keypoints_y:keypoints_x\nx.jpg:[1]:[2]\n")
    res = runner.invoke(
        cli,
        [
            "build-pairs",
            "--dataset",
            "market1501",
            "--annotations-test",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 1
    assert f"Error: {bad}:2: column keypoints_y has 1 values, expected 18" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(
        cli,
        [
            "build-pairs",
            "--dataset",
            "deepfashion",
            "--source",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 1 and "no In-shop image tree" in res.output
    res = runner.invoke(cli, ["preview", "pairs", str(tmp_path), "--out", str(tmp_path / "x.html")])
    assert res.exit_code == 1 and "build-pairs" in res.output
