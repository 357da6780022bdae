"""Helpers shared by the commands: size parameters, progress bars, summary output."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from tqdm import tqdm

__all__ = ["SizeHW", "SizeWH", "echo_result", "progress_bar"]


class _Size(click.ParamType):  # type: ignore[type-arg]
    """``AxB`` in pixels → ``(A, B)`` as written; the subclass says which is the height."""

    name = ""
    example = ""
    words = ""
    minimum = 1

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
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
