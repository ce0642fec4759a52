"""Helpers for the metric tests: real clips decoded small, a tiny I3D stand-in."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from stylevideo.features.i3d import I3D


def read_clip(path: Path, indices, size: int | None = None) -> np.ndarray:
    """uint8 [T, H, W, 3] frames of a video (decord), optionally resized to ``size``."""
    import decord

    kwargs = {"width": size, "height": size} if size else {}
    return decord.VideoReader(str(path), **kwargs).get_batch(list(indices)).asnumpy()


def as_video(frames: np.ndarray) -> torch.Tensor:
    """uint8 [T, H, W, 3] to float [T, 3, H, W] in [-1, 1] (the data layer's convention)."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1


@pytest.fixture(scope="session")
def tiny_i3d() -> I3D:
    """The I3D architecture at 1/8 width, frames resized to 16px, random weights."""
    torch.manual_seed(0)
    return I3D(width=0.125, resize_to=16).eval()


@pytest.fixture(scope="session")
def scripted_tiny_i3d(tmp_path_factory, tiny_i3d) -> Path:
    """The tiny I3D saved as TorchScript, as the real detector file is."""
    path = tmp_path_factory.mktemp("i3d") / "i3d_torchscript.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(tiny_i3d), str(path))
    return path
