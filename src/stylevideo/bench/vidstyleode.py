"""VidStyleODE: whole training iterations (one optimizer phase; time and FLOPs: the mean of the
second and third iterations of a fit) and the animation of 16- and 128-frame clips, at the
paper's sizes (random weights of the pretrained architectures) and at the synthetic experiment's."""

from __future__ import annotations

import torch
from clip.model import CLIP

from stylevideo.bench.core import BenchCase, time_iterations
from stylevideo.features.dino import DINO_MODELS, DinoViT
from stylevideo.methods.vidstyleode import (
    StandInCLIP,
    StandInInverter,
    StandInSpliceViT,
    StandInStyleGAN2,
    VidStyleODE,
)
from stylevideo.methods.vidstyleode.content import PSPInverter
from stylevideo.methods.vidstyleode.frozen import (
    CLIP_ARCHITECTURES,
    CLIPModel,
    SpliceViT,
    StyleGAN2Wrapper,
)
from stylevideo.methods.vidstyleode.text import Descriptions
from stylevideo.nn.psp import GradualStyleEncoder
from stylevideo.nn.stylegan2 import Generator


class _Texts(Descriptions):
    def setup(self, datamodule) -> None:
        pass

    def __call__(self, batch: dict) -> list[str]:
        return [f"a photo of a person with hair number {int(a)}" for a in batch["actor"]]


def _paper_model() -> VidStyleODE:
    """RAVDESS's networks with random weights: FFHQ config-f (1024), pSp IR-SE50, CLIP ViT-B/32,
    DINO ViT-B/16; f_D, f_G at the paper's widths."""
    g = Generator(1024, 512, 512, 8, 32768, 512, noise_mode="const")
    inverter = PSPInverter(GradualStyleEncoder(18), torch.zeros(18, 512))
    splice = SpliceViT(DinoViT(**DINO_MODELS["dino_vitb16"][1]), 11, 11, 224)
    return VidStyleODE(
        StyleGAN2Wrapper(g, g.mean_latent(256)),
        inverter,
        CLIPModel(CLIP(*CLIP_ARCHITECTURES["ViT-B/32"])),
        splice,
        _Texts(),
    )


def _trained_paper_model() -> VidStyleODE:
    """The trained networks (f_D, ConvGRU, ODEs, f_G) at the paper's widths on 128x128 frames,
    the frozen ones as tiny stand-ins: the cost of the method's own part."""
    g = StandInStyleGAN2(32, 512, 2048, 64, 2)
    return VidStyleODE(
        g,
        StandInInverter(8, 512),
        StandInCLIP(embed_dim=512),
        StandInSpliceViT(),
        _Texts(),
        layer_groups=(2, 3),
    )


def _smoke_model() -> VidStyleODE:
    """experiments/vidstyleode_synthetic.yaml."""
    g = StandInStyleGAN2(32, 64, 512, 64, 2)
    return VidStyleODE(
        g,
        StandInInverter(8, 64),
        StandInCLIP(),
        StandInSpliceViT(),
        _Texts(),
        frame_size=(32, 32),
        downsamplings=2,
        d_sp=16,
        d_ode=32,
        encoder_channel_base=16,
        encoder_channel_max=32,
        ode_hidden=16,
        time_unit=25.0,
        width=32,
        heads=2,
        sa_layers=2,
        ca_layers=2,
        layer_groups=(2, 3),
        mapper_layers=(2, 2, 2),
        delta_scale=0.1,
    )


def _batch(batch: int, frames: int, size: int) -> dict:
    g = torch.Generator().manual_seed(0)
    t = torch.sort(torch.randperm(100, generator=g)[:frames]).values.float()
    return {
        "frames": torch.rand(batch, frames, 3, size, size, generator=g) * 2 - 1,
        "t": t.expand(batch, -1).clone(),
        "actor": torch.arange(batch),
    }


def _iteration(make, batch: int, frames: int, size: int):
    def build(device: str):
        torch.manual_seed(0)
        model, data = make(), _batch(batch, frames, size)

        def step() -> float:
            seconds = time_iterations(model, data, 3, device)
            return sum(seconds[1:]) / 2  # the first iteration warms up

        return step

    return build


def _animation(make, num_frames: int, size: int):
    def build(device: str):
        torch.manual_seed(0)
        model = make().to(device).eval()
        g = torch.Generator().manual_seed(0)
        source = (torch.rand(1, 3, size, size, generator=g) * 2 - 1).to(device)
        driving = (torch.rand(1, num_frames, 3, size, size, generator=g) * 2 - 1).to(device)
        return lambda: model.animate(source, driving)

    return build


def cases() -> list[BenchCase]:
    return [
        BenchCase(
            "vidstyleode",
            "train iteration 32x32, batch 4 x 6 frames, k=3 (synthetic widths)",
            _iteration(_smoke_model, 4, 6, 32),
            items=4,
            unit="videos",
            warmup=0,
            repeat=3,
            count_flops=True,
        ),
        BenchCase(
            "vidstyleode",
            "animate 16 frames 32x32 (synthetic widths)",
            _animation(_smoke_model, 16, 32),
            items=16,
            unit="frames",
            warmup=1,
            repeat=3,
        ),
        BenchCase(
            "vidstyleode",
            "train iteration 128x128, batch 2 x 8 frames, k=3 (paper widths of f_D, ConvGRU, ODE, "
            "f_G; frozen networks tiny stand-ins)",
            _iteration(_trained_paper_model, 2, 8, 128),
            items=2,
            unit="videos",
            warmup=0,
            repeat=1,
            quick=False,
            count_flops=True,
        ),
        BenchCase(
            "vidstyleode",
            "train iteration 128x128, batch 2 x 8 frames, k=3 (paper widths, G 1024)",
            _iteration(_paper_model, 2, 8, 128),
            items=2,
            unit="videos",
            warmup=0,
            repeat=1,
            quick=False,
            count_flops=True,
        ),
        BenchCase(
            "vidstyleode",
            "animate 16 frames 128x128 (paper widths, G 1024)",
            _animation(_paper_model, 16, 128),
            items=16,
            unit="frames",
            warmup=1,
            repeat=1,
            quick=False,
        ),
        BenchCase(
            "vidstyleode",
            "animate 128 frames 128x128 (paper widths, G 1024)",
            _animation(_paper_model, 128, 128),
            items=128,
            unit="frames",
            warmup=0,
            repeat=1,
            quick=False,
        ),
    ]
