"""Losses of DPTN training (and the vanilla GAN terms pix2pix uses), as small pure functions.

Images are ``(B, 3, H, W)`` float in [-1, 1]; discriminator outputs are raw scores/logits of any
shape. Every loss returns a 0-dim tensor (a mean over all elements).

DPTN's generator objective (generators.md §2.3), computed by :func:`dptn_generator_loss`:

    L_G = r (λ_rec L1_t + λ_c C_t + λ_s S_t) + (1 − r)(λ_rec L1_s + λ_c C_s + λ_s S_s) + λ_g GAN_t

``_t`` compares ``out_t`` with the target image, ``_s`` the s→s output with the source image;
``C`` is the VGG19 content term on relu1_1…relu5_1 (weight 1 each), ``S`` the style term on the
Grams of relu2_2, relu3_4, relu4_4, relu5_2; VGG19 gets [-1, 1] as is (no ImageNet mean/std);
GAN is LSGAN on s→t only. The discriminator minimises ``0.5 [MSE(D(X_t), 1) + MSE(D(out_t), 0)]``.

Distillation (generators.md §7): ``λ_KD ‖G_S(x) − G_T(x)‖₁`` with the teacher frozen
(:class:`FrozenTeacher`: no parameter requires a gradient, eval mode, ``no_grad`` forward), loaded
from a checkpoint by :func:`load_teacher`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pgdata.errors import InputFormatError, PgdataError, WeightsError
from pgdata.io.weights import KNOWN_WEIGHTS, find_weights, load_state_dict
from pgdata.models.dptn import DPTNConfig, DPTNGenerator
from pgdata.models.vgg import DPTN_CONTENT_LAYERS, DPTN_STYLE_LAYERS, VGG19, InputNorm

__all__ = [
    "DEFAULT_KD_WEIGHT",
    "DPTN_LOSS_WEIGHTS",
    "VGG19_FILE",
    "DPTNLossWeights",
    "FrozenTeacher",
    "PerceptualLoss",
    "bce_d_loss",
    "bce_g_loss",
    "build_vgg",
    "distillation_loss",
    "dptn_generator_loss",
    "gram_matrix",
    "init_student_from_teacher",
    "l1_loss",
    "load_generator_state",
    "load_teacher",
    "lsgan_d_loss",
    "lsgan_g_loss",
]

VGG19_FILE = "vgg19-dcbb9e9d.pth"
DEFAULT_KD_WEIGHT = 5.0  # λ_KD is unspecified by the study; λ_rec (5) is the sensible default
_D_AVERAGE = 0.5  # DPTN and pix2pix halve the sum of the real and fake D terms
_CHECKPOINT_KEY = "G"  # the generator's state dict in a pgdata training checkpoint


# ---------------------------------------------------------------------------------------------
# elementary terms


def l1_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference ``mean |x − y|`` over all elements (shapes must match)."""
    return F.l1_loss(x, y)


def gram_matrix(f: torch.Tensor) -> torch.Tensor:
    """Normalised Gram ``F Fᵀ / (C H W)`` of ``(B, C, H, W)`` features → ``(B, C, C)`` float32.

    Computed in float32 even under autocast (the style weight is 500; bf16 sums lose digits).
    """
    b, c, h, w = f.shape
    flat = f.reshape(b, c, h * w).float()
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def lsgan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator: ``0.5 [mean (D(real) − 1)² + mean D(fake)²]``; detach ``fake``'s image first."""
    ones, zeros = torch.ones_like(real), torch.zeros_like(fake)
    return _D_AVERAGE * (F.mse_loss(real, ones) + F.mse_loss(fake, zeros))


def lsgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """LSGAN generator: ``mean (D(fake) − 1)²``."""
    return F.mse_loss(fake, torch.ones_like(fake))


def bce_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Vanilla GAN discriminator: ``0.5 [BCE(real, 1) + BCE(fake, 0)]`` on logits (BCE-with-logits)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return _D_AVERAGE * (real + fake)


def bce_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Vanilla (non-saturating) GAN generator: ``BCE(fake, 1)`` on logits."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def distillation_loss(
    student_out: torch.Tensor, teacher_out: torch.Tensor, weight: float = DEFAULT_KD_WEIGHT
) -> torch.Tensor:
    """``weight · mean |G_S(x) − G_T(x)|``; the teacher output is detached (a constant target)."""
    return weight * F.l1_loss(student_out, teacher_out.detach())


# ---------------------------------------------------------------------------------------------
# VGG19 perceptual terms


def build_vgg(
    path: str | Path | None,
    *,
    layers: Sequence[str] = DPTN_CONTENT_LAYERS + DPTN_STYLE_LAYERS,
    input_norm: InputNorm = "none",
) -> VGG19:
    """A frozen :class:`VGG19` with torchvision's ImageNet weights from ``vgg19-dcbb9e9d.pth``.

    ``path`` is the file or a folder holding it; ``None`` looks in ``$PGDATA_WEIGHTS_DIR`` and the
    torch hub cache. Raises :class:`~pgdata.errors.WeightsError` naming the file, its sha256
    prefix and where to get and put it when it is missing, has the wrong sha256, or does not hold
    VGG19's ``features`` keys and shapes.
    """
    spec = KNOWN_WEIGHTS[VGG19_FILE]
    found = find_weights(spec, path)
    state = load_state_dict(spec, found, check=False)  # find_weights checked the sha256
    try:
        return VGG19(layers, input_norm).load_features(state, source=str(found))
    except ValueError as e:
        raise WeightsError(f"{e}; get {spec.name} from {spec.url}") from None


class PerceptualLoss(nn.Module):
    """DPTN's VGG19 content and style terms (unweighted by λ).

    ``forward(x, y)`` with ``x`` the output, ``y`` the reference, both ``(B, 3, H, W)`` in [-1, 1]
    (H, W ≥ 16 for relu5_x), returns ``(content, style)``:

    - content = Σ_l w_l · mean |φ_l(x) − φ_l(y)| over ``content_layers`` (DPTN: relu1_1…relu5_1, w = 1);
    - style = Σ_l mean |G(φ_l(x)) − G(φ_l(y))| over ``style_layers`` with :func:`gram_matrix`.

    ``y`` is a constant target: its features are computed without gradient. The VGG's own
    ``input_norm`` decides the input mapping (DPTN: none).
    """

    def __init__(
        self,
        vgg: VGG19,
        content_layers: Sequence[str] = DPTN_CONTENT_LAYERS,
        content_weights: Sequence[float] | None = None,
        style_layers: Sequence[str] = DPTN_STYLE_LAYERS,
    ) -> None:
        super().__init__()
        weights = (
            tuple(content_weights) if content_weights is not None else (1.0,) * len(content_layers)
        )
        if len(weights) != len(content_layers):
            raise ValueError(f"{len(content_layers)} content layers but {len(weights)} weights")
        missing = [n for n in (*content_layers, *style_layers) if n not in vgg.layers]
        if missing:
            raise ValueError(f"the VGG19 extractor does not return {missing}; build it with them")
        self.vgg = vgg
        self.content_layers = tuple(content_layers)
        self.content_weights = weights
        self.style_layers = tuple(style_layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fx = self.vgg(x)
        with torch.no_grad():
            fy = self.vgg(y)
        content = sum(
            (
                w * F.l1_loss(fx[n], fy[n])
                for n, w in zip(self.content_layers, self.content_weights, strict=True)
            ),
            x.new_zeros(()),
        )
        style = sum(
            (F.l1_loss(gram_matrix(fx[n]), gram_matrix(fy[n])) for n in self.style_layers),
            x.new_zeros((), dtype=torch.float32),
        )
        return content, style


# ---------------------------------------------------------------------------------------------
# DPTN objective


@dataclass(frozen=True)
class DPTNLossWeights:
    """λ weights of DPTN's generator objective (defaults: DeepFashion; Market in :data:`DPTN_LOSS_WEIGHTS`).

    Attributes:
        rec: λ_rec, L1 reconstruction.
        content: λ_c, VGG content.
        style: λ_s, VGG style.
        gan: λ_g, LSGAN generator term on s→t.
        ratio: r (``t_s_ratio``), weight of the s→t terms; the s→s terms get ``1 − r``.
    """

    rec: float = 5.0
    content: float = 0.5
    style: float = 500.0
    gan: float = 2.0
    ratio: float = 0.5


DPTN_LOSS_WEIGHTS: dict[str, DPTNLossWeights] = {
    "deepfashion": DPTNLossWeights(),
    "market": DPTNLossWeights(rec=2.0, gan=5.0, ratio=0.8),
}
_DEEPFASHION = DPTN_LOSS_WEIGHTS["deepfashion"]


def _image_terms(
    prefix: str,
    out: torch.Tensor,
    ref: torch.Tensor,
    w: DPTNLossWeights,
    perceptual: PerceptualLoss | None,
) -> dict[str, torch.Tensor]:
    terms = {f"rec_{prefix}": w.rec * l1_loss(out, ref)}
    if perceptual is not None:
        content, style = perceptual(out, ref)
        terms[f"content_{prefix}"] = w.content * content
        terms[f"style_{prefix}"] = w.style * style
    return terms


def dptn_generator_loss(
    out_t: torch.Tensor,
    target: torch.Tensor,
    d_fake_t: torch.Tensor | None,
    weights: DPTNLossWeights = _DEEPFASHION,
    *,
    out_s: torch.Tensor | None = None,
    source: torch.Tensor | None = None,
    perceptual: PerceptualLoss | None = None,
) -> dict[str, torch.Tensor]:
    """DPTN's generator objective and its λ-weighted terms.

    Args:
        out_t: ``(B, 3, H, W)`` s→t output; ``target``: the target image, same shape.
        d_fake_t: ``D(out_t)`` (D frozen or not stepped), or ``None`` for no GAN term.
        weights: the λs and r.
        out_s, source: the s→s output and the source image; required when ``r < 1``.
        perceptual: the VGG content/style terms, or ``None`` when they are switched off.

    Returns:
        ``{"rec_t", "content_t", "style_t", "rec_s", "content_s", "style_s", "gan_t", "total"}``
        (only the terms in use). Each term is already multiplied by its λ but not by r or 1 − r;
        ``total = r · Σ _t terms + (1 − r) · Σ _s terms + gan_t``.
    """
    terms = _image_terms("t", out_t, target, weights, perceptual)
    total = weights.ratio * sum(terms.values(), out_t.new_zeros((), dtype=torch.float32))
    if weights.ratio < 1.0:
        if out_s is None or source is None:
            raise ValueError(
                f"t_s_ratio {weights.ratio} < 1 needs the s→s output and the source image: "
                "run G with with_source=True, or set the ratio to 1"
            )
        s_terms = _image_terms("s", out_s, source, weights, perceptual)
        total = total + (1.0 - weights.ratio) * sum(
            s_terms.values(), out_t.new_zeros((), dtype=torch.float32)
        )
        terms.update(s_terms)
    if d_fake_t is not None:
        terms["gan_t"] = weights.gan * lsgan_g_loss(d_fake_t)
        total = total + terms["gan_t"]
    terms["total"] = total
    return terms


# ---------------------------------------------------------------------------------------------
# teacher / student


class FrozenTeacher(nn.Module):
    """A generator used only as a distillation target: frozen, always in eval, run without grad.

    ``forward`` takes and returns what :class:`~pgdata.models.DPTNGenerator` does; outputs never
    carry a gradient. ``train()`` keeps it in eval mode (BatchNorm uses its running statistics).
    """

    def __init__(self, generator: DPTNGenerator) -> None:
        super().__init__()
        self.generator = generator.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> FrozenTeacher:
        """Stays in eval mode whatever ``mode`` is."""
        return super().train(False)

    def forward(
        self,
        src_img: torch.Tensor,
        src_pose: torch.Tensor,
        tgt_pose: torch.Tensor,
        *,
        with_source: bool = False,
        resize_back: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        with torch.no_grad():
            out: tuple[torch.Tensor, torch.Tensor | None] = self.generator(
                src_img, src_pose, tgt_pose, with_source=with_source, resize_back=resize_back
            )
        return out


def _first_mismatch(expected: Mapping[str, torch.Tensor], found: Mapping[str, Any]) -> str | None:
    """The first difference between two state dicts' keys and shapes, in words; ``None`` if none."""
    for k, v in expected.items():
        if k not in found:
            return f"key {k!r} {tuple(v.shape)} is missing"
        got = found[k]
        if not isinstance(got, torch.Tensor):
            return f"key {k!r} holds a {type(got).__name__}, not a tensor"
        if got.shape != v.shape:
            return f"key {k!r} has shape {tuple(got.shape)}, the model needs {tuple(v.shape)}"
    extra = [k for k in found if k not in expected]
    if extra:
        return f"unexpected key {extra[0]!r} ({len(extra)} in all)"
    return None


def load_generator_state(path: str | Path, cfg: DPTNConfig) -> dict[str, torch.Tensor]:
    """Read a generator state dict from ``path`` and check it fits ``cfg``'s architecture.

    ``path`` holds a pgdata training checkpoint (a dict whose ``"G"`` is the generator's state
    dict) or a bare state dict, readable with ``torch.load(weights_only=True)``. Raises
    :class:`~pgdata.errors.InputFormatError` naming the file and the first missing, unexpected
    or mis-shaped key.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFormatError(
            p, "generator checkpoint not found; give the path of a checkpoint file (ckpt-*.pt)"
        )
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a bad or non-weights-only file
        raise InputFormatError(
            p, f"not a weights-only PyTorch checkpoint ({type(e).__name__}: {e})"
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get(_CHECKPOINT_KEY), dict):
        obj = obj[_CHECKPOINT_KEY]
    if (
        not isinstance(obj, dict)
        or not obj
        or not all(isinstance(v, torch.Tensor) for v in obj.values())
    ):
        keys = sorted(map(str, obj))[:8] if isinstance(obj, dict) else type(obj).__name__
        raise InputFormatError(
            p,
            f"expected a checkpoint with a {_CHECKPOINT_KEY!r} state dict, or a state dict; found {keys}",
        )
    with torch.device("meta"):  # shapes only: no memory, no init
        expected = DPTNGenerator(cfg, init=False).state_dict()
    problem = _first_mismatch(expected, obj)
    if problem is not None:
        raise InputFormatError(
            p,
            f"the generator does not match the configured architecture ({_describe(cfg)}): {problem}; "
            "configure the network it was trained with",
        )
    return {str(k): v for k, v in obj.items()}


def _describe(cfg: DPTNConfig) -> str:
    block = (
        f"mbconv e{cfg.mbconv_expand} k{cfg.mbconv_kernel} se{cfg.mbconv_se}"
        if cfg.block == "mbconv"
        else "res"
    )
    return f"ngf {cfg.ngf}, block {block}, {cfg.n_cab} CAB + {cfg.n_ttb} TTB"


def load_teacher(path: str | Path, cfg: DPTNConfig) -> FrozenTeacher:
    """The teacher generator of architecture ``cfg`` with the weights in ``path``, frozen (CPU).

    Errors as :func:`load_generator_state`. Move it with ``.to(device)``.
    """
    generator = DPTNGenerator(cfg, init=False)
    generator.load_state_dict(load_generator_state(path, cfg))
    return FrozenTeacher(generator)


def init_student_from_teacher(student: nn.Module, teacher: nn.Module) -> list[str]:
    """Copy every teacher tensor into the student parameter/buffer of the same name (in place).

    Every student entry must exist in the teacher with the same shape (the student drops blocks,
    it does not change them); raises :class:`~pgdata.errors.PgdataError` naming the first one
    that does not. Returns the teacher keys left unused (the dropped CAB/TTB), sorted.
    """
    t_state = teacher.state_dict()
    s_state = student.state_dict()
    for k, v in s_state.items():
        if k not in t_state or t_state[k].shape != v.shape:
            found = tuple(t_state[k].shape) if k in t_state else "absent"
            raise PgdataError(
                f"cannot start the student from the teacher: student {k!r} {tuple(v.shape)} is {found} in the teacher"
            )
    student.load_state_dict({k: t_state[k] for k in s_state})
    return sorted(set(t_state) - set(s_state))
