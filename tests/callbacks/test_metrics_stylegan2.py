"""The metric callbacks in a 2-step fit of the stylegan2 method (the real generation path)."""

from __future__ import annotations

import json

import pytest
import torch
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from test_metrics_callbacks import TinyFeatures

from stylevideo.callbacks.metrics import FrameMetrics, VideoMetrics
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.features.i3d import I3D
from stylevideo.methods.stylegan2 import StyleGAN2
from stylevideo.video.sampling import RandomFrames

TINY = dict(
    resolution=16,
    z_dim=8,
    w_dim=8,
    mapping_layers=2,
    channel_base=128,
    channel_max=16,
    mbstd_group=2,
)


def test_callbacks_log_their_keys_in_a_two_step_stylegan2_fit(tmp_path, synthetic_root):
    torch.manual_seed(0)
    data = SyntheticDataModule.from_root(str(synthetic_root), resolution=16, batch_size=4, sampler=RandomFrames(1))
    common = dict(every_n_steps=2, batch_size=4)
    callbacks = [
        VideoMetrics(
            ["fvd8_4f", "warping_error"],
            warping_videos=4,
            warping_frames=3,
            extractors={"i3d": I3D(num_classes=16, width=0.125, resize_to=16)},
            **common,
        ),
        FrameMetrics(
            ["fid8", "is10"],
            num_frames=2,
            frames_per_video=1,
            extractors={"inception_fid": TinyFeatures(), "inception_is": TinyFeatures()},
            **common,
        ),
    ]
    trainer = Trainer(
        max_steps=2,
        accelerator="cpu",
        logger=CSVLogger(tmp_path, name="csv"),
        callbacks=[ModelCheckpoint(dirpath=tmp_path / "ckpt"), *callbacks],
        limit_val_batches=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(StyleGAN2(**TINY), datamodule=data)
    (csv,) = tmp_path.glob("csv/*/metrics.csv")
    logged = set(csv.read_text().splitlines()[0].split(","))
    assert {"fvd8_4f", "warping_error", "fid8", "is10", "is10_std"} <= logged
    records = json.loads((tmp_path / "ckpt" / "metrics.json").read_text())
    assert {r["family"] for r in records} == {"video", "frame"}
    # StyleGAN2's videos are still images: their warping error is that of a static video.
    assert records[0]["metrics"]["warping_error"] < 1e-4
    assert float(trainer.callback_metrics["fvd8_4f"]) == pytest.approx(records[0]["metrics"]["fvd8_4f"])
