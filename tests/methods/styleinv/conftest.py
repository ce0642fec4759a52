"""Tiny stage-1 and stage-2 checkpoints (written in the Lightning layout the stages save)."""

import pytest
import torch
from styleinv_tiny import ENC, G_ARCH

from stylevideo.nn.psp import PSPEncoderW
from stylevideo.nn.stylegan2 import Generator


@pytest.fixture(scope="session")
def stage_ckpts(tmp_path_factory):
    """``(generator_ckpt, encoder_ckpt)``: a random tiny G with a tracked w_avg, and a W encoder."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("stages")
    g = Generator(**G_ARCH).eval()
    g.w_avg.copy_(g.mean_latent(256))
    torch.save(
        {
            "state_dict": {f"G_ema.{k}": v for k, v in g.state_dict().items()},
            "hyper_parameters": dict(G_ARCH),
        },
        root / "stage1.ckpt",
    )
    enc = PSPEncoderW(32, **ENC)
    state = {f"encoder.{k}": v for k, v in enc.state_dict().items()} | {"w_avg": g.w_avg.clone()}
    torch.save({"state_dict": state, "hyper_parameters": {"num_layers": 50, **ENC}}, root / "stage2.ckpt")
    return str(root / "stage1.ckpt"), str(root / "stage2.ckpt")
