"""VGG19 feature maps for perceptual losses (Simonyan & Zisserman 2015; Johnson et al. 2016).

torchvision's VGG19 convolutional trunk (``features``, configuration "E"), with the ImageNet
weights of torchvision's ``vgg19-dcbb9e9d.pth`` resolved through the weight loader (never
downloaded). Only the trunk up to the deepest requested layer is built and loaded; the
classifier is never allocated. Inputs are images in [-1, 1]; they are clamped, mapped to
[0, 1] and normalised with the ImageNet mean and std, as the network was trained.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from stylevideo.features.weights import TORCHVISION_PREFIX, load_weights, register_weights, resolve_weights

__all__ = ["PERCEPTUAL_LAYERS", "VGG19Features", "VGG19_LAYERS", "VGG19_WEIGHTS", "vgg19_features"]

VGG19_WEIGHTS = "vgg19_imagenet"
register_weights(
    VGG19_WEIGHTS,
    "vgg19-dcbb9e9d.pth",
    url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    description="torchvision's ImageNet VGG19 (perceptual losses)",
    sha256="dcbb9e9d",
    sha256_source=TORCHVISION_PREFIX.format(fn="vgg19"),
)


def _layer_names() -> dict[str, int]:
    """``{"relu1_1": 1, "conv1_1": 0, ...}``: torchvision ``features`` index of every layer."""
    names, block, conv, index = {}, 1, 0, 0
    for v in cfgs["E"]:
        if v == "M":
            names[f"pool{block}"] = index
            block, conv, index = block + 1, 0, index + 1
        else:
            conv += 1
            names[f"conv{block}_{conv}"], names[f"relu{block}_{conv}"] = index, index + 1
            index += 2
    return names


#: torchvision ``features`` index of each named VGG19 layer.
VGG19_LAYERS = _layer_names()
#: The five ReLU outputs of the perceptual loss of Johnson et al. / FOMM / LIA.
PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """VGG19 trunk returning the activations of ``layers`` (in network order), random weights.

    Use :func:`vgg19_features` for the ImageNet weights. ``forward(x [B, 3, H, W] in [-1, 1])``
    returns one tensor per layer; every parameter is frozen.
    """

    def __init__(self, layers: Sequence[str] = PERCEPTUAL_LAYERS):
        super().__init__()
        unknown = [name for name in layers if name not in VGG19_LAYERS]
        if unknown or not layers:
            raise ValueError(f"unknown VGG19 layers {unknown or list(layers)}; known: {list(VGG19_LAYERS)}")
        self.layers = tuple(sorted(layers, key=VGG19_LAYERS.__getitem__))
        self.ends = [VGG19_LAYERS[name] + 1 for name in self.layers]
        self.features = make_layers(cfgs["E"])[: self.ends[-1]]
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        """Always in eval mode (a fixed feature extractor)."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG19Features expects images [B, 3, H, W] in [-1, 1], got {tuple(x.shape)}")
        h = ((x.clamp(-1, 1) + 1) / 2 - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out, start = [], 0
        for end in self.ends:
            h = self.features[start:end](h)
            out.append(h)
            start = end
        return out

    def load_torchvision_state_dict(self, state: dict[str, torch.Tensor], source: str = "state dict") -> None:
        """Load torchvision VGG19 weights (``features.<i>.weight/bias``; other keys are ignored)."""
        wanted = {}
        for key, value in state.items():
            m = re.fullmatch(r"features\.(\d+)\.(weight|bias)", key)
            if m and int(m.group(1)) < len(self.features):
                wanted[f"{m.group(1)}.{m.group(2)}"] = value
        missing, _ = self.features.load_state_dict(wanted, strict=False)
        if missing:
            raise KeyError(
                f"{source} is not a torchvision VGG19 state dict: it lacks {['features.' + k for k in missing]}"
            )


def vgg19_features(layers: Sequence[str] = PERCEPTUAL_LAYERS, path: str | os.PathLike | None = None) -> VGG19Features:
    """The ImageNet VGG19 trunk (weights from ``path`` or the cache folder) returning ``layers``."""
    net = VGG19Features(layers)
    net.load_torchvision_state_dict(load_weights(VGG19_WEIGHTS, path), str(resolve_weights(VGG19_WEIGHTS, path)))
    return net
