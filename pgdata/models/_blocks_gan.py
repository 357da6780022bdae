"""Small pieces shared by the PATN, pix2pix and DMFN networks.

Normalisation layers as the three reference code bases build them, the input-size check every
generator runs before its first convolution, and the weight initialisations
(which differ per family: see :func:`init_normal_`).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from pgdata.errors import ConfigError, PgdataError

__all__ = [
    "NORMS",
    "INIT_STD",
    "InputSizeError",
    "Norm",
    "check_choice",
    "check_input",
    "check_positive",
    "init_normal_",
    "norm_layer",
]

Norm = Literal["batch", "instance"]
NORMS: tuple[str, ...] = ("batch", "instance")

INIT_STD = 0.02
"""Standard deviation of the N(0, std) weight init of all three families (and of BN's N(1, std))."""


class InputSizeError(PgdataError, ValueError):
    """A tensor given to a network has the wrong shape; the message names the network and the fix.

    Also a ``ValueError``, so callers that only know torch conventions catch it too.
    """


def norm_layer(kind: Norm, channels: int) -> nn.Module:
    """The normalisation layer of the reference code.

    ``"batch"``: ``BatchNorm2d(channels)`` with affine parameters (2 per channel) and running
    statistics. ``"instance"``: ``InstanceNorm2d(channels, affine=False)`` without running
    statistics, so it has no parameters and no buffers (PATN, pix2pix and DMFN all use it so).
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise ConfigError(f"norm: {kind!r} is not one of {list(NORMS)}")


def check_choice(owner: str, key: str, value: object, choices: tuple[object, ...]) -> None:
    """Raise ConfigError ``owner.key: value is not one of choices`` unless ``value`` is allowed."""
    if value not in choices:
        raise ConfigError(f"{owner}.{key}: {value!r} is not one of {list(choices)}")


def check_positive(owner: str, **values: int) -> None:
    """Raise ConfigError naming the first ``key`` whose value is not a positive integer."""
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{owner}.{key}: expected a positive integer, found {value!r}")


def check_input(
    network: str,
    name: str,
    x: torch.Tensor,
    channels: int,
    *,
    multiple: int = 1,
    size_hw: tuple[int, int] | None = None,
    fix: str = "",
) -> None:
    """Check that ``x`` is a ``(B, channels, H, W)`` tensor the network can take.

    Args:
        network: the network's name, said first in the message.
        name: the argument's name (``src_img``, ``pose_cat``, ...).
        x: the tensor to check.
        channels: expected ``C``.
        multiple: ``H`` and ``W`` must be multiples of this (``2 ** number of stride-2 convs``).
        size_hw: if given, ``(H, W)`` must equal it exactly.
        fix: what to do instead, appended to the message.

    Raises:
        InputSizeError: naming the network, the argument, expected and found shapes.
    """
    found = tuple(x.shape)
    hint = f"; {fix}" if fix else ""
    if x.dim() != 4 or x.shape[1] != channels:
        raise InputSizeError(
            f"{network}: {name} must be (B, {channels}, H, W), found {found}{hint}"
        )
    h, w = int(x.shape[2]), int(x.shape[3])
    if size_hw is not None and (h, w) != tuple(size_hw):
        raise InputSizeError(
            f"{network}: {name} must be {size_hw[0]}x{size_hw[1]} (HxW), found {h}x{w}{hint}"
        )
    if h % multiple or w % multiple or h == 0 or w == 0:
        raise InputSizeError(
            f"{network}: {name} is {h}x{w} (HxW) but H and W must be positive multiples of "
            f"{multiple}{hint}"
        )


def init_normal_(
    module: nn.Module,
    *,
    layer_types: tuple[type[nn.Module], ...],
    zero_bias: bool,
    std: float = INIT_STD,
) -> None:
    """In place: weights of ``layer_types`` ~ N(0, std); every BatchNorm2d γ ~ N(1, std), β = 0.

    The three families differ only in what this touches, so each builder states it:

    * PATN G (``weights_init_normal``): Conv2d and ConvTranspose2d weights, biases left at
      PyTorch's default (``zero_bias=False``).
    * pix2pix (``init_weights('normal')``): Conv2d, ConvTranspose2d and Linear weights, biases 0.
    * DMFN (``weights_init``, matched on the class name ``Conv2d``): Conv2d only, biases 0;
      ConvTranspose2d and Linear keep PyTorch's default.

    Args:
        module: the network (walked recursively).
        layer_types: the layer classes whose ``weight`` is re-drawn (exact type match, so
            ``nn.Conv2d`` does not cover ``nn.ConvTranspose2d``).
        zero_bias: set those layers' biases to 0 (otherwise left untouched).
        std: the standard deviation.
    """
    with torch.no_grad():
        for m in module.modules():
            if type(m) in layer_types:
                weight = m.weight
                if isinstance(weight, torch.Tensor):
                    weight.normal_(0.0, std)
                bias = getattr(m, "bias", None)
                if zero_bias and isinstance(bias, torch.Tensor):
                    bias.zero_()
            elif isinstance(m, nn.BatchNorm2d) and m.affine:
                m.weight.normal_(1.0, std)
                m.bias.zero_()
