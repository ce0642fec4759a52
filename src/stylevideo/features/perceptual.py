"""The LPIPS network (Zhang et al. 2018, AlexNet variant, as lia B.2 uses) without downloads.

torchmetrics ships LPIPS' linear-layer weights inside its package but fetches the
ImageNet AlexNet backbone from torchvision's servers on first use; here the backbone
comes from the weight loader (torchvision's own ``alexnet-owt-7be5be79.pth``).
"""

from __future__ import annotations

import os
import re

from torch import nn
from torchmetrics.functional.image.lpips import _NoTrainLpips

from stylevideo.features.weights import TORCHVISION_PREFIX, load_weights, register_weights

__all__ = ["ALEXNET_WEIGHTS", "lpips_alex"]

ALEXNET_WEIGHTS = "alexnet_imagenet"
register_weights(
    ALEXNET_WEIGHTS,
    "alexnet-owt-7be5be79.pth",
    url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    description="torchvision's ImageNet AlexNet, the LPIPS backbone",
    sha256="7be5be79",
    sha256_source=TORCHVISION_PREFIX.format(fn="alexnet"),
)

# torchmetrics' Alexnet keeps torchvision's feature indices, split in five slices.
_SLICE_OF_INDEX = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}


def lpips_alex(path: str | os.PathLike | None = None) -> nn.Module:
    """torchmetrics' LPIPS module (AlexNet + LPIPS v0.1 linear layers), backbone from the loader."""
    net = _NoTrainLpips(net="alex", pnet_rand=True)
    backbone = {}
    for key, value in load_weights(ALEXNET_WEIGHTS, path).items():
        m = re.fullmatch(r"features\.(\d+)\.(weight|bias)", key)
        if m:
            backbone[f"slice{_SLICE_OF_INDEX[int(m.group(1))]}.{m.group(1)}.{m.group(2)}"] = value
    net.net.load_state_dict(backbone)
    return net.eval()
