"""Small conversions shared by the metrics."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["to_uint8", "to_uint8_numpy"]


def to_uint8(x: Tensor) -> Tensor:
    """[-1, 1] float to uint8 as StyleGAN-V does (``x * 127.5 + 128``, clamped, truncated).

    A frame decoded as uint8 ``u`` and scaled by ``u / 127.5 - 1`` maps back to ``u``
    exactly. uint8 input is returned unchanged.
    """
    if x.dtype == torch.uint8:
        return x
    return (x.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def to_uint8_numpy(frames: Tensor) -> np.ndarray:
    """``[..., 3, H, W]`` in [-1, 1] (or uint8) to a contiguous ``uint8 [..., H, W, 3]`` array."""
    x = to_uint8(frames.detach()).cpu()
    return np.ascontiguousarray(x.movedim(-3, -1).numpy())
