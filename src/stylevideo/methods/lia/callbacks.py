"""Sample animations during training: real clips driving real first frames, as an mp4 and on W&B."""

from __future__ import annotations

from pathlib import Path

import torch
from einops import rearrange
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import WandbLogger

from stylevideo.video.io import video_grid, write_video

__all__ = ["SampleAnimations"]


class SampleAnimations(Callback):
    """Every ``every_n_steps`` iterations and at the end of training, animate ``num_clips`` real
    clips of ``num_frames`` frames (the datamodule's ``clip_dataloader`` on ``split``, fixed clips).

    Each row of the written video: the driving clip, its reconstruction from its own first frame
    (absolute transfer, Eq. 11) and the transfer of its motion onto the first frame of the next
    clip (relative transfer, Eq. 12). Written to ``<dirpath>/<tag>.mp4`` (default
    ``<run folder>/samples``) and logged to every W&B logger under ``animations``.
    """

    def __init__(
        self,
        every_n_steps: int = 1000,
        num_clips: int = 4,
        num_frames: int = 16,
        fps: int = 10,
        split: str = "val",
        dirpath: str | None = None,
    ):
        self.every_n_steps, self.num_clips, self.num_frames = every_n_steps, num_clips, num_frames
        self.fps, self.split, self.dirpath = fps, split, dirpath
        self.clips: torch.Tensor | None = None
        self.written: list[Path] = []

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args) -> None:
        step = trainer.global_step
        if self.every_n_steps > 0 and step > 0 and step % self.every_n_steps == 0:
            self.log_samples(trainer, pl_module, f"step{step:07d}")

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.log_samples(trainer, pl_module, "final")

    def real_clips(self, trainer: Trainer) -> torch.Tensor:
        if self.clips is None:
            if not hasattr(trainer.datamodule, "clip_dataloader"):
                raise ValueError(
                    "SampleAnimations takes its real clips from the datamodule's "
                    "clip_dataloader(); fit with a VideoDataModule"
                )
            loader = trainer.datamodule.clip_dataloader(
                self.num_frames, self.split, max_clips=self.num_clips, batch_size=self.num_clips
            )
            self.clips = next(iter(loader))["frames"]
        return self.clips

    def log_samples(self, trainer: Trainer, pl_module: LightningModule, tag: str) -> Path | None:
        if not trainer.is_global_zero:
            return None
        clips = self.real_clips(trainer).to(pl_module.device)
        with torch.no_grad():
            recon = pl_module.animate(clips[:, 0], clips, relative=False)
            cross = pl_module.animate(clips.roll(1, dims=0)[:, 0], clips, relative=True)
        rows = rearrange(torch.stack([clips, recon, cross], dim=1), "n k t c h w -> (n k) t c h w")
        folder = Path(self.dirpath or Path(trainer.default_root_dir) / "samples")
        path = write_video(folder / f"{tag}.mp4", video_grid(rows.float().cpu(), nrow=3), fps=self.fps)
        self.written.append(path)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_video(
                    "animations",
                    [str(path)],
                    step=trainer.global_step,
                    fps=[self.fps],
                    format=["mp4"],
                )
        return path
