"""onestyle: whole training iterations (D_t + D_s, G, lazy R1 and path length averaged in; FLOP
counts of the same averaged iteration) and the generation of 16- and 128-frame clips."""

from __future__ import annotations

import torch

from stylevideo.bench.core import BenchCase, lazy_average, time_iterations
from stylevideo.methods.onestyle import OneStyle

#: MEAD at 128x128 (section 4): 30 actors, 8 emotions, k = 128, config-f widths.
PAPER = dict(resolution=128, k=128, num_actors=30, num_actions=8)
#: experiments/onestyle_synthetic.yaml
SMOKE = dict(
    resolution=32,
    k=32,
    style_dim=32,
    num_actors=3,
    num_actions=3,
    lr=0.0025,
    mapping_layers=2,
    omega_std=0.25,
    channel_base=1024,
    channel_max=48,
    ramp_start=100,
    ramp_end=300,
    dt_time_dim=32,
    dt_embed_dim=32,
    dt_feature_channels=32,
    r1_gamma=0.1,
    ema_kimg=0.5,
)


def _batch(model: OneStyle, batch: int) -> dict:
    hp, g = model.hparams, torch.Generator().manual_seed(0)
    res = hp.resolution
    return {
        "frames": torch.rand(batch, 3, 3, res, res, generator=g) * 2 - 1,
        "t": torch.randint(0, 60, (batch, 1), generator=g).float() + torch.arange(3.0),
        "actor": torch.randint(hp.num_actors, (batch,), generator=g),
        "action": torch.randint(hp.num_actions, (batch,), generator=g),
    }


def _iteration(batch: int, **model_kwargs):
    def build(device: str):
        torch.manual_seed(0)
        model = OneStyle(**model_kwargs)
        data = _batch(model, batch)
        intervals = {"r1": model.hparams.r1_interval, "pl": model.hparams.pl_interval}

        def step() -> float:  # iterations 0..4: R1+PL, none x3, PL -> separable costs
            return lazy_average(time_iterations(model, data, 5, device), intervals)

        return step

    return build


def _generation(num_frames: int, **model_kwargs):
    def build(device: str):
        torch.manual_seed(0)
        model = OneStyle(**model_kwargs).to(device).eval()
        return lambda: model.sample_videos(1, num_frames, seed=0, actor=0, action=1)

    return build


def cases() -> list[BenchCase]:
    return [
        BenchCase(
            "onestyle",
            "train iteration 32x32, batch 8 triplets (onestyle_synthetic widths)",
            _iteration(8, **SMOKE),
            items=8,
            unit="videos",
            warmup=0,
            repeat=3,
            count_flops=True,
        ),
        BenchCase(
            "onestyle",
            "train iteration 128x128, batch 4 triplets (config-f widths, k=128)",
            _iteration(4, **PAPER),
            items=4,
            unit="videos",
            warmup=0,
            repeat=1,
            quick=False,
            count_flops=True,
        ),
        BenchCase(
            "onestyle",
            "train iteration 128x128, batch 16 triplets (paper: config-f widths, k=128)",
            _iteration(16, **PAPER),
            items=16,
            unit="videos",
            warmup=0,
            repeat=1,
            quick=False,
            count_flops=True,
        ),
        BenchCase(
            "onestyle",
            "generate a 16-frame clip 32x32 (onestyle_synthetic widths)",
            _generation(16, **SMOKE),
            items=16,
            unit="frames",
            warmup=1,
            repeat=3,
        ),
        BenchCase(
            "onestyle",
            "generate a 16-frame clip 128x128 (paper widths)",
            _generation(16, **PAPER),
            items=16,
            unit="frames",
            warmup=1,
            repeat=3,
            quick=False,
        ),
        BenchCase(
            "onestyle",
            "generate a 128-frame clip 128x128 (paper widths)",
            _generation(128, **PAPER),
            items=128,
            unit="frames",
            warmup=0,
            repeat=1,
            quick=False,
        ),
    ]
