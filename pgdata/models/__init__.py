"""Networks trained by ``pgdata train``: plain ``nn.Module``s built from frozen config dataclasses.

Models import nothing from ``pgdata.training``, ``pgdata.data`` or ``pgdata.io``; pretrained
weights are loaded by the training layer and handed in as state dicts.
"""

from pgdata.models.dptn import (
    PRESETS,
    DPTNConfig,
    DPTNGenerator,
    ResDiscriminator,
    build_discriminator,
    build_dptn,
    build_generator,
)
from pgdata.models.vgg import VGG19

__all__ = [
    "PRESETS",
    "VGG19",
    "DPTNConfig",
    "DPTNGenerator",
    "ResDiscriminator",
    "build_discriminator",
    "build_dptn",
    "build_generator",
]
