"""DINO self-supervised ViTs (Caron et al. 2021) with their public weights through the loader.

The architecture follows the DINO repository's ``VisionTransformer`` (its parameter names,
so ``dino_*_pretrain.pth`` loads strictly): patch embedding, [CLS] token, learned position
embeddings (bicubically resized to the input's patch grid), pre-LN blocks, a final
LayerNorm. :meth:`DinoViT.features` returns what Splicing-ViT (Tumanyan et al. 2022) uses:
block outputs (the [CLS] token is the appearance descriptor) and the attention keys of a
block (their self-similarity is the structure descriptor).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from stylevideo.features.weights import load_weights, register_weights

__all__ = ["DINO_MODELS", "DinoViT", "dino_input", "keys_self_similarity", "load_dino"]

_BASE = "https://dl.fbaipublicfiles.com/dino"
# loader name -> (file, architecture)
DINO_MODELS = {
    "dino_vits16": (
        "dino_deitsmall16_pretrain.pth",
        dict(patch_size=16, embed_dim=384, num_heads=6),
    ),
    "dino_vits8": ("dino_deitsmall8_pretrain.pth", dict(patch_size=8, embed_dim=384, num_heads=6)),
    "dino_vitb16": (
        "dino_vitbase16_pretrain.pth",
        dict(patch_size=16, embed_dim=768, num_heads=12),
    ),
    "dino_vitb8": ("dino_vitbase8_pretrain.pth", dict(patch_size=8, embed_dim=768, num_heads=12)),
}
for _name, (_file, _arch) in DINO_MODELS.items():
    register_weights(
        _name,
        _file,
        url=f"{_BASE}/{_file.removesuffix('.pth')}/{_file}",
        description=f"DINO ViT (patch {_arch['patch_size']}, width {_arch['embed_dim']}) backbone",
    )

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class _Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Returns the output and the keys ``[B, heads, N, dim / heads]``."""
        q, k, v = rearrange(self.qkv(x), "b n (three h d) -> three b h n d", three=3, h=self.num_heads)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(rearrange(y, "b h n d -> b n (h d)")), k


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = _Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        y, keys = self.attn(self.norm1(x))
        x = x + y
        return x + self.mlp(self.norm2(x)), keys


class _PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch_size, stride=patch_size)

    def forward(self, x: Tensor) -> Tensor:
        return rearrange(self.proj(x), "b c h w -> b (h w) c")


class DinoViT(nn.Module):
    """DINO's ViT backbone; input ImageNet-normalised ``[N, 3, H, W]`` (see :func:`dino_input`)."""

    def __init__(
        self,
        patch_size: int = 16,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        img_size: int = 224,
    ):
        super().__init__()
        self.patch_size, self.embed_dim, self.depth = patch_size, embed_dim, depth
        self.patch_embed = _PatchEmbed(patch_size, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + (img_size // patch_size) ** 2, embed_dim))
        self.blocks = nn.ModuleList(_Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def _position(self, h: int, w: int) -> Tensor:
        n = self.pos_embed.shape[1] - 1
        if h * w == n and h == w:
            return self.pos_embed
        side = math.isqrt(n)
        grid = rearrange(self.pos_embed[:, 1:], "1 (h w) c -> 1 c h w", h=side, w=side)
        grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
        return torch.cat([self.pos_embed[:, :1], rearrange(grid, "1 c h w -> 1 (h w) c")], dim=1)

    def tokens(self, x: Tensor) -> Tensor:
        """Patch tokens with the [CLS] token first and position embeddings added."""
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % self.patch_size or x.shape[3] % self.patch_size:
            raise ValueError(
                f"DinoViT expects [N, 3, H, W] with H, W multiples of {self.patch_size}, got {tuple(x.shape)}"
            )
        h, w = x.shape[2] // self.patch_size, x.shape[3] // self.patch_size
        t = self.patch_embed(x)
        t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], dim=1)
        return t + self._position(h, w)

    def features(
        self, x: Tensor, blocks: Sequence[int] = (), keys: Sequence[int] = ()
    ) -> tuple[dict[int, Tensor], dict[int, Tensor]]:
        """Block outputs ``[N, 1 + P, D]`` and keys ``[N, heads, 1 + P, D / heads]``.

        Stops after the deepest requested block.
        """
        wanted = set(blocks) | set(keys)
        if not wanted or min(wanted) < 0 or max(wanted) >= self.depth:
            raise ValueError(f"DinoViT.features: block indices must lie in [0, {self.depth}), got {sorted(wanted)}")
        t = self.tokens(x)
        outputs, key_maps = {}, {}
        for i, block in enumerate(self.blocks[: max(wanted) + 1]):
            t, k = block(t)
            if i in blocks:
                outputs[i] = t
            if i in keys:
                key_maps[i] = k
        return outputs, key_maps

    def forward(self, x: Tensor) -> Tensor:
        """The normalised [CLS] embedding ``[N, D]`` (DINO's image descriptor)."""
        t = self.tokens(x)
        for block in self.blocks:
            t, _ = block(t)
        return self.norm(t)[:, 0]


def keys_self_similarity(keys: Tensor, eps: float = 1e-8) -> Tensor:
    """Cosine self-similarity ``[N, T, T]`` of keys ``[N, heads, T, d]`` (heads concatenated)."""
    k = rearrange(keys, "n h t d -> n t (h d)").float()
    k = k / k.norm(dim=-1, keepdim=True).clamp_min(eps)
    return k @ k.transpose(1, 2)


def dino_input(frames: Tensor, size: int = 224, patch_size: int = 16) -> Tensor:
    """``[N, 3, H, W]`` in [-1, 1] -> ImageNet-normalised input, short side ``size``.

    The long side is rounded down to a multiple of ``patch_size`` (no crop of content
    beyond that rounding).
    """
    x = (frames.float() + 1) / 2
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    out = (
        max(patch_size, round(h * scale) // patch_size * patch_size),
        max(patch_size, round(w * scale) // patch_size * patch_size),
    )
    # no clamp: losses backpropagate through this, also for pixels a generator puts out of range
    x = F.interpolate(x, size=out, mode="bicubic", align_corners=False, antialias=True)
    mean = x.new_tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(_IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def load_dino(name: str = "dino_vitb16", path: str | os.PathLike | None = None) -> DinoViT:
    """A pretrained DINO backbone (frozen, eval mode) from ``path`` or the weight cache."""
    if name not in DINO_MODELS:
        raise ValueError(f"unknown DINO model {name!r}; registered: {sorted(DINO_MODELS)}")
    model = DinoViT(**DINO_MODELS[name][1])
    state = load_weights(name, path)
    if isinstance(state, dict) and "pos_embed" not in state:
        for key in ("teacher", "state_dict", "model"):  # full training checkpoints
            if isinstance(state.get(key), dict):
                state = {k.removeprefix("module.").removeprefix("backbone."): v for k, v in state[key].items()}
                break
    state = {k: v for k, v in state.items() if not k.startswith("head.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise KeyError(
            f"{name}: the file does not match DINO's ViT (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    return model.eval().requires_grad_(False)
