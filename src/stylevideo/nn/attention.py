"""Transformer attention blocks (Vaswani et al. 2017), pre-LayerNorm, on token sequences.

- :class:`MultiHeadAttention`: queries from one sequence, keys/values from another (the same
  one for self-attention), through ``scaled_dot_product_attention`` (fused kernels on GPU).
- :class:`SelfAttentionBlock`: ``x + SA(LN x)``, then ``x + MLP(LN x)``.
- :class:`CrossAttentionBlock`: the style-offset step of VidStyleODE's conditional generator
  (vidstyleode.txt section 7, "at each layer of cross-attention, we predict and apply an
  offset to the style code"): the query tokens (the style code) attend to a context (the
  dynamics tokens); the residual branches are the predicted offset, ``forward = x + offset``.

Weights start as in minGPT: linear weights N(0, 0.02), zero biases, unit LayerNorms.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

__all__ = [
    "CrossAttentionBlock",
    "MultiHeadAttention",
    "SelfAttentionBlock",
    "init_transformer_weights",
]


def init_transformer_weights(module: nn.Module) -> None:
    """minGPT initialisation: ``Linear`` N(0, 0.02) with zero bias, ``LayerNorm`` (1, 0)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            nn.init.ones_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class MultiHeadAttention(nn.Module):
    """``softmax(Q K^T / sqrt(d)) V`` over ``heads`` heads, then an output projection."""

    def __init__(self, dim: int, heads: int = 8, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"MultiHeadAttention: dim {dim} is not divisible by heads {heads}")
        self.heads, self.dropout = heads, dropout
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """``x [B, N, dim]`` attends to ``context [B, M, dim]`` (``x`` itself if None)."""
        context = x if context is None else context
        q, k, v = (
            rearrange(f(s), "b n (h d) -> b h n d", h=self.heads)
            for f, s in ((self.query, x), (self.key, context), (self.value, context))
        )
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(rearrange(y, "b h n d -> b n (h d)"))


def _mlp(dim: int, ratio: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, ratio * dim), nn.GELU(), nn.Linear(ratio * dim, dim), nn.Dropout(dropout))


class SelfAttentionBlock(nn.Module):
    """Pre-LN transformer block: ``x += SA(LN1 x)``; ``x += MLP(LN2 x)`` (``mlp_ratio`` wide)."""

    def __init__(self, dim: int, heads: int = 8, mlp_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.mlp = _mlp(dim, mlp_ratio, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class CrossAttentionBlock(nn.Module):
    """Cross-attention from query tokens ``x`` to a ``context``; returns ``x + offset(x, context)``.

    ``offset`` is ``CA(LN_x x, LN_c context)`` followed by ``MLP(LN(x + CA))`` on the
    updated tokens, i.e. the change this layer applies to the style code.
    """

    def __init__(self, dim: int, heads: int = 8, mlp_ratio: int = 2, dropout: float = 0.0):
        super().__init__()
        self.ln_x, self.ln_context, self.ln2 = (
            nn.LayerNorm(dim),
            nn.LayerNorm(dim),
            nn.LayerNorm(dim),
        )
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.mlp = _mlp(dim, mlp_ratio, dropout)

    def offset(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The style offset this layer predicts for ``x`` given ``context``."""
        attended = self.attn(self.ln_x(x), self.ln_context(context))
        return attended + self.mlp(self.ln2(x + attended))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return x + self.offset(x, context)
