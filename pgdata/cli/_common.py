"""What every command shares: option decorators, size types, config building and :func:`run_job`.

A command reads top to bottom: its options (decorators from here where one exists), a config
built by keyword with :func:`make_config` (a ``ConfigError`` becomes a usage error, exit 2), then
:func:`run_job`, which runs the library under a stderr progress bar and prints the result's
lines and ``summary()`` on stdout. Library errors (``PgdataError``) are left to the ``pgdata``
group, which prints them on one line and exits 1.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click
from click.core import ParameterSource
from tqdm import tqdm

from pgdata.config import BundledKind, resolve_bundled
from pgdata.errors import ConfigError
from pgdata.executor import DEFAULT_RETRIES

__all__ = [
    "DIR",
    "FILE",
    "Progress",
    "SizeHW",
    "SizeWH",
    "bundled_option",
    "choice_option",
    "echo_result",
    "examples",
    "force_option",
    "make_config",
    "old_spelling",
    "out_dir_option",
    "progress_bar",
    "quality_option",
    "root_argument",
    "run_job",
    "seed_option",
    "shown_option",
    "source_option",
    "strict_option",
    "takes_old_spelling",
    "workers_option",
]

Progress = Callable[[int], None]
"""``update(n)``: n more items done (what a job's ``progress`` argument receives)."""
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
C = TypeVar("C")

# an existing input folder / file, as a Path
DIR = click.Path(exists=True, file_okay=False, path_type=Path)
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)

if TYPE_CHECKING:
    _SizeBase = click.ParamType[tuple[int, int]]
else:  # click < 8.4 has no subscriptable ParamType
    _SizeBase = click.ParamType


class _Size(_SizeBase):
    """``AxB`` in pixels → ``(A, B)`` as written; the subclass says which is the height."""

    name = ""
    example = ""
    words = ""
    minimum = 1

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[int, int]:
        if isinstance(value, tuple):
            return (int(value[0]), int(value[1]))
        m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(value))
        if m is None or min(int(m.group(1)), int(m.group(2))) < self.minimum:
            self.fail(
                f"{value!r} is not a size like {self.example} ({self.words}, pixels)", param, ctx
            )
        return int(m.group(1)), int(m.group(2))


class SizeHW(_Size):
    """``HEIGHTxWIDTH``, e.g. ``256x176`` → ``(256, 176)`` (pose-transfer frames)."""

    name, example, words = "HxW", "256x176", "height x width"


class SizeWH(_Size):
    """``WIDTHxHEIGHT``, e.g. ``768x1024`` → ``(768, 1024)`` (VITON-HD garments)."""

    name, example, words, minimum = "WxH", "768x1024", "width x height", 8


# ------------------------------------------------------------------------------------ options


def bundled_option(flag: str, kind: BundledKind, *, help: str, required: bool = False) -> Decorator:
    """``--recipe`` / ``--store`` / ``--config``: a TOML path, or the name of a bundled file.

    The value reaches the command as a :class:`~pathlib.Path` resolved by
    :func:`pgdata.config.resolve_bundled` (a path that exists wins; ``deepfashion`` or
    ``pipelines/deepfashion.toml`` finds the bundled recipe); anything else is a usage error
    that lists the bundled names.
    """

    def resolve(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
        if value is None:
            return None
        try:
            return resolve_bundled(kind, value)
        except ConfigError as e:
            raise click.BadParameter(str(e), ctx, param) from None

    return click.option(flag, metavar="NAME|FILE", required=required, callback=resolve, help=help)


def choice_option(*decls: str, choices: Sequence[str], help: str) -> Decorator:
    """An option taking one of ``choices`` (a constant of the library); the first is the default."""
    return click.option(
        *decls, type=click.Choice(choices), default=choices[0], show_default=True, help=help
    )


def shown_option(*decls: str, default: Any, help: str, **kwargs: Any) -> Decorator:
    """An option whose default ``--help`` shows (``kwargs`` go to :func:`click.option`)."""
    return click.option(*decls, default=default, show_default=True, help=help, **kwargs)


def examples(*lines: str) -> str:
    """The end of a command's ``--help`` (its ``epilog``): one or two real invocations.

    ``\b`` keeps click from rewrapping them; ``tests/test_cli_help.py`` checks that every
    command has them and that each line's options exist.
    """
    return "\b\nExamples:\n" + "".join(f"  {line}\n" for line in lines)


# Folder conventions of every command: inputs are positional or --source, outputs --out, sizes
# HEIGHTxWIDTH. The spellings before them stay for one release as hidden, deprecated aliases
# (old_spelling); the new option then takes its value through takes_old_spelling.


def takes_old_spelling(required: bool) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """Callback of an option that has an old spelling, which may already have filled it."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        name = param.name
        assert name is not None  # every option has a name
        earlier = ctx.params.get(name)  # set by the old spelling (processed first when given)
        if earlier is not None:
            if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None):
                raise click.UsageError(
                    f"give {param.opts[0]} once (its old spelling too was given)"
                )
            return earlier
        if value is None and required:
            raise click.MissingParameter(ctx=ctx, param=param)
        return value

    return callback


def old_spelling(
    decl: str,
    *,
    new: str,
    dest: str,
    argument: bool = False,
    convert: Callable[[Any], Any] | None = None,
    **kwargs: Any,
) -> Decorator:
    """A hidden, deprecated spelling of option ``new`` (kept for one release).

    ``decl`` is the old option (``--root``), or with ``argument`` the name of an old positional
    argument (shown nowhere in ``--help``). When given it fills ``dest`` (the new option's
    destination, through ``convert``) and prints a deprecation note on stderr; giving both is a
    usage error. The new option must use :func:`takes_old_spelling` (``source_option``,
    ``out_dir_option`` do).
    """
    shown = f"{new.lstrip('-').upper()} as an argument" if argument else decl

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None:
            return
        if ctx.params.get(dest) is not None:
            raise click.UsageError(f"give {new} only ({shown} is its old spelling)")
        click.echo(f"note: {shown} is deprecated and goes in the next release: use {new}", err=True)
        ctx.params[dest] = convert(value) if convert else value

    if argument:
        return click.argument(
            decl, required=False, metavar="", expose_value=False, callback=callback, **kwargs
        )
    return click.option(decl, hidden=True, expose_value=False, callback=callback, **kwargs)


def source_option(help: str, *, required: bool = True, old: str | None = None) -> Decorator:
    """``--source DIR``: the input folder of a command that does not take it as an argument;
    ``old`` is its spelling before (``--root``, ``--data``), kept hidden for one release."""
    option = click.option(
        "--source",
        type=DIR,
        callback=takes_old_spelling(required) if old else None,
        required=required and not old,
        help=help + ("  [required]" if required and old else ""),
    )
    if old is None:
        return option

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        return old_spelling(old, new="--source", dest="source", type=DIR)(option(f))

    return decorate


def out_dir_option(help: str, *, old_argument: str | None = None) -> Decorator:
    """``--out DIR`` (required): the folder a command writes. ``old_argument`` names the
    positional argument that took it before (kept hidden for one release)."""
    option = click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        callback=takes_old_spelling(True) if old_argument else None,
        required=old_argument is None,
        help=help + ("  [required]" if old_argument else ""),
    )
    if old_argument is None:
        return option

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        old = old_spelling(
            old_argument,
            new="--out",
            dest="out",
            argument=True,
            type=click.Path(file_okay=False, path_type=Path),
        )
        return old(option(f))

    return decorate


def workers_option(help: str = "Processes.", *, default: int | None = 1) -> Decorator:
    """``--workers N`` (at least 1); ``default=None`` means "from the recipe"."""
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=default,
        show_default=default is not None,
        help=help,
    )


def dask_options(what: str = "shard", *, recipe: bool = True) -> Decorator:
    """``--dask ADDRESS`` and ``--dask-retries N`` (:mod:`pgdata.executor`). With ``recipe``
    both default to None (the recipe's ``dask`` / ``dask_retries``, else local processes and
    :data:`~pgdata.executor.DEFAULT_RETRIES`)."""
    retries_help = f"With --dask: resubmit a failed {what} task up to N times."

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.option(
            "--dask-retries",
            "dask_retries",
            type=click.IntRange(min=0),
            default=None if recipe else DEFAULT_RETRIES,
            show_default=not recipe,
            help=retries_help + (f"  [recipe, else {DEFAULT_RETRIES}]" if recipe else ""),
        )(f)
        return click.option(
            "--dask",
            "dask",
            metavar="ADDRESS",
            default=None,
            help=f"Run the {what} tasks on Dask: local:N (a local cluster of N worker "
            "processes), a scheduler address (tcp://host:8786) or a scheduler file (.json); the "
            "folders must be on a filesystem every worker sees. Needs the dask extra.",
        )(f)

    return decorate


def quality_option(
    help: str = "JPEG quality.",
    *,
    default: int | None = 95,
    minimum: int = 50,
    dest: str = "quality",
) -> Decorator:
    """``--quality Q``: JPEG quality of what the command encodes (passed as ``dest``)."""
    return click.option(
        "--quality",
        dest,
        type=click.IntRange(minimum, 100),
        default=default,
        show_default=default is not None,
        help=help,
    )


def seed_option(help: str) -> Decorator:
    """``--seed N`` (default 0)."""
    return click.option("--seed", default=0, show_default=True, type=int, help=help)


def strict_option(help: str) -> Decorator:
    """``--strict``: fail on the first bad item instead of quarantining it."""
    return click.option("--strict", is_flag=True, help=help)


def force_option(help: str = "Redo items whose outputs already exist.") -> Decorator:
    """``--force``: redo what is already there."""
    return click.option("--force", is_flag=True, help=help)


root_argument = click.argument("root", type=DIR)
"""``ROOT``: a VITON-HD dataset root (one split folder, or one with ``train/`` and ``test/``)."""


# ------------------------------------------------------------------------------------ running


def make_config(cls: Callable[..., C], **options: Any) -> C:
    """``cls(**options)``; a :class:`ConfigError` from its ``__post_init__`` is a usage error."""
    try:
        return cls(**options)
    except ConfigError as e:
        raise click.UsageError(str(e)) from e


class Summarised(Protocol):
    """A job result: one line of counts."""

    def summary(self) -> str: ...


R = TypeVar("R", bound=Summarised)


@contextmanager
def progress_bar(total: int | None, desc: str) -> Iterator[Progress]:
    """A tqdm bar on stderr (hidden when stderr is not a terminal); yields ``update(n)``."""
    with tqdm(
        total=total, desc=desc, unit="img", file=sys.stderr, disable=None, leave=False
    ) as bar:

        def update(n: int) -> None:
            bar.update(n)

        yield update


def run_job(
    run: Callable[[Progress], R],
    *,
    desc: str | None,
    total: int | None = None,
    notes: Callable[[R], Iterable[str]] | None = None,
    lines: Callable[[R], Iterable[object]] | None = None,
) -> R:
    """Run ``run(update)`` under a progress bar named ``desc`` (None: no bar), then report:
    ``notes`` on stderr, ``lines`` (e.g. the files written) and ``result.summary()`` on stdout.

    A result whose ``problem`` attribute is set (an empty or all-rejected result, an interrupted
    crawl) ends the command with that one line on stderr and exit status 1, after the summary.
    Returns the result."""
    if desc is None:
        result = run(_no_progress)
    else:
        with progress_bar(total, desc) as update:
            result = run(update)
    for note in notes(result) if notes else ():
        click.echo(note, err=True)
    for line in lines(result) if lines else ():
        echo_result(str(line))
    echo_result(result.summary())
    problem = getattr(result, "problem", None)
    if problem:
        raise click.ClickException(str(problem))
    return result


def _no_progress(n: int) -> None:
    """A progress callback that shows nothing."""


def echo_result(line: str) -> None:
    """Print a result line on stdout."""
    click.echo(line)
