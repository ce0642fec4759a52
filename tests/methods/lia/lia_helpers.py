"""Shared LIA test configuration: a tiny 64x64 model and random-weight VGG19 stand-ins."""

from __future__ import annotations

from stylevideo.features.vgg import VGG19Features

#: A tiny LIA: 64x64 (4 G blocks), narrow widths, N = 32, M = 8, a 3-level VGG pyramid.
TINY = dict(
    resolution=64,
    latent_dim=32,
    motion_dim=8,
    channel_base=256,
    channel_max=32,
    vgg_scales=(1.0, 0.5, 0.25),
    mbstd_group=2,
)


def shallow_vgg() -> VGG19Features:
    """A cheaper random VGG19 stand-in for training tests (relu1_1 .. relu3_1)."""
    return VGG19Features(("relu1_1", "relu2_1", "relu3_1"))
