"""User-supplied parsing models: ``--backend package.module[:factory]`` plus ``--weights PATH``.

pgdata ships no parsing weights. A user who has a parser (SCHP, CIHP-PGN, ...) wraps it in a
module with a factory::

    # my_parser.py
    def load_parser(weights):            # weights: pathlib.Path or None
        model = ...                      # load it once
        def parse(image):                # (H, W, 3) uint8 RGB
            return labels                # (h, w) uint8 ids of the configured --scheme
        return parse

and runs ``pgdata parsing ROOT --backend my_parser --weights model.pth --scheme lip``. The
output may be smaller than the photo when the aspect ratio matches; it is resized (nearest, or
upsample-and-smooth with ``--smooth``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pgdata.errors import ConfigError

__all__ = ["DEFAULT_FACTORY", "ParsingModel", "load_parsing_model"]

DEFAULT_FACTORY = "load_parser"


ParsingModel = Callable[[np.ndarray], np.ndarray]
"""A loaded parser: ``(H, W, 3)`` uint8 RGB → ``(h, w)`` uint8 label ids."""


def load_parsing_model(spec: str, weights: Path | None) -> ParsingModel:
    """Import ``module[:factory]`` and return ``factory(weights)``.

    Raises:
        ConfigError: the module or factory cannot be found, or the factory returns no callable.
    """
    module_name, _, attr = spec.partition(":")
    attr = attr or DEFAULT_FACTORY
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(
            f"parsing backend {spec!r}: cannot import {module_name!r} ({e}); give an importable "
            "module path (on PYTHONPATH) like my_parser or pkg.parsers:load_parser"
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"parsing backend {spec!r}: {module_name} has no function {attr}()")
    model: ParsingModel = factory(weights)
    if not callable(model):
        raise ConfigError(f"parsing backend {spec!r}: {attr}() returned {model!r}, not a callable")
    return model
