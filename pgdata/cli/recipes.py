"""``pgdata recipes``: what TOML recipes and configs come with pgdata, and how to name them."""

from __future__ import annotations

import click

from pgdata.cli._common import echo_result, examples
from pgdata.config import BUNDLED_KINDS, bundled_dir, list_bundled

# the option that takes a bundled name of each kind
_OPTION = {"pipelines": "--recipe", "crawlers": "--store", "train": "--config"}


@click.command(
    "recipes",
    short_help="List the bundled recipes, store and training configs.",
    epilog=examples(
        "pgdata recipes",
        "pgdata build --recipe market1501 --source data/market --out shards/market",
    ),
)
def recipes() -> None:
    """List the TOML files bundled with pgdata: build recipes (pipelines/), store configs
    (crawlers/) and training configs (train/). Pass a NAME to --recipe, --store or --config
    instead of a path; a path to your own TOML file works everywhere too."""
    counts = []
    for kind in BUNDLED_KINDS:
        folder = bundled_dir(kind)
        names = list_bundled(kind)
        for name in names:
            assert folder is not None  # names come from it
            use = f"{_OPTION[kind]} {name}"
            echo_result(f"{kind:<10} {name:<14} {use:<24} {folder / (name + '.toml')}")
        counts.append(f"{len(names)} {kind}")
    echo_result("recipes: bundled " + ", ".join(counts))
