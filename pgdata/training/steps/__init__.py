"""Model families the training loop can drive, by the name used in ``family = "..."``.

Add a family: write a :class:`~pgdata.training.steps.base.TrainStep` subclass in a module of
this package and list it in :data:`FAMILIES`. The loop, checkpoints, logging, DDP and
``pgdata models`` then work for it unchanged.
"""

from __future__ import annotations

from pgdata.errors import ConfigError
from pgdata.training.steps.base import TrainStep
from pgdata.training.steps.dmfn import DMFNStep
from pgdata.training.steps.dptn import DPTNStep
from pgdata.training.steps.patn import PATNStep
from pgdata.training.steps.pix2pix import Pix2PixPoseStep, Pix2PixStep

__all__ = ["FAMILIES", "TrainStep", "get_family"]

FAMILIES: dict[str, type[TrainStep]] = {
    step.family: step for step in (DPTNStep, PATNStep, Pix2PixStep, Pix2PixPoseStep, DMFNStep)
}


def get_family(name: str) -> type[TrainStep]:
    """The family class named ``name``; ConfigError listing the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(f"family: {name!r} is not one of {sorted(FAMILIES)}") from None
