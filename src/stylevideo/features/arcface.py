"""ArcFace identity embeddings: the IR-SE50 network (Deng et al. 2019) behind onestyle's
Table 1 "ArcFace" column, with the weights pSp distributes (``model_ir_se50.pth``,
trained by TreB1eN's InsightFace_Pytorch), resolved through the weight loader.

Input: face crops ``[N, 3, 112, 112]`` in [-1, 1]; output: L2-normalised ``[N, 512]``.
Layer names follow that checkpoint (``input_layer``, ``body.<i>.res_layer``,
``shortcut_layer``, ``output_layer``) so its state dict loads strictly.
"""

from __future__ import annotations

import os

import torch.nn.functional as F
from torch import Tensor, nn

from stylevideo.features.weights import load_weights, register_weights

__all__ = ["ARCFACE_WEIGHTS", "IRSE50", "load_arcface"]

ARCFACE_WEIGHTS = "arcface_ir_se50"
register_weights(
    ARCFACE_WEIGHTS,
    "model_ir_se50.pth",
    url="https://drive.google.com/file/d/1KW7bjndL3QG3sxBbZxreGHigcCCpsDgn/view",
    description="IR-SE50 ArcFace (InsightFace_Pytorch), as distributed by pixel2style2pixel",
)

# (in, out, units) of the four stages of IR-50; the first unit of a stage has stride 2.
_STAGES = ((64, 64, 3), (64, 128, 4), (128, 256, 14), (256, 512, 3))


class _SE(nn.Module):
    def __init__(self, c: int, reduction: int = 16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, c // reduction, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(c // reduction, c, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.fc2(self.relu(self.fc1(self.avg_pool(x)))).sigmoid()


class _BottleneckIRSE(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        if cin == cout:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
            _SE(cout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class IRSE50(nn.Module):
    """IR-SE50 face embedder for 112x112 crops (eval mode; dropout inactive)."""

    def __init__(self):
        super().__init__()
        self.input_layer = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        units = []
        for cin, cout, n in _STAGES:
            units.append(_BottleneckIRSE(cin, cout, 2))
            units += [_BottleneckIRSE(cout, cout, 1) for _ in range(n - 1)]
        self.body = nn.Sequential(*units)
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512),
            nn.Dropout(0.6),
            nn.Flatten(),
            nn.Linear(512 * 7 * 7, 512),
            nn.BatchNorm1d(512),
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (112, 112):
            x = F.interpolate(x, size=(112, 112), mode="bilinear", align_corners=False)
        return F.normalize(self.output_layer(self.body(self.input_layer(x))), dim=1)


def load_arcface(path: str | os.PathLike | None = None) -> IRSE50:
    """IR-SE50 with the ArcFace weights from ``path`` or the weight cache, in eval mode."""
    net = IRSE50()
    net.load_state_dict(load_weights(ARCFACE_WEIGHTS, path))
    return net.eval().requires_grad_(False)
