"""StyleInV: training iterations (encoder step, D step, lazy R1 averaged in; FLOP counts of the
same averaged iteration) and generation.

The stage-1/2 checkpoints the model starts from are random networks of the right
architecture, written to a temporary folder (timing does not depend on the weights).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from stylevideo.bench.core import BenchCase, lazy_average, time_iterations
from stylevideo.methods.styleinv.model import StyleInV
from stylevideo.nn.psp import PSPEncoderW
from stylevideo.nn.stylegan2 import Generator

#: The paper's setting at 256x256 (stage-1 generator: the authors' paper256, channel_base 16384).
PAPER = dict(
    g=dict(resolution=256, z_dim=512, w_dim=512, mapping_layers=8, channel_base=16384, channel_max=512),
    model={},
    encoder={},
)
#: experiments/styleinv_synthetic.yaml (stage 1: stylegan2_synthetic).
SMOKE = dict(
    g=dict(resolution=32, z_dim=64, w_dim=64, mapping_layers=4, channel_base=2048, channel_max=128),
    encoder=dict(widths=(16, 32, 32, 64), units=(1, 1, 1, 1)),
    model=dict(
        motion_z_dim=64,
        v_dim=64,
        delta_z=8,
        max_period=64,
        clip_length=32,
        max_distance=16,
        d_channel_base=2048,
        d_channel_max=128,
        d_const_dim=32,
        mbstd_group=2,
    ),
)


def _model(setting: dict, device: str, **overrides) -> StyleInV:
    torch.manual_seed(0)
    folder = Path(tempfile.mkdtemp(prefix="bench-styleinv-"))
    g = Generator(**setting["g"])
    torch.save(
        {
            "state_dict": {f"G_ema.{k}": v for k, v in g.state_dict().items()},
            "hyper_parameters": dict(setting["g"]),
        },
        folder / "g.ckpt",
    )
    enc = PSPEncoderW(g.w_dim, **setting["encoder"])
    torch.save(
        {
            "state_dict": {f"encoder.{k}": v for k, v in enc.state_dict().items()} | {"w_avg": g.w_avg},
            "hyper_parameters": {"num_layers": 50, **setting["encoder"]},
        },
        folder / "e.ckpt",
    )
    return StyleInV(
        str(folder / "g.ckpt"),
        str(folder / "e.ckpt"),
        **setting["model"],
        **setting["encoder"],
        **overrides,
    ).to(device)


def _iteration(setting: dict, batch: int, precision: str | None = None):
    def build(device: str):
        model = _model(setting, device)
        res, k = setting["g"]["resolution"], 1 + model.hparams.num_sparse
        data = {
            "frames": torch.rand(batch, k, 3, res, res) * 2 - 1,
            "t": torch.tensor([[0.0, 3, 4, 7]]).expand(batch, -1).contiguous(),
        }
        intervals = {"r1": model.hparams.r1_interval}

        def step() -> float:  # iterations 0 (R1), 1, 2 -> the R1 cost separates
            return lazy_average(time_iterations(model, data, 3, device, precision), intervals)

        return step

    return build


def _generate(setting: dict, n: int, num_frames: int):
    def build(device: str):
        model = _model(setting, device).eval()
        return lambda: model.sample_videos(n, num_frames, seed=0)

    return build


def cases() -> list[BenchCase]:
    note = "encoder step + D step + R1 every 16 (averaged); fresh fakes per phase as the authors"
    return [
        BenchCase(
            "styleinv",
            "train iteration 32x32, batch 4 (styleinv_synthetic widths)",
            _iteration(SMOKE, 4),
            items=4,
            unit="videos",
            warmup=0,
            repeat=2,
            notes=note,
            count_flops=True,
        ),
        BenchCase(
            "styleinv",
            "generate 4 clips of 16 frames, 32x32 (styleinv_synthetic)",
            _generate(SMOKE, 4, 16),
            items=64,
            unit="frames",
            repeat=2,
        ),
        *(
            BenchCase(
                "styleinv",
                f"train iteration 256x256, batch {batch}{label}",
                _iteration(PAPER, batch, precision),
                items=batch,
                unit="videos",
                warmup=warmup,
                repeat=1,
                notes=note + ("; after one untimed warm-up fit" if warmup else "; the process's first fit"),
                quick=False,
                count_flops=True,
            )
            for batch, label, precision, warmup in [
                (8, " per GPU (paper widths)", None, 0),
                (4, " (paper widths; batch 8 needs more than 24 GiB on CPU)", None, 0),
                (2, " (paper widths; the side-by-side comparison's batch)", None, 1),
                (8, " per GPU (paper widths, bf16-mixed)", "bf16-mixed", 0),
            ]
        ),
        BenchCase(
            "styleinv",
            "generate 1 clip of 16 frames, 256x256 (paper widths)",
            _generate(PAPER, 1, 16),
            items=16,
            unit="frames",
            repeat=1,
            quick=False,
        ),
        BenchCase(
            "styleinv",
            "generate 1 clip of 128 frames, 256x256 (paper widths)",
            _generate(PAPER, 1, 128),
            items=128,
            unit="frames",
            warmup=0,
            repeat=1,
            quick=False,
        ),
    ]
