"""Helpers the run tests load by class path (in subprocesses too): a per-step loss recorder,
a StyleGAN2 whose latents are keyed by global sample index, and tiny configurations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from lightning.pytorch import Callback

from stylevideo.methods.stylegan2 import StyleGAN2

REPO = Path(__file__).resolve().parents[2]
TINY_GAN = dict(resolution=16, z_dim=8, w_dim=8, mapping_layers=2, channel_base=128, channel_max=16)
#: the synthetic_root fixture's generator parameters (tests/conftest.py)
SYNTHETIC = dict(
    num_actors=3,
    actions=["talk", "nod", "smile"],
    clips_per_pair=3,
    min_frames=12,
    max_frames=24,
    video_resolution=32,
    fps=25,
    data_seed=0,
)


class LossRecorder(Callback):
    """Appends ``{"step", "rank", "videos" (the batch's), <loss/... logged in that step>}`` to
    ``path`` (default ``<run folder>/losses.jsonl``) after each training step (one JSON line,
    flushed and fsynced: the lines survive a kill). Only the terms the step itself logged are
    written: Lightning's ``callback_metrics`` also holds older steps' values until the epoch ends."""

    def __init__(self, path: str | None = None):
        self.path = path
        self.logged: set[str] = set()

    def setup(self, trainer, pl_module, stage: str) -> None:
        log = pl_module.log

        def recording_log(name, value, *args, **kwargs):
            self.logged.add(name)
            return log(name, value, *args, **kwargs)

        pl_module.log = recording_log

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.logged = set()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        row = {"step": trainer.global_step, "rank": trainer.global_rank}
        if isinstance(batch, dict) and "index" in batch:
            row["videos"] = batch["index"].tolist()
        row |= {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("loss/") and k in self.logged}
        with open(self.path or Path(trainer.default_root_dir) / "losses.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())


def read_losses(path: Path, rank: int = 0) -> dict[int, dict]:
    """Step -> losses of ``rank``; a step recorded twice (redone after a resume) keeps the last."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return {r["step"]: r for r in rows if r["rank"] == rank}


class KeyedStyleGAN2(StyleGAN2):
    """StyleGAN2 whose latents are a function of (iteration, call, global sample index).

    The batches carry ``key`` (the global index of each sample); rank r of W holds the keys
    ``r, r + W, ...`` of a global batch, a single process all of them in order, so both see
    the same latent for the same sample. Plain SGD makes the final weights sensitive to the
    gradients' scale. It also records, per step, a draw from the global
    torch RNG (``rng_draws``) and the keys it trained on (``seen_keys``).
    """

    def configure_optimizers(self):
        # SGD: unlike Adam, its steps scale with the gradients, so a wrong average shows
        return [
            torch.optim.SGD(self.G.parameters(), lr=0.05),
            torch.optim.SGD(self.D.parameters(), lr=0.05),
        ]

    def on_train_start(self) -> None:
        self.rng_draws, self.seen_keys = [], []

    def training_step(self, batch, batch_idx):
        self._keys, self._calls = batch["key"].tolist(), 0
        self.rng_draws.append(torch.randn(4).tolist())
        self.seen_keys += self._keys
        return super().training_step(batch, batch_idx)

    def z(self, n: int) -> torch.Tensor:
        self._calls += 1
        rows = []
        for key in self._keys[:n]:
            g = torch.Generator().manual_seed(((self.iteration * 16 + self._calls) << 20) + key)
            rows.append(torch.randn(self.hparams.z_dim, generator=g))
        return torch.stack(rows).to(self.device)


class KeyedFrames(torch.utils.data.Dataset):
    """``n`` fixed random frames ``[1, 3, res, res]``, each with its ``key``."""

    def __init__(self, n: int = 64, res: int = 16):
        g = torch.Generator().manual_seed(1234)
        self.frames = torch.rand(n, 1, 3, res, res, generator=g) * 2 - 1

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> dict:
        return {"frames": self.frames[i], "key": i}


# -- one tiny model and batch list per method (for the per-method run checks) -----------------
def _frames(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=g) * 2 - 1


def stylegan2_case(tmp_path: Path) -> tuple:
    g = torch.Generator().manual_seed(1)
    model = StyleGAN2(**TINY_GAN, mbstd_group=2, r1_interval=2, pl_interval=2, ada_target=0.0, ada_interval=1)
    return model, [{"frames": _frames(g, 4, 1, 3, 16, 16)} for _ in range(3)]


def onestyle_case(tmp_path: Path) -> tuple:
    from stylevideo.methods.onestyle import OneStyle

    g = torch.Generator().manual_seed(1)
    model = OneStyle(
        resolution=32,
        k=8,
        style_dim=8,
        num_actors=3,
        num_actions=4,
        mapping_layers=2,
        motion_layers=2,
        channel_base=128,
        channel_max=16,
        dt_time_dim=8,
        dt_embed_dim=8,
        dt_feature_channels=8,
        mbstd_group=2,
        r1_interval=2,
        pl_interval=2,
        ramp_start=1,
        ramp_end=3,
    )
    return model, [
        {
            "frames": _frames(g, 4, 3, 3, 32, 32),
            "t": torch.arange(3.0).expand(4, 3) + i,
            "actor": torch.randint(3, (4,), generator=g),
            "action": torch.randint(4, (4,), generator=g),
        }
        for i in range(3)
    ]


def styleinv_case(tmp_path: Path) -> tuple:
    from stylevideo.methods.styleinv import StyleInV
    from stylevideo.nn.psp import PSPEncoderW
    from stylevideo.nn.stylegan2 import Generator

    arch = dict(resolution=32, z_dim=16, w_dim=32, mapping_layers=2, channel_base=256, channel_max=32)
    enc = dict(widths=(16, 16, 16, 32), units=(1, 1, 1, 1))
    gen = Generator(**arch).eval()
    torch.save(
        {
            "state_dict": {f"G_ema.{k}": v for k, v in gen.state_dict().items()},
            "hyper_parameters": arch,
        },
        tmp_path / "stage1.ckpt",
    )
    state = {f"encoder.{k}": v for k, v in PSPEncoderW(32, **enc).state_dict().items()} | {"w_avg": gen.w_avg}
    torch.save(
        {"state_dict": state, "hyper_parameters": {"num_layers": 50, **enc}},
        tmp_path / "stage2.ckpt",
    )
    model = StyleInV(
        str(tmp_path / "stage1.ckpt"),
        str(tmp_path / "stage2.ckpt"),
        motion_z_dim=16,
        v_dim=16,
        delta_z=4,
        kernel_size=3,
        clip_length=16,
        max_distance=8,
        d_channel_base=256,
        d_channel_max=32,
        mbstd_group=2,
        d_const_dim=8,
        ema_kimg=0.01,
        generation_chunk=4,
        r1_interval=2,
        ada_interval=1,
        **enc,
    )
    g = torch.Generator().manual_seed(1)
    return model, [{"frames": _frames(g, 2, 4, 3, 32, 32), "t": torch.tensor([[0.0, 2, 3, 6]] * 2)} for _ in range(3)]


def lia_case(tmp_path: Path) -> tuple:
    from stylevideo.features.vgg import VGG19Features
    from stylevideo.methods.lia import LIA

    model = LIA(
        resolution=64,
        latent_dim=32,
        motion_dim=8,
        channel_base=256,
        channel_max=32,
        vgg_scales=(1.0, 0.5),
        mbstd_group=2,
        r1_gamma=1.0,
        r1_interval=2,
    )
    model.set_vgg(VGG19Features(("relu1_1", "relu2_1")))
    g = torch.Generator().manual_seed(1)
    return model, [{"frames": _frames(g, 2, 2, 3, 64, 64)} for _ in range(3)]


def vidstyleode_case(tmp_path: Path) -> tuple:
    from stylevideo.methods.vidstyleode import (
        StandInCLIP,
        StandInInverter,
        StandInSpliceViT,
        StandInStyleGAN2,
        VidStyleODE,
    )
    from stylevideo.methods.vidstyleode.text import Descriptions

    class ActorTexts(Descriptions):
        texts = ("a photo of a red face", "a photo of a blue face", "a photo of a green face")

        def setup(self, datamodule) -> None:
            pass

        def __call__(self, batch):
            return [self.texts[int(a)] for a in batch["actor"]]

    generator = StandInStyleGAN2(16, 16, channel_base=128, channel_max=16, mapping_layers=1)
    model = VidStyleODE(
        generator=generator,
        inverter=StandInInverter(generator.num_ws, 16, channels=8, input_size=16),
        clip=StandInCLIP(16, 16, 1, 64, 8, 16, 2, 1),
        splice=StandInSpliceViT(8, 16, 2, 2, input_size=16),
        descriptions=ActorTexts(),
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
        lambda_C_steps=2,
    )
    g = torch.Generator().manual_seed(1)
    return model, [
        {
            "frames": _frames(g, 3, 5, 3, 16, 16),
            "t": torch.tensor([[0.0, 2, 5, 9, 14]] * 3),
            "actor": torch.arange(3),
            "video_id": ["a", "b", "c"],
        }
        for _ in range(3)
    ]


CASES = {
    "stylegan2": stylegan2_case,
    "onestyle": onestyle_case,
    "styleinv": styleinv_case,
    "lia": lia_case,
    "vidstyleode": vidstyleode_case,
}
