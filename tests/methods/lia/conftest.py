"""LIA test fixtures."""

from __future__ import annotations

import pytest
import torch

from stylevideo.features.vgg import PERCEPTUAL_LAYERS, VGG19Features


@pytest.fixture(scope="session")
def vgg19_file(tmp_path_factory):
    """A torchvision-format VGG19 file (random weights, trunk up to relu5_1)."""
    torch.manual_seed(0)
    net = VGG19Features(PERCEPTUAL_LAYERS)
    path = tmp_path_factory.mktemp("weights") / "vgg19-dcbb9e9d.pth"
    torch.save({f"features.{k}": v for k, v in net.features.state_dict().items()}, path)
    return path
