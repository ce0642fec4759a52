"""CLIP (clip-anytorch) with its own ``.pt`` files resolved through the weight loader.

``clip.load`` would download to ``~/.cache/clip``; here the file comes from the loader and
``clip.load`` is given its path. :func:`clip_image_input` is CLIP's preprocessing on
tensors (bicubic resize of the short side, centre crop, CLIP's mean/std), so frames
never leave the device.
"""

from __future__ import annotations

import os
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylevideo.features.weights import register_weights, resolve_weights

__all__ = ["CLIP_MODELS", "clip_image_input", "load_clip"]

_BASE = "https://openaipublic.azureedge.net/clip/models"
# CLIP name -> (loader name, file, URL), as clip-anytorch's own model table.
CLIP_MODELS = {
    "ViT-B/32": (
        "clip_vit_b32",
        "ViT-B-32.pt",
        f"{_BASE}/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
    ),
    "ViT-B/16": (
        "clip_vit_b16",
        "ViT-B-16.pt",
        f"{_BASE}/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt",
    ),
}
for _name, (_key, _file, _url) in CLIP_MODELS.items():
    register_weights(
        _key,
        _file,
        url=_url,
        description=f"OpenAI CLIP {_name}",
        sha256=_url.split("/")[-2],
        sha256_source="the sha256 in OpenAI's URL, which clip's own download checks (clip/clip.py _download)",
    )

_MEAN = (0.48145466, 0.4578275, 0.40821073)
_STD = (0.26862954, 0.26130258, 0.27577711)


def load_clip(
    name: str = "ViT-B/32",
    path: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """The CLIP model ``name`` from ``path`` or the weight cache, in eval mode, frozen."""
    import clip

    if name not in CLIP_MODELS:
        raise ValueError(f"unknown CLIP {name!r}; registered: {sorted(CLIP_MODELS)}")
    file = resolve_weights(CLIP_MODELS[name][0], path)
    with warnings.catch_warnings():  # OpenAI's files are TorchScript archives
        warnings.filterwarnings("ignore", "`torch.jit.load` is deprecated", FutureWarning)
        model, _ = clip.load(str(file), device=device, jit=False)
    return model.float().eval().requires_grad_(False)


def clip_image_input(frames: Tensor, resolution: int) -> Tensor:
    """``[N, 3, H, W]`` in [-1, 1] to CLIP's normalised ``[N, 3, r, r]`` input."""
    x = (frames.float() + 1) / 2
    h, w = x.shape[-2:]
    scale = resolution / min(h, w)
    size = (max(resolution, round(h * scale)), max(resolution, round(w * scale)))
    x = F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True)
    top, left = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    x = x[..., top : top + resolution, left : left + resolution].clamp(0, 1)
    mean = x.new_tensor(_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(_STD).view(1, 3, 1, 1)
    return (x - mean) / std
