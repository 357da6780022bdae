"""One interface for every command (issue 10, point 8): ``--help`` of every registered command
ends with real example lines, folders are positional or ``--source`` in and ``--out`` out, sizes
are HEIGHTxWIDTH, and the spellings before that still work for one release, with a note.

The commands are read from the ``pgdata`` group itself, so a new command is covered without
touching this file.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest

from pgdata.cli import cli
from pgdata.io.pose_csv import read_annotations


def _commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        out.append((*path, name))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, (*path, name)))
    return out


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """The (sub)command a ``pgdata ...`` line runs, and the words after its name."""
    cmd: click.Command = cli
    while isinstance(cmd, click.Group) and words and words[0] in cmd.commands:
        cmd, words = cmd.commands[words[0]], words[1:]
    return cmd, words


def _options(cmd: click.Command) -> set[str]:
    """The visible option spellings of ``cmd`` (hidden, deprecated aliases excluded)."""
    return {
        o
        for p in cmd.params
        if isinstance(p, click.Option) and not p.hidden
        for o in (*p.opts, *p.secondary_opts)
    }


COMMANDS = _commands()


def test_the_group_has_the_commands_of_the_readme():
    names = {c[0] for c in COMMANDS}
    assert {"sample", "build-pairs", "build", "garments", "demo-shop", "crawl", "train"} <= names
    assert ("preview", "pairs") in COMMANDS and ("preview", "tryon") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_ends_with_real_examples(runner, path):
    res = runner.invoke(cli, [*path, "--help"])
    assert res.exit_code == 0, res.output
    lines = [line.strip() for line in res.output.rstrip().splitlines()]
    assert "Examples:" in lines, f"pgdata {' '.join(path)} --help has no examples"
    examples = lines[lines.index("Examples:") + 1 :]
    assert 1 <= len(examples) <= 4 and all(e.startswith("pgdata ") for e in examples), examples
    assert any(e.startswith(f"pgdata {' '.join(path)}") for e in examples)
    for line in examples:
        cmd, words = _resolve(shlex.split(line, comments=True)[1:])
        assert not isinstance(cmd, click.Group) or not words, f"{line}: no such command"
        given = {w.split("=", 1)[0] for w in words if w.startswith("--")}
        unknown = given - _options(cmd)
        assert not unknown, f"{line}: {sorted(unknown)} are not options of that command"


def test_previews_write_preview_html_by_default():
    for name in ("pairs", "tryon"):
        sub = cli.commands["preview"].commands[name]  # type: ignore[attr-defined]
        (out,) = [p for p in sub.params if p.name == "out"]
        assert Path(out.default) == Path("preview.html"), name


def test_sizes_are_height_by_width():
    for path in COMMANDS:
        cmd, _ = _resolve(list(path))
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.hidden:
                assert "WIDTHxHEIGHT" not in (p.help or ""), (path, p.name)


def test_views_is_refused_with_another_kind(runner, tmp_path):
    res = runner.invoke(cli, ["sample", "--out", str(tmp_path), "--kind", "tryon", "--views", "2"])
    assert res.exit_code == 2 and "--views applies to --kind inshop" in res.output


def test_old_spellings_still_work_with_a_note(runner, tmp_path):
    old = runner.invoke(cli, ["sample", str(tmp_path / "a"), "--ids", "2", "--views", "2"])
    assert old.exit_code == 0, old.output
    assert "note: OUT as an argument is deprecated" in old.stderr
    new = runner.invoke(cli, ["sample", "--out", str(tmp_path / "b"), "--ids", "2", "--views", "2"])
    assert new.exit_code == 0 and "deprecated" not in new.stderr
    a, b = (tmp_path / "a" / "keypoints.csv"), (tmp_path / "b" / "keypoints.csv")
    assert a.read_bytes() == b.read_bytes()

    args = ["build-pairs", "--dataset", "deepfashion", "--out"]
    old = runner.invoke(cli, [*args, str(tmp_path / "p1"), "--root", str(tmp_path / "a")])
    new = runner.invoke(cli, [*args, str(tmp_path / "p2"), "--source", str(tmp_path / "a")])
    assert old.exit_code == new.exit_code == 0, old.output + new.output
    assert "note: --root is deprecated and goes in the next release: use --source" in old.stderr
    name = "fasion-resize-annotation-train.csv"
    assert (
        read_annotations(tmp_path / "p1" / name).names
        == read_annotations(tmp_path / "p2" / name).names
    )

    both = runner.invoke(cli, [*args, str(tmp_path / "p3"), "--root", "x", "--source", "y"])
    assert both.exit_code == 2
    both = runner.invoke(cli, ["sample", str(tmp_path / "c"), "--out", str(tmp_path / "d")])
    assert both.exit_code == 2 and "give --out only" in both.output
    res = runner.invoke(cli, ["sample", "--ids", "1"])
    assert res.exit_code == 2 and "Missing option '--out'" in res.output


def test_garment_size_is_height_by_width_and_the_old_order_says_so(runner, tmp_path):
    empty = tmp_path / "crawl"
    empty.mkdir()
    res = runner.invoke(
        cli, ["garments", str(empty), "--out", str(tmp_path / "g"), "--size", "768x1024"]
    )
    assert "landscape garments 1024 wide and 768 high" in res.stderr
    res = runner.invoke(
        cli, ["garments", str(empty), "--out", str(tmp_path / "g"), "--size-wh", "768x1024"]
    )
    assert "--size-wh is deprecated" in res.stderr and "landscape" not in res.stderr
    both = ["--size", "1024x768", "--size-wh", "768x1024"]
    res = runner.invoke(cli, ["garments", str(empty), "--out", str(tmp_path / "g"), *both])
    assert res.exit_code == 2
