"""Sample-video logging: generated clips as an mp4 in the run folder and as a W&B video."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_warn

from stylevideo.video.io import video_grid, write_video

__all__ = ["SampleVideos"]


class SampleVideos(Callback):
    """Every ``every_n_steps`` iterations and at the end of training, generate
    ``num_videos`` clips of ``num_frames`` frames with the module's ``sample_videos``
    (fixed ``seed``, so successive samples are comparable), tile them into one video,
    write ``<dirpath>/<tag>.mp4`` and log it to every W&B logger under ``samples``.

    ``conditions`` are passed to ``sample_videos`` (e.g. ``{actor: 0, action: 2}``);
    ``dirpath`` defaults to ``<run folder>/samples`` (set by the CLI).
    """

    def __init__(
        self,
        every_n_steps: int = 1000,
        num_videos: int = 8,
        num_frames: int = 16,
        fps: int = 10,
        fps_scale: float = 1.0,
        seed: int = 0,
        conditions: dict[str, Any] | None = None,
        dirpath: str | None = None,
    ):
        self.every_n_steps, self.num_videos, self.num_frames = every_n_steps, num_videos, num_frames
        self.fps, self.fps_scale, self.seed = fps, fps_scale, seed
        self.conditions = dict(conditions or {})
        self.dirpath = dirpath
        self.written: list[Path] = []

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args) -> None:
        step = trainer.global_step
        if self.every_n_steps > 0 and step > 0 and step % self.every_n_steps == 0:
            self.log_samples(trainer, pl_module, f"step{step:07d}")

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.log_samples(trainer, pl_module, "final")

    def log_samples(self, trainer: Trainer, pl_module: LightningModule, tag: str) -> Path | None:
        if not trainer.is_global_zero:
            return None
        if not hasattr(pl_module, "sample_videos"):
            rank_zero_warn(f"SampleVideos: {type(pl_module).__name__} has no sample_videos(); nothing logged")
            return None
        with torch.no_grad():
            videos = pl_module.sample_videos(
                self.num_videos, self.num_frames, fps_scale=self.fps_scale, seed=self.seed, **self.conditions
            )
        folder = Path(self.dirpath or Path(trainer.default_root_dir) / "samples")
        path = write_video(folder / f"{tag}.mp4", video_grid(videos.float().cpu()), fps=self.fps)
        self.written.append(Path(path))
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_video("samples", [str(path)], step=trainer.global_step, fps=[self.fps], format=["mp4"])
        return Path(path)
