"""VidStyleODE's conditional generator f_G (vidstyleode.txt Eq. 3-4, Fig. 3, supplementary
section 7 "Conditional generator model").

``Delta z_t = AdaIN(CA(SA(z_dt), z_S), z_C)`` and ``z_t = z_C + Delta z_t`` (Eq. 3, 13):

1. **SA**: ``z_dt`` is cut into patches (tokens, after ViT) that go through ``sa_layers``
   self-attention layers (paper: 12 layers, 8 heads, width 512).
2. **CA**: the style code ``z_S`` is a query token that cross-attends to the dynamics tokens;
   every layer predicts an offset to the style code and applies it. The W+ layers are split
   into coarse / medium / fine groups; coarse and medium each have their own cross-attention
   stream ("both the coarse and medium layers receive the dynamics"), the fine group uses
   ``z_S`` without dynamics ("the fine layers do not").
3. **AdaIN**: per group, the content code ``z_C`` of the group's layers, pixel-normalised over
   those layers (the authors' ``PixelNorm`` on dim 1 of a ``[N, layers, 512]`` group,
   ``src/modules/mapper.py:12,199``), is modulated by scale and shift predicted from the
   group's final style vector (HairCLIP-style modulation blocks, as in the authors' code),
   giving the latent direction; ``delta_scale`` scales it (the authors' 0.01).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from stylevideo.nn.attention import (
    CrossAttentionBlock,
    SelfAttentionBlock,
    init_transformer_weights,
)

__all__ = ["ConditionalGenerator", "ModulationBlock", "expand_frames", "layer_groups"]


def layer_groups(num_ws: int, coarse: int, medium: int) -> list[slice]:
    """The coarse / medium / fine W+ layer slices; fine gets the rest (at least one layer)."""
    if coarse < 1 or medium < 1 or coarse + medium >= num_ws:
        raise ValueError(
            f"layer_groups=({coarse}, {medium}) must leave at least one fine layer of the "
            f"generator's {num_ws} W+ layers (coarse >= 1, medium >= 1)"
        )
    return [slice(0, coarse), slice(coarse, coarse + medium), slice(coarse + medium, num_ws)]


class ModulationBlock(nn.Module):
    """``x <- LeakyReLU(LN(fc(x)) * (1 + gamma(c)) + beta(c))``, LN over the group's W+ rows."""

    def __init__(self, num_layers: int, w_dim: int, cond_dim: int):
        super().__init__()
        self.fc = nn.Linear(w_dim, w_dim)
        self.norm = nn.LayerNorm([num_layers, w_dim], elementwise_affine=False)

        def head() -> nn.Sequential:
            return nn.Sequential(
                nn.Linear(cond_dim, w_dim),
                nn.LayerNorm(w_dim),
                nn.LeakyReLU(),
                nn.Linear(w_dim, w_dim),
            )

        self.gamma, self.beta = head(), head()

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.fc(x))
        return F.leaky_relu(x * (1 + self.gamma(c)[:, None]) + self.beta(c)[:, None])


class ConditionalGenerator(nn.Module):
    """f_G: ``(z_dt [N, d_ode, m, n], z_S [N, style_dim], z_C [N, L, w]) -> Delta z [N, L, w]``.

    Args:
        num_ws, w_dim: the W+ shape of the frozen StyleGAN2.
        d_ode, grid: channels and ``(m, n)`` size of ``z_dt``; ``patch_size`` its token patches.
        style_dim: size of ``z_S`` (the CLIP embedding).
        width, heads, sa_layers, ca_layers: the attention network (paper: 512, 8, 12, 12).
        groups: (coarse, medium) W+ layer counts; the rest are fine.
        mapper_layers: modulation blocks per group (coarse, medium, fine).
        delta_scale: the scale of the predicted direction.
    """

    def __init__(
        self,
        num_ws: int,
        w_dim: int = 512,
        d_ode: int = 512,
        grid: tuple[int, int] = (8, 8),
        style_dim: int = 512,
        width: int = 512,
        heads: int = 8,
        sa_layers: int = 12,
        ca_layers: int = 12,
        patch_size: int = 1,
        groups: tuple[int, int] = (4, 6),
        mapper_layers: tuple[int, int, int] = (7, 5, 5),
        delta_scale: float = 0.01,
    ):
        super().__init__()
        if grid[0] % patch_size or grid[1] % patch_size:
            raise ValueError(
                f"ConditionalGenerator: the z_d grid {tuple(grid)} is not divisible by patch_size {patch_size}"
            )
        if len(mapper_layers) != 3:
            raise ValueError(f"mapper_layers must give (coarse, medium, fine) depths, got {mapper_layers}")
        self.num_ws, self.w_dim, self.delta_scale = num_ws, w_dim, delta_scale
        self.slices = layer_groups(num_ws, *groups)
        tokens = (grid[0] // patch_size) * (grid[1] // patch_size)
        self.patch_embed = nn.Conv2d(d_ode, width, patch_size, stride=patch_size)
        self.dyn_pos = nn.Parameter(torch.zeros(1, tokens, width))
        self.style_in = nn.Linear(style_dim, width)
        self.style_pos = nn.Parameter(torch.zeros(1, 1, width))
        self.self_attention = nn.Sequential(*(SelfAttentionBlock(width, heads, 4) for _ in range(sa_layers)))
        self.cross_attention = nn.ModuleList(
            nn.ModuleList(CrossAttentionBlock(width, heads, 2) for _ in range(ca_layers)) for _ in range(2)
        )
        self.out_norm = nn.ModuleList(nn.LayerNorm(width) for _ in range(3))
        self.out = nn.ModuleList(nn.Linear(width, w_dim, bias=False) for _ in range(3))
        self.mappers = nn.ModuleList(
            nn.ModuleList(ModulationBlock(s.stop - s.start, w_dim, w_dim) for _ in range(depth))
            for s, depth in zip(self.slices, mapper_layers, strict=True)
        )
        init_transformer_weights(self)

    def dynamics_tokens(self, z_dt: torch.Tensor) -> torch.Tensor:
        """SA(z_dt): patch tokens after the self-attention layers, ``[N, tokens, width]``."""
        tokens = rearrange(self.patch_embed(z_dt), "n c h w -> n (h w) c")
        return self.self_attention(tokens + self.dyn_pos)

    def style_vectors(self, z_S: torch.Tensor, tokens: torch.Tensor) -> list[torch.Tensor]:
        """CA(., z_S): the (coarse, medium, fine) condition vectors ``[N, w_dim]``; only the
        first two see the dynamics."""
        s0 = self.style_in(z_S)[:, None] + self.style_pos
        streams = []
        for blocks in self.cross_attention:
            s = s0
            for block in blocks:
                s = block(s, tokens)
            streams.append(s)
        streams.append(s0)
        return [out(norm(s[:, 0])) for s, norm, out in zip(streams, self.out_norm, self.out, strict=True)]

    def forward(self, z_dt: torch.Tensor, z_S: torch.Tensor, z_C: torch.Tensor) -> torch.Tensor:
        if z_C.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(
                f"ConditionalGenerator: z_C must be [N, {self.num_ws}, {self.w_dim}], got {tuple(z_C.shape)}"
            )
        conditions = self.style_vectors(z_S, self.dynamics_tokens(z_dt))
        deltas = []
        for part, c, blocks in zip(self.slices, conditions, self.mappers, strict=True):
            h = z_C[:, part]
            h = h * torch.rsqrt(h.pow(2).mean(1, keepdim=True) + 1e-8)  # PixelNorm over the group's layers
            for block in blocks:
                h = block(h, c)
            deltas.append(h)
        return self.delta_scale * torch.cat(deltas, dim=1)


def expand_frames(x: torch.Tensor, frames: int) -> torch.Tensor:
    """``[B, ...] -> [B * frames, ...]`` (each video's tensor repeated for its frames)."""
    return repeat(x, "b ... -> (b k) ...", k=frames)
