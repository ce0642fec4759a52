"""The I3D video detector behind FVD (StyleGAN-V's protocol).

FVD uses the Kinetics-400 I3D that StyleGAN-V ships as TorchScript
(``i3d_torchscript.pt``, a port of the tf.hub model of Unterthiner et al.). It takes
``uint8 [B, 3, T, H, W]`` and is called as
``detector(x, rescale=True, resize=True, return_features=True)``: it rescales to
[-1, 1], resizes every frame to 224x224 and returns the 400 raw pre-softmax logits.

:class:`I3D` is the same Inception-v1-inflated architecture (Carreira & Zisserman 2017)
in plain PyTorch with the same call signature. With random weights it is the test and
benchmark stand-in (``width`` and ``resize_to`` shrink it for tests); the real numbers
always come from the TorchScript file via :func:`load_i3d`.
"""

from __future__ import annotations

import os
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylevideo.features.weights import register_weights, resolve_weights

__all__ = ["I3D", "I3D_WEIGHTS", "load_i3d"]

I3D_WEIGHTS = "i3d_kinetics400"
register_weights(
    I3D_WEIGHTS,
    "i3d_torchscript.pt",
    url="https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1",
    description="Kinetics-400 I3D TorchScript detector used by StyleGAN-V's FVD",
)

# (out 1x1, reduce 3x3, out 3x3, reduce "5x5" (a 3x3 in I3D), out, pool projection)
_MIXED = {
    "3b": (64, 96, 128, 16, 32, 32),
    "3c": (128, 128, 192, 32, 96, 64),
    "4b": (192, 96, 208, 16, 48, 64),
    "4c": (160, 112, 224, 24, 64, 64),
    "4d": (128, 128, 256, 24, 64, 64),
    "4e": (112, 144, 288, 32, 64, 64),
    "4f": (256, 160, 320, 32, 128, 128),
    "5b": (256, 160, 320, 32, 128, 128),
    "5c": (384, 192, 384, 48, 128, 128),
}


class _Unit3d(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int | tuple[int, int, int] = 1, stride: int = 1):
        k = (k, k, k) if isinstance(k, int) else k
        pad = tuple(s // 2 for s in k)
        super().__init__(
            nn.Conv3d(cin, cout, k, stride=stride, padding=pad, bias=False),
            nn.BatchNorm3d(cout, eps=1e-3, momentum=0.01),
            nn.ReLU(inplace=True),
        )


class _Mixed(nn.Module):
    """Inflated Inception module: four branches concatenated on channels."""

    def __init__(self, cin: int, c: tuple[int, ...]):
        super().__init__()
        self.b0 = _Unit3d(cin, c[0])
        self.b1 = nn.Sequential(_Unit3d(cin, c[1]), _Unit3d(c[1], c[2], 3))
        self.b2 = nn.Sequential(_Unit3d(cin, c[3]), _Unit3d(c[3], c[4], 3))
        self.b3 = nn.Sequential(nn.MaxPool3d(3, stride=1, padding=1), _Unit3d(cin, c[5]))
        self.out_channels = c[0] + c[2] + c[4] + c[5]

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(x)], dim=1)


class I3D(nn.Module):
    """Inception-I3D with StyleGAN-V's detector interface (random weights: a stand-in).

    ``width`` scales every channel count (1.0 is the real network's size) and
    ``resize_to`` is the side frames are resized to when ``resize=True`` (224 for I3D).
    """

    def __init__(self, num_classes: int = 400, width: float = 1.0, resize_to: int = 224):
        super().__init__()
        self.resize_to = resize_to
        self.num_features = num_classes

        def ch(c: int) -> int:
            return max(1, round(c * width))

        layers: list[nn.Module] = [
            _Unit3d(3, ch(64), 7, stride=2),
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            _Unit3d(ch(64), ch(64)),
            _Unit3d(ch(64), ch(192), 3),
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        ]
        cin = ch(192)
        for name, spec in _MIXED.items():
            if name == "4b":
                layers.append(nn.MaxPool3d(3, stride=2, padding=1))
            if name == "5b":
                layers.append(nn.MaxPool3d(2, stride=2, ceil_mode=True))
            mixed = _Mixed(cin, tuple(ch(c) for c in spec))
            layers.append(mixed)
            cin = mixed.out_channels
        self.features = nn.Sequential(*layers)
        self.logits = nn.Conv3d(cin, num_classes, 1)
        for m in self.features.modules():  # He init: random stand-ins keep their input's signal
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x: Tensor, rescale: bool = True, resize: bool = True, return_features: bool = True) -> Tensor:
        """``x``: ``uint8 [B, 3, T, H, W]``; returns ``[B, 400]`` logits (or softmax)."""
        x = x.float()
        if rescale:
            x = x / 127.5 - 1.0
        if resize:
            size = [x.shape[2], self.resize_to, self.resize_to]
            x = F.interpolate(x, size=size, mode="trilinear", align_corners=False)
        x = self.features(x)
        # Spatial average as I3D's 7x7 average pool at 224px; the logits average over time.
        x = self.logits(x.mean(dim=(3, 4), keepdim=True)).mean(dim=(2, 3, 4))
        return x if return_features else x.softmax(dim=1)


def load_i3d(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """The TorchScript I3D detector from ``path`` or the weight cache (never downloaded)."""
    file = resolve_weights(I3D_WEIGHTS, path)
    with warnings.catch_warnings():  # the detector is TorchScript by protocol
        warnings.filterwarnings("ignore", "`torch.jit.load` is deprecated", FutureWarning)
        detector = torch.jit.load(str(file), map_location=device).eval()
    for p in detector.parameters():
        p.requires_grad_(False)
    return detector
