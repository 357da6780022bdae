"""TOML recipes → frozen config dataclasses, with errors that name the file and the key.

A recipe is a TOML file whose tables map onto config fields. Unknown keys are errors (a typo must
not silently fall back to a default); values are checked against the field's type.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pgdata.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["config_from_mapping", "load_toml"]

T = TypeVar("T")


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; ConfigError with the file and the parser's message on failure."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: recipe file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


def _check(value: Any, hint: Any, where: str) -> Any:
    """Return ``value`` converted to ``hint`` (tuples from lists, Path from str) or raise."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, found {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_check(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{where}: expected {len(args)} values, found {len(value)}")
        return tuple(
            _check(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if hint is Path:
        if not isinstance(value, str | Path):
            raise ConfigError(f"{where}: expected a path string, found {value!r}")
        return Path(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, found {value!r}")
        return float(value)
    if hint in (int, bool, str):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: expected {hint.__name__}, found {value!r}")
        return value
    return value


def config_from_mapping(
    cls: type[T], data: Mapping[str, Any], *, origin: str, **overrides: Any
) -> T:
    """Build the frozen dataclass ``cls`` from ``data`` (a recipe table) and ``overrides``.

    ``overrides`` (command-line flags) win over ``data``; ``None`` overrides are ignored.
    Unknown keys raise ConfigError naming ``origin`` (the recipe file) and the valid keys.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{origin}: unknown key(s) {unknown}; valid keys: {sorted(fields)}")
    values = {k: _check(v, hints[k], f"{origin}: {k}") for k, v in data.items()}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return cls(**values)
    except TypeError as e:
        raise ConfigError(f"{origin}: {e}") from None
    except ValueError as e:
        raise ConfigError(f"{origin}: {e}") from None
