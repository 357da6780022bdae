"""The ``pgdata`` command line: a click group whose commands live in this package's modules.

Commands stay thin: validate options, build the job's frozen config, call the library, print a
summary. Library errors (:class:`pgdata.errors.PgdataError`) become a one-line ``Error: ...`` and
exit status 1; bad options and combinations exit with 2.
"""

from __future__ import annotations

from typing import Any

import click

from pgdata import __version__
from pgdata.errors import PgdataError

__all__ = ["cli", "main"]


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PgdataError as e:
            raise click.ClickException(str(e)) from e


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "PGDATA"},
)
@click.version_option(__version__, prog_name="pgdata")
def cli() -> None:
    """Turn person and garment photos into training-ready pose-transfer and try-on datasets.

    Results go to stdout, progress and logs to stderr; every command ends with a summary line.
    Run `pgdata COMMAND --help` for the options of one command.
    """


def _register() -> None:
    from pgdata.cli import (
        aligned,
        crawl,
        demo_shop,
        evaluate,
        faces,
        garments,
        pairs,
        preview,
        recipes,
        sample,
        shards,
        train,
        tryon,
    )

    for cmd in (
        sample.sample,
        pairs.build_pairs,
        preview.preview,
        shards.build,
        shards.verify,
        shards.info,
        recipes.recipes,
        crawl.crawl,
        demo_shop.demo_shop,
        garments.garments,
        *tryon.COMMANDS,
        train.train_cmd,
        train.models_cmd,
        aligned.combine_ab,
        faces.masks,
        evaluate.eval_cmd,
        evaluate.export_cmd,
    ):
        cli.add_command(cmd)


_register()


def main() -> None:
    """Console-script entry point."""
    cli()
