"""LIA: whole training iterations (G phase with L1 + VGG pyramid + adversarial, D phase; time and
FLOPs of the second iteration of a fit) and animation of 16- and 128-frame clips, at the paper's
size (256x256, M = 20, the authors' widths) and at the synthetic experiment's size. VGG19 has
random weights here (same architecture and cost as the ImageNet one, which is never downloaded)."""

from __future__ import annotations

import torch

from stylevideo.bench.core import BenchCase, time_iterations
from stylevideo.features.vgg import VGG19Features
from stylevideo.methods.lia import LIA

#: experiments/lia_synthetic.yaml's model.
SMOKE = dict(
    resolution=64,
    latent_dim=64,
    motion_dim=8,
    channel_base=1024,
    channel_max=64,
    vgg_scales=(1.0, 0.5, 0.25),
)


def _model(**kwargs) -> LIA:
    torch.manual_seed(0)
    model = LIA(**kwargs)
    model.set_vgg(VGG19Features())
    return model


def _iteration(batch: int, **kwargs):
    def build(device: str):
        model = _model(**kwargs)
        res = model.hparams.resolution
        frames = torch.rand(batch, 2, 3, res, res) * 2 - 1

        def step() -> float:  # a fresh 2-iteration fit; the second iteration is timed
            return time_iterations(model, {"frames": frames}, 2, device)[-1]

        return step

    return build


def _animate(num_frames: int, **kwargs):
    def build(device: str):
        model = _model(**kwargs).to(device).eval()
        res = model.hparams.resolution
        source = torch.rand(1, 3, res, res, device=device) * 2 - 1
        driving = torch.rand(1, num_frames, 3, res, res, device=device) * 2 - 1
        return lambda: model.animate(source, driving, relative=True)

    return build


def cases() -> list[BenchCase]:
    return [
        BenchCase(
            "lia",
            "train iteration 64x64, batch 8 (lia_synthetic widths)",
            _iteration(8, **SMOKE),
            items=8,
            warmup=0,
            repeat=3,
            count_flops=True,
        ),
        BenchCase(
            "lia",
            "train iteration 256x256, batch 1 (paper widths, M = 20)",
            _iteration(1),
            items=1,
            warmup=0,
            repeat=3,
            quick=False,
            notes="authors' code, same machine: see docs/lia.md",
            count_flops=True,
        ),
        BenchCase(
            "lia",
            "train iteration 256x256, batch 8 (paper widths, the paper's per-GPU batch)",
            _iteration(8),
            items=8,
            warmup=0,
            repeat=1,
            quick=False,
            count_flops=True,
        ),
        BenchCase(
            "lia",
            "animate a 16-frame clip 64x64 (lia_synthetic widths)",
            _animate(16, **SMOKE),
            items=16,
            unit="frames",
            warmup=1,
            repeat=3,
        ),
        BenchCase(
            "lia",
            "animate a 16-frame clip 256x256 (paper widths)",
            _animate(16),
            items=16,
            unit="frames",
            warmup=1,
            repeat=3,
            quick=False,
        ),
        BenchCase(
            "lia",
            "animate a 128-frame clip 256x256 (paper widths)",
            _animate(128),
            items=128,
            unit="frames",
            warmup=0,
            repeat=1,
            quick=False,
        ),
    ]
