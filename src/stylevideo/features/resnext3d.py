"""The Kinetics-pretrained 3D ResNeXt-101 of Hara et al. (CVPR 2018), the network of lia's
video FID (lia B.2: "a pre-trained ResNext101 (Hara et al., 2018)", following G3AN).

Architecture: Hara et al.'s ``models/resnext.py`` (branch CVPR2018 of
kenshohara/3D-ResNets-PyTorch, the code of the released ``resnext-101-kinetics.pth``,
``--model resnext --model_depth 101 --resnet_shortcut B --resnext_cardinality 32``):
a 7x7x7 stem (64 channels, stride (1, 2, 2)), a 3x3x3 max pool of stride 2, four stages
of (3, 4, 23, 3) bottlenecks with 1x1x1 -> grouped 3x3x3 (cardinality 32, ``cardinality *
int(planes / 32)`` channels) -> 1x1x1 convolutions, planes (128, 256, 512, 1024),
expansion 2, projection shortcuts (type B), strides (1, 2, 2, 2) in time and space.

Features as G3AN's evaluation (wyhsirius/g3an-project ``evaluation/fid.py``): frames resized
to 112x112 (PIL bilinear), pixel values in [0, 255] minus the Kinetics mean (114.7748,
107.7354, 99.4750) with std 1, and the 2048 channels of ``layer4`` averaged over time and
space (their ``AvgPool3d((1, 4, 4))`` then ``adaptive_avg_pool3d`` to 1x1x1).
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylevideo.features.weights import load_weights, register_weights
from stylevideo.metrics.utils import to_uint8

__all__ = ["KINETICS_MEAN", "RESNEXT101_KINETICS", "ResNeXt3D", "load_resnext3d"]

RESNEXT101_KINETICS = "resnext101_kinetics"
register_weights(
    RESNEXT101_KINETICS,
    "resnext-101-kinetics.pth",
    url="https://drive.google.com/drive/folders/1zvl89AgFAApbH0At-gMuZSeQB_LpNP-M",
    description="Hara et al.'s Kinetics-400 3D ResNeXt-101 (the 'pretrained models' folder of the README of "
    "kenshohara/3D-ResNets-PyTorch, branch CVPR2018); lia's video FID network",
)

#: Hara et al.'s Kinetics mean, RGB, on the [0, 255] scale (G3AN normalises with std 1).
KINETICS_MEAN = (114.7748, 107.7354, 99.4750)


class Bottleneck(nn.Module):
    """ResNeXt bottleneck (expansion 2): 1x1x1, grouped 3x3x3 (stride), 1x1x1, plus the shortcut."""

    expansion = 2

    def __init__(self, inplanes: int, planes: int, cardinality: int, stride: int = 1):
        super().__init__()
        mid = cardinality * (planes // 32)
        if mid < 1:
            raise ValueError(f"planes={planes} give no channels at cardinality {cardinality} (need planes >= 32)")
        out = planes * self.expansion
        self.conv1 = nn.Conv3d(inplanes, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(mid)
        self.conv2 = nn.Conv3d(mid, mid, 3, stride=stride, padding=1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm3d(mid)
        self.conv3 = nn.Conv3d(mid, out, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(out)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv3d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm3d(out))

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNeXt3D(nn.Module):
    """Hara et al.'s 3D ResNeXt (default: ResNeXt-101, 32 groups, Kinetics-400 classes).

    ``features(videos)`` is the video FID feature: ``[B, T, 3, H, W]`` in [-1, 1] (or uint8)
    -> ``[B, 2048]``. ``layers``, ``planes``, ``stem`` and ``cardinality`` shrink it for tests;
    ``size`` is the side frames are resized to (112).
    """

    def __init__(
        self,
        layers: tuple[int, ...] = (3, 4, 23, 3),
        cardinality: int = 32,
        planes: tuple[int, ...] = (128, 256, 512, 1024),
        stem: int = 64,
        num_classes: int = 400,
        size: int = 112,
    ):
        super().__init__()
        self.size = size
        self.conv1 = nn.Conv3d(3, stem, 7, stride=(1, 2, 2), padding=3, bias=False)
        self.bn1 = nn.BatchNorm3d(stem)
        self.maxpool = nn.MaxPool3d(3, stride=2, padding=1)
        inplanes = stem
        for i, (n, p) in enumerate(zip(layers, planes, strict=True)):
            blocks = []
            for b in range(n):
                blocks.append(Bottleneck(inplanes, p, cardinality, stride=2 if i > 0 and b == 0 else 1))
                inplanes = p * Bottleneck.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_layers = len(layers)
        self.num_features = inplanes
        self.fc = nn.Linear(inplanes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def preprocess(self, videos: Tensor) -> Tensor:
        """``[B, T, 3, H, W]`` (float in [-1, 1] or uint8) -> ``[B, 3, T, size, size]``, [0, 255] minus the mean."""
        if videos.ndim != 5 or videos.shape[2] != 3:
            raise ValueError(f"expected videos [B, T, 3, H, W], got {tuple(videos.shape)}")
        b = videos.shape[0]
        x = to_uint8(videos).flatten(0, 1).float()
        if tuple(x.shape[-2:]) != (self.size, self.size):  # PIL's bilinear resize of uint8 frames
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
            x = x.round().clamp(0, 255)
        x = x - torch.tensor(KINETICS_MEAN, device=x.device).view(1, 3, 1, 1)
        return x.unflatten(0, (b, -1)).transpose(1, 2)

    def trunk(self, x: Tensor) -> Tensor:
        """``layer4``'s output for preprocessed ``x [B, 3, T, H, W]``."""
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for i in range(self.num_layers):
            x = getattr(self, f"layer{i + 1}")(x)
        return x

    @torch.no_grad()
    def features(self, videos: Tensor) -> Tensor:
        """The spatio-temporal average of ``layer4``: ``[B, num_features]``."""
        return self.trunk(self.preprocess(videos)).mean(dim=(2, 3, 4))

    def forward(self, videos: Tensor) -> Tensor:
        """Kinetics-400 logits (the classifier of the released file)."""
        return self.fc(self.trunk(self.preprocess(videos)).mean(dim=(2, 3, 4)))


def load_resnext3d(path: str | os.PathLike | None = None, device: str | torch.device = "cpu", **arch) -> ResNeXt3D:
    """The released ``resnext-101-kinetics.pth`` (``{"state_dict": {"module.<name>": ...}, ...}``
    as saved through DataParallel) in a :class:`ResNeXt3D`, eval mode, frozen (never downloaded)."""
    checkpoint = load_weights(RESNEXT101_KINETICS, path)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path or RESNEXT101_KINETICS}: expected a state dict (or {{'state_dict': ...}})")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = ResNeXt3D(**arch)
    ours = net.state_dict()
    missing = [k for k in ours if k not in state and not k.endswith("num_batches_tracked")]  # absent before 0.4
    wrong = [k for k in state if k not in ours or state[k].shape != ours[k].shape]
    if missing or wrong:
        raise ValueError(
            f"{path or RESNEXT101_KINETICS} is not a 3D ResNeXt of this architecture: "
            f"missing {missing[:5]}, unexpected or misshapen {wrong[:5]}"
        )
    net.load_state_dict(state, strict=False)
    net = net.eval().to(device)
    net.requires_grad_(False)
    return net
