"""User-supplied models: ``package.module[:factory]`` plus a weights file, loaded by pgdata.

pgdata ships no weights for parsers, face-landmark or expression networks. A user wraps theirs in
a module with a factory that takes the weights path (or None) and returns the loaded model::

    # my_landmarks.py
    def load_landmarks(weights):        # pathlib.Path or None
        net = MyNet()
        net.load_state_dict(torch.load(weights, weights_only=True))
        return net                      # what the caller expects (see its docs)

:func:`load_plugin` imports the module, checks the weights file's sha256 when one is expected, and
calls the factory. Every failure is one error that names the file (or module) and the reason:
module not importable, no such factory, weights missing or with another sha256, the factory
raising, or returning nothing callable. The parsing backends
(:mod:`pgdata.backends.plugin`) and DMFN's landmark / expression losses use it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from pgdata.errors import ConfigError, WeightsError
from pgdata.io.weights import file_sha256

__all__ = ["check_sha256", "load_plugin"]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def check_sha256(path: Path, expected: str, what: str) -> None:
    """Refuse ``path`` unless its sha256 starts with ``expected`` (hex, any case, ≥ 8 digits).

    Raises:
        WeightsError: the file is missing, or its sha256 differs (both hashes named).
    """
    if not path.is_file():
        raise WeightsError(f"{path}: {what} weights file not found")
    want = expected.strip().lower()
    digest = file_sha256(path)
    if not digest.startswith(want):
        raise WeightsError(
            f"{path}: {what} weights have sha256 {digest[:16]}…, expected {want[:16]}…; "
            "give the file the config names or correct its sha256"
        )


def load_plugin(
    spec: str,
    weights: Path | None,
    *,
    what: str,
    default_factory: str,
    sha256: str | None = None,
) -> Any:
    """Import ``module[:factory]`` and return ``factory(weights)``.

    Args:
        spec: ``package.module`` or ``package.module:factory`` (on ``PYTHONPATH``).
        weights: the weights file handed to the factory, or None.
        what: what the model is, for messages (``"landmark network"``).
        default_factory: the factory name when ``spec`` has no ``:factory``.
        sha256: when given, ``weights`` must exist and its sha256 start with it (checked before
            the user's code runs).

    Raises:
        ConfigError: the module or factory cannot be found, or the factory returns a
            non-callable.
        WeightsError: the weights are missing or another file, or the factory failed on them
            (the file and the factory's reason, on one line).
    """
    module_name, _, attr = spec.partition(":")
    attr = attr or default_factory
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(
            f"{what} {spec!r}: cannot import {module_name!r} ({_one_line(str(e))}); give an "
            f"importable module path (on PYTHONPATH) like my_module or pkg.module:{default_factory}"
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"{what} {spec!r}: {module_name} has no function {attr}()")
    if sha256 is not None:
        if weights is None:
            raise ConfigError(f"{what} {spec!r}: a sha256 is set but no weights file is given")
        check_sha256(weights, sha256, what)
    try:
        model = factory(weights)
    except Exception as e:  # the user's code: any failure is reported with the file
        where = weights if weights is not None else module_name
        raise WeightsError(
            f"{where}: the {what} ({spec}) failed to load: {type(e).__name__}: {_one_line(str(e))}"
        ) from None
    if not callable(model):
        raise ConfigError(f"{what} {spec!r}: {attr}() returned {model!r}, not a callable")
    return model
