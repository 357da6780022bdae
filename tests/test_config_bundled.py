"""Recipes and configs by name (``resolve_bundled``), recipe loading, ``pgdata recipes``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgdata.cli import cli
from pgdata.config import RECIPE_TABLES, list_bundled, load_recipe, resolve_bundled
from pgdata.errors import ConfigError
from pgdata.jobs.tryon.pipeline import STAGES

ROOT = Path(__file__).resolve().parents[1]


def _stems(kind: str) -> list[str]:
    return sorted(p.stem for p in (ROOT / kind).glob("*.toml"))


@pytest.mark.parametrize("kind", ["pipelines", "crawlers", "train"])
def test_a_checkout_bundles_its_root_folders(kind):
    assert list_bundled(kind) == _stems(kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "spelling", ["deepfashion", "deepfashion.toml", "pipelines/deepfashion.toml"]
)
def test_names_resolve_from_any_folder(spelling, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = resolve_bundled("pipelines", spelling)
    assert found.read_bytes() == (ROOT / "pipelines" / "deepfashion.toml").read_bytes()


def test_a_file_that_exists_wins_over_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("fixture_shop").write_text('name = "mine"\n')
    assert resolve_bundled("crawlers", "fixture_shop") == Path("fixture_shop")
    assert resolve_bundled("crawlers", tmp_path / "fixture_shop") == tmp_path / "fixture_shop"


def test_unknown_names_list_what_is_bundled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="bundled: " + ", ".join(_stems("pipelines"))):
        resolve_bundled("pipelines", "deepfahsion")
    with pytest.raises(ConfigError, match="no such file"):
        resolve_bundled("pipelines", "elsewhere/deepfashion.toml")  # a path is not a name
    with pytest.raises(ConfigError, match="bundled files are"):
        resolve_bundled("recipes", "deepfashion")  # type: ignore[arg-type]


def test_load_recipe_checks_kind_and_tables(tmp_path):
    assert load_recipe(None).kind == "pose-transfer" and load_recipe(None).table("build") == {}
    assert load_recipe(None, default_kind="tryon").origin == "defaults"
    cases = {
        'kind = "video"\n': "kind = 'video'",
        '[build]\nshard_mb = 1\n[parsing]\nscheme = "lip"\n': "unknown top-level key(s) ['parsing']",
        'kind = "tryon"\nbuild = 3\n': "[build] must be a table",
    }
    for i, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"r{i}.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(message)) as err:
            load_recipe(path)
        assert str(path) in str(err.value)
    recipe = load_recipe(ROOT / "pipelines" / "viton-hd.toml")
    assert recipe.kind == "tryon" and recipe.table("agnostic") == {"quality": 95}


def test_tryon_recipe_tables_are_the_pipeline_stages():
    stage_tables = tuple(s.replace("-", "_") for s in STAGES)
    assert RECIPE_TABLES["tryon"] == ("tryon", "build", *stage_tables)


def test_recipes_command_and_names_on_the_command_line(runner, tmp_path):
    res = runner.invoke(cli, ["recipes"])
    assert res.exit_code == 0, res.output
    rows = [line.split() for line in res.output.splitlines()[:-1]]
    listed = {(kind, name) for kind, name, *_ in rows}
    assert listed == {(k, n) for k in ("pipelines", "crawlers", "train") for n in _stems(k)}
    assert all(Path(row[-1]).is_file() for row in rows)
    res = runner.invoke(
        cli, ["build", "--recipe", "nope", "--source", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "deepfashion, faces, market1501" in res.output
    res = runner.invoke(
        cli, ["crawl", "--store", "fixture_shop", "--out", str(tmp_path), "--category", "hats"]
    )
    assert res.exit_code == 2 and "no category 'hats' in" in res.output
