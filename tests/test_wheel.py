"""The wheel carries the bundled recipes and configs: ``pip install`` it, build from names.

The wheel is built from this checkout by the project's own build backend (offline: no build
isolation, no index), installed into a fresh venv whose dependencies come from the running
environment through a ``.pth`` file (pgdata itself only from the wheel), and run from a folder
outside the checkout, where ``pipelines/``, ``crawlers/`` and ``train/`` do not exist.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ("pipelines", "crawlers", "train")


def _run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


@pytest.mark.slow
def test_installed_wheel_builds_the_samples_from_bundled_recipes(tmp_path):
    pytest.importorskip("hatchling", reason="the build backend (`make install` installs it)")
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["-q", "-w", str(dist), str(ROOT)],
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("pgdata-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("pgdata/", "pgdata-")) for n in names), "the wheel holds pgdata only"
    # the reference files of tests/data (VITON-HD is CC BY-NC: tests only) never ship
    test_data = {p.name for p in (ROOT / "tests" / "data").rglob("*") if p.is_file()}
    shipped = {n.rsplit("/", 1)[-1] for n in names}
    assert not (test_data - {"README.md"}) & shipped, "tests/data files inside the wheel"
    for kind in BUNDLED:
        expected = {f"pgdata/_bundled/{kind}/{p.name}" for p in (ROOT / kind).glob("*.toml")}
        assert expected <= set(names), f"{kind}/ is not bundled"

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        cwd=tmp_path,
    )
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp_path,
        ).stdout.strip()
    )
    (site / "_pgdata_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([str(python), "-c", "import pgdata; print(pgdata.__file__)"], cwd=work).stdout
    assert Path(where.strip()).is_relative_to(venv), f"pgdata imported from {where}"
    pgdata = str(venv / "bin" / "pgdata")

    listed = _run([pgdata, "recipes"], cwd=work).stdout
    assert "deepfashion" in listed and "fixture_shop" in listed and str(venv) in listed

    _run([pgdata, "sample", "--out", "inshop", "--ids", "4", "--views", "2"], cwd=work)
    _run(
        [pgdata, "build-pairs", "--dataset", "deepfashion", "--source", "inshop", "--out", "pairs"]
        + ["--images", "256x176"],
        cwd=work,
    )
    built = _run(
        [pgdata, "build", "--recipe", "deepfashion", "--source", "pairs", "--out", "shards"],
        cwd=work,
    )
    assert built.stdout.splitlines()[-1].startswith("build: wrote 2 shards")
    manifest = json.loads((work / "shards" / "manifest.json").read_text())
    assert manifest["config"]["dataset"] == "deepfashion" and manifest["counts"]["records"]

    _run(
        [pgdata, "sample", "--out", "tryon", "--kind", "tryon", "--ids", "2", "--size", "256x192"],
        cwd=work,
    )
    built = _run(
        [pgdata, "build", "--recipe", "viton-hd", "--source", "tryon", "--out", "tshards"],
        cwd=work,
    )
    assert "build: wrote 1 try-on shards" in built.stdout and "rejected 0" in built.stdout
    assert json.loads((work / "tshards" / "manifest.json").read_text())["counts"]["records"] == {
        "test": 2
    }

    crawl = _run(
        [pgdata, "crawl", "--store", "fixture_shop", "--out", "c", "--category", "hats"],
        cwd=work,
        check=False,
    )
    assert crawl.returncode == 2 and "no category 'hats' in" in crawl.stderr  # the store resolved
