"""Helpers shared by the commands: size parameters, progress bars, summary output."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from tqdm import tqdm

__all__ = ["SizeHW", "echo_result", "progress_bar"]


class SizeHW(click.ParamType):  # type: ignore[type-arg]
    """``HEIGHTxWIDTH`` in pixels, e.g. ``256x176`` → ``(256, 176)``."""

    name = "HxW"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
        m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(value))
        if m is None or int(m.group(1)) < 1 or int(m.group(2)) < 1:
            self.fail(f"{value!r} is not a size like 256x176 (height x width, pixels)", param, ctx)
        return int(m.group(1)), int(m.group(2))


@contextmanager
def progress_bar(total: int | None, desc: str) -> Iterator[Callable[[int], None]]:
    """A tqdm bar on stderr (hidden when stderr is not a terminal); yields ``update(n)``."""
    with tqdm(
        total=total, desc=desc, unit="img", file=sys.stderr, disable=None, leave=False
    ) as bar:

        def update(n: int) -> None:
            bar.update(n)

        yield update


def echo_result(line: str) -> None:
    """Print a result line on stdout."""
    click.echo(line)
