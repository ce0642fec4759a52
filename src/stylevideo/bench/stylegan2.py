"""Image StyleGAN2: whole training iterations (D, G, lazy R1 and path length averaged in); their
FLOP counts are those of the same averaged iteration."""

from __future__ import annotations

import torch

from stylevideo.bench.core import BenchCase, lazy_average, time_iterations
from stylevideo.methods.stylegan2 import StyleGAN2


def _iteration(resolution: int, batch: int, **model_kwargs):
    def build(device: str):
        torch.manual_seed(0)
        model = StyleGAN2(resolution=resolution, **model_kwargs)
        frames = torch.rand(batch, 1, 3, resolution, resolution) * 2 - 1
        intervals = {"r1": model.hparams.r1_interval, "pl": model.hparams.pl_interval}

        def step() -> float:  # iterations 0..4: R1+PL, none x3, PL -> separable costs
            return lazy_average(time_iterations(model, {"frames": frames}, 5, device), intervals)

        return step

    return build


SMOKE = dict(z_dim=64, w_dim=64, mapping_layers=4, channel_base=1024, channel_max=64)


def cases() -> list[BenchCase]:
    return [
        BenchCase(
            "stylegan2",
            "train iteration 32x32, batch 16 (stylegan2_synthetic widths)",
            _iteration(32, 16, **SMOKE),
            items=16,
            warmup=0,
            repeat=3,
            count_flops=True,
        ),
        BenchCase(
            "stylegan2",
            "train iteration 128x128, batch 4 (config-f widths)",
            _iteration(128, 4),
            items=4,
            warmup=0,
            repeat=1,
            quick=False,
            count_flops=True,
        ),
        BenchCase(
            "stylegan2",
            "train iteration 256x256, batch 4 (config-f widths)",
            _iteration(256, 4),
            items=4,
            warmup=0,
            repeat=1,
            quick=False,
            count_flops=True,
        ),
    ]
