"""Real clips for the metric tests: decoded small (decord), in the data layer's convention."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def read_clip(path: Path, indices, size: int | None = None) -> np.ndarray:
    """uint8 [T, H, W, 3] frames of a video (decord), optionally resized to ``size``."""
    import decord

    kwargs = {"width": size, "height": size} if size else {}
    return decord.VideoReader(str(path), **kwargs).get_batch(list(indices)).asnumpy()


def as_video(frames: np.ndarray) -> torch.Tensor:
    """uint8 [T, H, W, 3] to float [T, 3, H, W] in [-1, 1] (the data layer's convention)."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1
