"""LIA's reconstruction and perceptual losses (section 3.3, Eq. 7-8).

The adversarial terms (Eq. 9) are the shared non-saturating losses of
:mod:`stylevideo.nn.gan_losses`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ImagePyramid", "PerceptualLoss", "reconstruction_loss"]


def reconstruction_loss(x_sd: torch.Tensor, x_d: torch.Tensor) -> torch.Tensor:
    """Eq. 7: ``L_recon = E[|x_d - x_{s->d}|_1]`` (mean absolute pixel difference)."""
    return F.l1_loss(x_sd, x_d)


class ImagePyramid(nn.Module):
    """Anti-aliased downscaling to each of ``scales`` (FOMM's band-limited pyramid, which the
    authors use): a Gaussian blur with ``sigma = (1/scale - 1) / 2`` over ``2 round(4 sigma) + 1``
    taps, then every ``1/scale``-th pixel. ``forward(x) -> [x at each scale]``.
    """

    def __init__(self, scales: Sequence[float] = (1.0, 0.5, 0.25, 0.125)):
        super().__init__()
        self.scales = tuple(float(s) for s in scales)
        for i, scale in enumerate(self.scales):
            inv = 1 / scale
            if not (0 < scale <= 1 and inv == round(inv)):
                raise ValueError(f"pyramid scales must be 1/k for integer k, got {scale}")
            if scale < 1:
                sigma = (inv - 1) / 2
                size = 2 * round(4 * sigma) + 1
                g = torch.exp(-((torch.arange(size, dtype=torch.float32) - (size - 1) / 2) ** 2) / (2 * sigma**2))
                self.register_buffer(f"kernel{i}", g / g.sum(), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        c = x.shape[1]
        for i, scale in enumerate(self.scales):
            if scale == 1:
                out.append(x)
                continue
            g = getattr(self, f"kernel{i}").to(x.dtype)
            pad = g.numel() // 2
            y = F.pad(x, (pad, pad, pad, pad))
            # the separable Gaussian as two depthwise 1-D convolutions
            y = F.conv2d(y, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
            y = F.conv2d(y, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
            step = round(1 / scale)
            out.append(y[:, :, ::step, ::step])
        return out


class PerceptualLoss(nn.Module):
    """Eq. 8 on a 4-level image pyramid (section 3.3).

    ``L_vgg = sum_scales sum_n E[|F_n(x_d) - F_n(x_{s->d})|_1]``.

    ``vgg`` maps images ``[B, 3, H, W]`` in [-1, 1] to a list of feature maps ``F_n`` (VGG19's
    relu1_1 .. relu5_1, :func:`stylevideo.features.vgg.vgg19_features`). The target's features
    are computed without gradient. The caller multiplies by lambda (Eq. 10).
    """

    def __init__(self, vgg: nn.Module, scales: Sequence[float] = (1.0, 0.5, 0.25, 0.125)):
        super().__init__()
        self.vgg = vgg
        self.pyramid = ImagePyramid(scales)

    def forward(self, x_sd: torch.Tensor, x_d: torch.Tensor) -> torch.Tensor:
        b = x_sd.shape[0]
        levels = self.pyramid(torch.cat([x_sd, x_d]))
        loss = x_sd.new_zeros((), dtype=torch.float32)
        for level in levels:
            with torch.no_grad():
                target = self.vgg(level[b:])
            for f_fake, f_real in zip(self.vgg(level[:b]), target, strict=True):
                loss = loss + (f_fake.float() - f_real.float()).abs().mean()
        return loss

    @staticmethod
    def min_resolution(scales: Sequence[float], num_pools: int = 4) -> int:
        """The smallest image size whose coarsest level survives ``num_pools`` 2x poolings."""
        return math.ceil(2**num_pools / min(scales))
