"""Test helpers: a tiny VidStyleODE on random-weight stand-ins (16x16 frames, 4x4 dynamics grid,
6 W+ layers) and batches for it."""

from __future__ import annotations

import torch

from stylevideo.methods.vidstyleode import (
    StandInCLIP,
    StandInInverter,
    StandInSpliceViT,
    StandInStyleGAN2,
    VidStyleODE,
)
from stylevideo.methods.vidstyleode.text import Descriptions

TEXTS = ["a photo of a red face", "a photo of a blue face", "a photo of a green face"]


class ListDescriptions(Descriptions):
    """Description ``texts[actor]`` for every video."""

    def __init__(self, texts=TEXTS):
        self.texts = list(texts)

    def setup(self, datamodule) -> None:
        pass

    def __call__(self, batch):
        return [self.texts[int(a)] for a in batch["actor"]]


def stand_ins(res: int = 16, w_dim: int = 16) -> dict:
    generator = StandInStyleGAN2(res, w_dim, channel_base=128, channel_max=16, mapping_layers=1)
    return dict(
        generator=generator,
        inverter=StandInInverter(generator.num_ws, w_dim, channels=8, input_size=16),
        clip=StandInCLIP(16, 16, 1, 64, 8, 16, 2, 1),
        splice=StandInSpliceViT(8, 16, 2, 2, input_size=16),
    )


TINY = dict(
    frame_size=(16, 16),
    d_sp=8,
    d_ode=16,
    downsamplings=2,
    encoder_channel_base=8,
    encoder_channel_max=16,
    ode_hidden=8,
    ode_layers=1,
    width=16,
    heads=2,
    sa_layers=1,
    ca_layers=1,
    layer_groups=(2, 2),
    mapper_layers=(1, 1, 1),
    time_unit=10.0,
    delta_scale=0.1,
)


def make_model(**overrides) -> VidStyleODE:
    kwargs = {**stand_ins(), "descriptions": ListDescriptions(), **TINY, **overrides}
    return VidStyleODE(**kwargs)


def make_batch(b: int = 3, k: int = 5, res: int = 16, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    times = torch.sort(torch.randperm(20, generator=g)[:k]).values.float()
    return {
        "frames": torch.rand(b, k, 3, res, res, generator=g) * 2 - 1,
        "t": times.expand(b, -1).clone(),
        "actor": torch.arange(b) % len(TEXTS),
        "video_id": [f"v{i}" for i in range(b)],
    }
