"""VGG19 ``features`` with torchvision's key names, as a frozen extractor of named ReLU outputs.

The layout is torchvision's ``vgg19().features`` (configuration "E", no batch norm): 16 biased
3×3 convs (padding 1) each followed by a ReLU, a 2×2 max pool after each of the 5 stages, indices
0–36. Parameter keys are ``features.{i}.weight`` / ``features.{i}.bias`` for the conv indices
0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34, so the ``features`` part of
torchvision's ImageNet file ``vgg19-dcbb9e9d.pth`` loads as is (:func:`vgg19_features_state`
drops its ``classifier.*`` keys). This module never opens files: the training layer finds and
sha256-checks the file (``pgdata.io.weights``) and hands the state dict in.

Inputs are ``(B, 3, H, W)`` RGB in [-1, 1]. ``input_norm="none"`` feeds them as they are (DPTN,
whose VGG gets [-1, 1] without ImageNet normalisation); ``"imagenet"`` maps them to [0, 1] and
then applies the ImageNet mean/std (PATN, and pgdata's DMFN default); ``"dmfn_released"``
reproduces DMFN's released extractor, which normalises ``x`` in [-1, 1] as if it were in [0, 1]
shifted: ``(x − (mean − 1)) / (2 std)``, i.e. the ImageNet normalisation of ``x + mean`` (per
channel), an input brighter by ``mean / (2 std)`` (0.90–1.06) than ``"imagenet"``. The network is frozen: no parameter requires a
gradient and it stays in eval mode; gradients still flow to the *input*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import torch
from torch import nn

__all__ = [
    "DPTN_CONTENT_LAYERS",
    "DPTN_STYLE_LAYERS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "INPUT_NORMS",
    "RELU_LAYERS",
    "VGG19",
    "InputNorm",
    "vgg19_features_state",
]

# torchvision's VGG configuration "E": output widths, "M" = 2×2 max pool
_CFG_E: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M")
_CFG_E += (512, 512, 512, 512, "M", 512, 512, 512, 512, "M")

InputNorm = Literal["none", "imagenet", "dmfn_released"]
INPUT_NORMS: tuple[InputNorm, ...] = ("none", "imagenet", "dmfn_released")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _relu_indices() -> dict[str, int]:
    """``relu{stage}_{k}`` → index of that ReLU in ``features`` (relu1_1 = 1 … relu5_4 = 35)."""
    names: dict[str, int] = {}
    index, stage, k = 0, 1, 0
    for v in _CFG_E:
        if v == "M":
            index += 1
            stage, k = stage + 1, 0
        else:
            k += 1
            names[f"relu{stage}_{k}"] = index + 1
            index += 2
    return names


RELU_LAYERS: dict[str, int] = _relu_indices()
"""Named ReLU outputs and their index in ``features``."""

DPTN_CONTENT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
DPTN_STYLE_LAYERS = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")


def _features() -> nn.Sequential:
    layers: list[nn.Module] = []
    cin = 3
    for v in _CFG_E:
        if isinstance(v, str):  # "M"
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(cin, v, kernel_size=3, padding=1), nn.ReLU()]
            cin = v
    return nn.Sequential(*layers)


class VGG19(nn.Module):
    """Frozen VGG19 ``features`` returning the requested ReLU outputs.

    Args:
        layers: names from :data:`RELU_LAYERS` to return (default: DPTN's content and style layers).
            Only ``features`` up to the deepest requested layer run.
        input_norm: ``"none"`` (DPTN), ``"imagenet"`` (PATN, DMFN) or ``"dmfn_released"``,
            see the module docstring.

    ``forward(x)``: ``x`` ``(B, 3, H, W)`` float in [-1, 1] → ``{name: (B, C, H / 2**(stage-1), W / 2**(stage-1))}``
    (floor division through the pools), ``C`` = 64, 128, 256, 512, 512 for stages 1–5.
    Randomly initialised (torch defaults) until :meth:`load_features` is called.
    """

    mean: torch.Tensor  # (1, 3, 1, 1) ImageNet mean, non-persistent buffer
    std: torch.Tensor

    def __init__(
        self,
        layers: Iterable[str] = DPTN_CONTENT_LAYERS + DPTN_STYLE_LAYERS,
        input_norm: InputNorm = "none",
    ) -> None:
        super().__init__()
        self.layers = tuple(dict.fromkeys(layers))
        unknown = [n for n in self.layers if n not in RELU_LAYERS]
        if unknown or not self.layers:
            raise ValueError(
                f"unknown VGG19 layer(s) {unknown or '(none given)'}; valid: {list(RELU_LAYERS)}"
            )
        if input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {list(INPUT_NORMS)}, got {input_norm!r}")
        self.input_norm = input_norm
        self.features = _features()
        self._stop = max(RELU_LAYERS[n] for n in self.layers) + 1
        self._wanted = {RELU_LAYERS[n]: n for n in self.layers}
        # not in the state dict: keys stay torchvision's
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19:
        """Stays in eval mode whatever ``mode`` is (a frozen feature extractor)."""
        return super().train(False)

    def load_features(self, state: Mapping[str, torch.Tensor], source: str = "state dict") -> VGG19:
        """Load torchvision VGG19 weights (classifier keys dropped); ``ValueError`` naming bad keys.

        ``source`` names where ``state`` came from, for the error message.
        """
        self.features.load_state_dict(
            _checked_features(vgg19_features_state(state, source), self.state_dict(), source)
        )
        return self

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.input_norm == "imagenet":
            x = ((x + 1.0) / 2.0 - self.mean) / self.std
        elif self.input_norm == "dmfn_released":
            x = (x - (self.mean - 1.0)) / (2.0 * self.std)
        out: dict[str, torch.Tensor] = {}
        for i in range(self._stop):
            x = self.features[i](x)
            if i in self._wanted:
                out[self._wanted[i]] = x
        return out


def vgg19_features_state(
    state: Mapping[str, torch.Tensor], source: str = "state dict"
) -> dict[str, torch.Tensor]:
    """The ``features.*`` entries of a torchvision VGG19 state dict; ``classifier.*`` are dropped.

    Raises ``ValueError`` naming ``source`` and the first keys that are neither.
    """
    other = [k for k in state if not k.startswith(("features.", "classifier."))]
    if other:
        raise ValueError(
            f"{source}: not a torchvision VGG19 state dict; unexpected key(s) {other[:5]}"
        )
    return {k: v for k, v in state.items() if k.startswith("features.")}


def _checked_features(
    state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor], source: str
) -> dict[str, torch.Tensor]:
    """Check ``state`` has exactly the expected ``features.*`` keys and shapes; keys without the prefix."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{source}: VGG19 features keys differ: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ValueError(
                f"{source}: {k} has shape {tuple(state[k].shape)}, VGG19 needs {tuple(v.shape)}"
            )
    return {k.removeprefix("features."): v for k, v in state.items()}
