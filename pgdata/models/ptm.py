"""DPTN's Pose Transformer Module (PTM): Context Augment Blocks (CAB) and Texture Transfer Blocks (TTB).

Tokens are the ``H/8 · W/8`` positions of a ``(B, C, H/8, W/8)`` feature map (1024 at 256×256,
704 at 256×176), ``C = d_model``. No positional encoding, no dropout, post-norm. The norm is an
affine InstanceNorm1d over the tokens of each channel (``norm="batch"``: BatchNorm1d), applied to
``(B, C, L)``. Attention is ``nn.MultiheadAttention`` (``batch_first``; its parameters do not
depend on the number of heads).

- CAB(x):  ``x = N1(x + SA(x)); x = N2(x + FFN(x))``                              (395,776 at C=256)
- TTB(t, m, v): ``t = N1(t + SA(t)); t = N2(t + MHA(q=t, k=m, v=v)); t = N3(t + FFN(t))`` (659,456)
- FFN = Linear C→F · LeakyReLU · Linear F→C (DPTN: F = C = 256, not 4C).
- PTM(src, tgt, val): ``m = CABs(src)`` (no final norm), ``t = TTBs(tgt, m, val)``, then a final norm.
"""

from __future__ import annotations

import torch
from torch import nn

from pgdata.models.dptn_blocks import NormKind

__all__ = ["CAB", "PTM", "TTB", "norm1d"]


def norm1d(kind: NormKind, channels: int) -> nn.Module:
    """Affine InstanceNorm1d (default) or BatchNorm1d over ``(B, C, L)``."""
    if kind == "instance":
        return nn.InstanceNorm1d(channels, affine=True)
    return nn.BatchNorm1d(channels)


def _apply_norm(norm: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """Normalise ``(B, L, C)`` tokens with a 1-D norm that expects ``(B, C, L)``."""
    return norm(tokens.transpose(1, 2)).transpose(1, 2)  # type: ignore[no-any-return]


class _FFN(nn.Module):
    """Linear C→F · LeakyReLU · Linear F→C on ``(B, L, C)``."""

    def __init__(self, d_model: int, ffn_dim: int, slope: float) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, ffn_dim)
        self.act = nn.LeakyReLU(slope)
        self.linear2 = nn.Linear(ffn_dim, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.act(self.linear1(x)))  # type: ignore[no-any-return]


class CAB(nn.Module):
    """Context Augment Block: self-attention and FFN, each residual then normalised. ``(B, L, C)`` in and out."""

    def __init__(
        self, d_model: int, heads: int, ffn_dim: int, norm: NormKind, slope: float
    ) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.ffn = _FFN(d_model, ffn_dim, slope)
        self.norm1 = norm1d(norm, d_model)
        self.norm2 = norm1d(norm, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _apply_norm(self.norm1, x + self.self_attn(x, x, x, need_weights=False)[0])
        return _apply_norm(self.norm2, x + self.ffn(x))


class TTB(nn.Module):
    """Texture Transfer Block. ``t``, ``memory`` (CAB output), ``value`` (source features): ``(B, L, C)``."""

    def __init__(
        self, d_model: int, heads: int, ffn_dim: int, norm: NormKind, slope: float
    ) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.ffn = _FFN(d_model, ffn_dim, slope)
        self.norm1 = norm1d(norm, d_model)
        self.norm2 = norm1d(norm, d_model)
        self.norm3 = norm1d(norm, d_model)

    def forward(self, t: torch.Tensor, memory: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        t = _apply_norm(self.norm1, t + self.self_attn(t, t, t, need_weights=False)[0])
        t = _apply_norm(self.norm2, t + self.cross_attn(t, memory, value, need_weights=False)[0])
        return _apply_norm(self.norm3, t + self.ffn(t))


class PTM(nn.Module):
    """Pose Transformer Module: ``n_cab`` CABs on the s→s features, ``n_ttb`` TTBs on the s→t features.

    ``forward(src, tgt, val)`` takes three ``(B, C, h, w)`` maps (s→s, s→t, source-image encoding)
    and returns the refined s→t map ``(B, C, h, w)``.
    """

    def __init__(
        self,
        d_model: int,
        heads: int,
        ffn_dim: int,
        n_cab: int,
        n_ttb: int,
        norm: NormKind,
        slope: float,
    ) -> None:
        super().__init__()
        self.cabs = nn.ModuleList(CAB(d_model, heads, ffn_dim, norm, slope) for _ in range(n_cab))
        self.ttbs = nn.ModuleList(TTB(d_model, heads, ffn_dim, norm, slope) for _ in range(n_ttb))
        self.norm = norm1d(norm, d_model)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        b, c, h, w = src.shape
        memory = src.flatten(2).transpose(1, 2)  # (B, L, C)
        t = tgt.flatten(2).transpose(1, 2)
        value = val.flatten(2).transpose(1, 2)
        for cab in self.cabs:
            memory = cab(memory)
        for ttb in self.ttbs:
            t = ttb(t, memory, value)
        out = self.norm(t.transpose(1, 2))  # (B, C, L)
        return out.reshape(b, c, h, w)  # type: ignore[no-any-return]
