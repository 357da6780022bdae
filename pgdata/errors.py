"""The pgdata error hierarchy.

Library code raises these and never exits or prints; the CLI turns any ``PgdataError`` into a
one-line message and exit status 1.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ConfigError",
    "InputFormatError",
    "MissingDependencyError",
    "OutputError",
    "PgdataError",
    "WeightsError",
]


class PgdataError(Exception):
    """Base class of every error pgdata raises on purpose."""


class InputFormatError(PgdataError):
    """A file does not have the expected format; names the file, the line and the fix.

    ``str(error)`` is ``"<path>[:<line>]: <message>"``; ``message`` alone is kept for callers that
    report the file elsewhere (a quarantine row names its item).
    """

    def __init__(self, path: str | Path, message: str, *, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        # picklable with its keyword argument, so it crosses from a worker process intact
        return (_rebuild_input_error, (type(self), str(self.path), self.message, self.line))


def _rebuild_input_error(
    cls: type[InputFormatError], path: str, message: str, line: int | None
) -> InputFormatError:
    return cls(path, message, line=line)


class OutputError(PgdataError):
    """A file cannot be written (disk full, file size limit, read-only folder); names the file,
    the system's reason and the fix."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self.path), self.message))


class ConfigError(PgdataError):
    """A configuration value or TOML key is invalid."""


class MissingDependencyError(PgdataError):
    """An optional dependency is needed; the message says how to install it."""


class WeightsError(PgdataError):
    """A pretrained weight file is missing or wrong; names the file, its hash and where to get it."""
