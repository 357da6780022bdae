"""TOML recipes → frozen config dataclasses, with errors that name the file and the key.

A recipe is a TOML file whose tables map onto config fields. Unknown keys are errors (a typo must
not silently fall back to a default); values are checked against the field's type.

The TOML files that ship with pgdata (``pipelines/`` build recipes, ``crawlers/`` store configs,
``train/`` training configs at the repository root) are found by name with
:func:`resolve_bundled`: inside an installed wheel they live in ``pgdata/_bundled/<kind>/`` (the
build backend copies them there), in a source checkout in the root folders themselves.
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pgdata.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "BUNDLED_KINDS",
    "RECIPE_KINDS",
    "RECIPE_TABLES",
    "BundledKind",
    "Recipe",
    "RecipeKind",
    "bundled_dir",
    "check_number",
    "config_from_mapping",
    "list_bundled",
    "load_recipe",
    "load_toml",
    "resolve_bundled",
]

T = TypeVar("T")

BundledKind = Literal["pipelines", "crawlers", "train"]
BUNDLED_KINDS: tuple[BundledKind, ...] = ("pipelines", "crawlers", "train")
_WHAT: dict[str, str] = {
    "pipelines": "build recipe",
    "crawlers": "store config",
    "train": "training config",
}
_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = "_bundled"  # pgdata/_bundled/<kind>/ in a wheel (see pyproject.toml)

RecipeKind = Literal["pose-transfer", "tryon", "aligned", "faces"]
RECIPE_KINDS: tuple[RecipeKind, ...] = ("pose-transfer", "tryon", "aligned", "faces")
# the tables a recipe of each kind may hold besides ``kind``
RECIPE_TABLES: dict[str, tuple[str, ...]] = {
    "pose-transfer": ("build",),
    "tryon": (
        "tryon",
        "build",
        "parsing",
        "keypoints",
        "densepose",
        "agnostic",
        "cloth_mask",
        "pairs",
    ),
    "aligned": ("build",),  # pix2pix A|B images (pipelines/aligned.toml)
    "faces": ("build",),  # face photos for inpainting (pipelines/faces.toml)
}


MAX_TOML_BYTES = 16 * 2**20  # a recipe or config of more is not a recipe


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; ConfigError with the file and the parser's message on failure
    (also for a missing, non-regular, oversized or non-UTF-8 file)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ConfigError(f"{path}: not a regular file")
            data = f.read(MAX_TOML_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: recipe file not found") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > MAX_TOML_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_TOML_BYTES >> 20} MiB: not a TOML config")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {e.start}: {e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML (nested too deeply)") from None


def check_number(
    key: str,
    value: float,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> None:
    """Raise ConfigError ``<key> must be ...`` unless ``value`` is finite and in range
    (``> gt``, ``>= ge``, ``<= le``; a config's ``__post_init__`` calls it for each field)."""
    bounds = [f"{op} {b:g}" for op, b in ((">", gt), (">=", ge), ("<=", le)) if b is not None]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (gt is None or value > gt) and (ge is None or value >= ge)
    ok = ok and (le is None or value <= le)
    if not ok:
        what = "a finite number" if isinstance(value, float) else "an integer"
        raise ConfigError(f"{key} must be {what} {' and '.join(bounds)}, found {value!r}")


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
    for key, value in values.items():  # NaN and infinity are no setting of any key
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{origin}: {key} must be a finite number, found {value}")
    try:
        return cls(**values)
    except (TypeError, ValueError, ConfigError) as e:
        raise ConfigError(f"{origin}: {e}") from None


# ------------------------------------------------------------------------------- bundled files


def bundled_dir(kind: BundledKind) -> Path | None:
    """The folder of the bundled ``kind`` files, or None when this install has none.

    ``pgdata/_bundled/<kind>/`` in an installed wheel; ``<checkout>/<kind>/`` when pgdata runs
    from a source checkout (an editable install).
    """
    if kind not in BUNDLED_KINDS:
        raise ConfigError(f"bundled files are {list(BUNDLED_KINDS)}, not {kind!r}")
    packaged = _PACKAGE / _BUNDLED / kind
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / kind).is_dir():
        return checkout / kind
    return None


def list_bundled(kind: BundledKind) -> list[str]:
    """Names (file stems) of the bundled ``kind`` TOML files, sorted."""
    folder = bundled_dir(kind)
    return sorted(p.stem for p in folder.glob("*.toml")) if folder is not None else []


def resolve_bundled(kind: BundledKind, name_or_path: str | Path) -> Path:
    """The TOML file meant by ``name_or_path``: a file that exists, else a bundled one by name.

    ``deepfashion``, ``deepfashion.toml`` and ``pipelines/deepfashion.toml`` (the spelling of the
    docs, from any folder) all find the bundled ``pipelines/deepfashion.toml``.

    Raises:
        ConfigError: neither a file nor a bundled name; the message lists the bundled names.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.name and path.parent in (Path("."), Path(kind)):
        folder = bundled_dir(kind)
        stem = path.name.removesuffix(".toml")
        if folder is not None and (folder / f"{stem}.toml").is_file():
            return folder / f"{stem}.toml"
    names = ", ".join(list_bundled(kind)) or "none"
    raise ConfigError(
        f"{name_or_path}: no such file, and no bundled {_WHAT[kind]} of that name "
        f"(bundled: {names}); give a path to a .toml file"
    )


# ------------------------------------------------------------------------------------ recipes


@dataclass(frozen=True)
class Recipe:
    """A build recipe: its kind and its tables (names checked; values are checked by the
    config class each table fills)."""

    kind: RecipeKind
    origin: str  # the file, or "defaults" when there is none
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, Any]:
        """A copy of table ``name`` (empty when the recipe does not have it)."""
        return dict(self.tables.get(name, {}))


def load_recipe(path: Path | None, *, default_kind: RecipeKind = "pose-transfer") -> Recipe:
    """Read a recipe: ``kind`` (``default_kind`` when absent) and the tables that kind allows.

    ``None`` gives the defaults of ``default_kind`` (no tables).

    Raises:
        ConfigError: unreadable TOML, an unknown kind, unknown top-level keys, a key that is
            not a table; the message names the file.
    """
    if path is None:
        return Recipe(default_kind, "defaults")
    origin = str(path)
    doc = load_toml(path)
    kind = doc.get("kind", default_kind)
    if kind not in RECIPE_KINDS:
        raise ConfigError(f"{origin}: kind = {kind!r}; this pgdata builds {list(RECIPE_KINDS)}")
    allowed = RECIPE_TABLES[kind]
    unknown = sorted(set(doc) - {"kind", *allowed})
    if unknown:
        raise ConfigError(
            f"{origin}: unknown top-level key(s) {unknown}; a {kind} recipe has 'kind' and the "
            f"tables {list(allowed)}"
        )
    tables: dict[str, dict[str, Any]] = {}
    for name in allowed:
        table = doc.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: [{name}] must be a table")
        tables[name] = table
    return Recipe(kind, origin, tables)
