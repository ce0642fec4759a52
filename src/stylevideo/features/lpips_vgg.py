"""LPIPS on VGG16 (Zhang et al. 2018, "net-lin" / v0.1) without downloads.

The perceptual loss of StyleInV's fine-tuning-based style transfer (section 3.5; the
authors' code uses rosinality's ``PerceptualLoss(model="net-lin", net="vgg")``).
torchmetrics ships the LPIPS linear layers in its package but fetches the ImageNet VGG16
backbone from torchvision's servers; here the backbone comes from the weight loader
(torchvision's ``vgg16-397923af.pth``).
"""

from __future__ import annotations

import os
import re

from torch import nn
from torchmetrics.functional.image.lpips import _NoTrainLpips

from stylevideo.features.weights import TORCHVISION_PREFIX, load_weights, register_weights

__all__ = ["VGG16_WEIGHTS", "lpips_vgg"]

VGG16_WEIGHTS = "vgg16_imagenet"
register_weights(
    VGG16_WEIGHTS,
    "vgg16-397923af.pth",
    url="https://download.pytorch.org/models/vgg16-397923af.pth",
    description="torchvision's ImageNet VGG16, the LPIPS-VGG backbone",
    sha256="397923af",
    sha256_source=TORCHVISION_PREFIX.format(fn="vgg16"),
)

# torchmetrics' Vgg16 keeps torchvision's feature indices, split in five slices.
_SLICE_BOUNDS = (4, 9, 16, 23, 30)


def _slice(index: int) -> int:
    return next(k for k, end in enumerate(_SLICE_BOUNDS, start=1) if index < end)


def lpips_vgg(path: str | os.PathLike | None = None, pretrained_backbone: bool = True) -> nn.Module:
    """torchmetrics' LPIPS module (VGG16 + v0.1 linear layers; inputs in [-1, 1]), frozen.

    The backbone comes from ``path`` or the weight cache; ``pretrained_backbone=False`` keeps
    it random (tests and smoke runs without the weight file)."""
    net = _NoTrainLpips(net="vgg", pnet_rand=True)
    if pretrained_backbone:
        backbone = {}
        for key, value in load_weights(VGG16_WEIGHTS, path).items():
            m = re.fullmatch(r"features\.(\d+)\.(weight|bias)", key)
            if m and int(m.group(1)) < _SLICE_BOUNDS[-1]:
                backbone[f"slice{_slice(int(m.group(1)))}.{m.group(1)}.{m.group(2)}"] = value
        net.net.load_state_dict(backbone)
    return net.eval().requires_grad_(False)
