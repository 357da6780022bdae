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

from collections.abc import Callable
from pathlib import Path

import numpy as np

from pgdata.io.plugins import load_plugin

__all__ = ["DEFAULT_FACTORY", "ParsingModel", "load_parsing_model"]

DEFAULT_FACTORY = "load_parser"


ParsingModel = Callable[[np.ndarray], np.ndarray]
"""A loaded parser: ``(H, W, 3)`` uint8 RGB → ``(h, w)`` uint8 label ids."""


def load_parsing_model(spec: str, weights: Path | None, sha256: str | None = None) -> ParsingModel:
    """Import ``module[:factory]`` and return ``factory(weights)`` (:func:`pgdata.io.plugins.load_plugin`).

    ``sha256``: when given, the weights file's sha256 must start with it.

    Raises:
        ConfigError: the module or factory cannot be found, or the factory returns no callable.
        WeightsError: the weights are missing or another file, or the factory fails on them.
    """
    model: ParsingModel = load_plugin(
        spec, weights, what="parsing backend", default_factory=DEFAULT_FACTORY, sha256=sha256
    )
    return model
