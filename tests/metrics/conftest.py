"""Helpers for the metric tests: real clips decoded small, a tiny I3D stand-in."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from stylevideo.features.i3d import I3D


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
