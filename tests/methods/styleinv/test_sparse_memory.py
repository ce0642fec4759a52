"""Sparse training: a step's memory does not grow with the length of the source clip.

The data layer decodes only the sampled frames (t0 = 0 and three sparse times) and the model
sees only those; a 1024-frame source costs what a 16-frame one does."""

import resource

import numpy as np
import torch
from lightning.pytorch import Trainer
from styleinv_tiny import TINY

from stylevideo.data_modules.base import ClipRecord, VideoDataModule
from stylevideo.methods.styleinv.model import StyleInV
from stylevideo.video.io import write_video
from stylevideo.video.sampling import SparseFrames


class OneVideo(VideoDataModule):
    def __init__(self, path, **kw):
        super().__init__(str(path.parent), **kw)
        self.path = path

    def build_index(self):
        return [ClipRecord(self.path, None, self.path.stem, split=s) for s in ("train", "val")]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_training_step_memory_is_the_same_for_16_and_1024_frame_clips(stage_ckpts, tmp_path):
    rng = np.random.default_rng(0)
    videos = {}
    for n in (
        16,
        1024,
    ):  # 1024 frames at 128x128: 48 MiB as uint8, 192 MiB as float if all were decoded
        frames = np.repeat(rng.integers(0, 255, (1, 128, 128, 3), dtype=np.uint8), n, axis=0)
        frames[:, :, :, 0] = (np.arange(n) % 255)[:, None, None]
        videos[n] = write_video(tmp_path / f"v{n}" / f"clip{n}.mp4", frames, keyint=16)
    torch.manual_seed(0)
    model = StyleInV(
        *stage_ckpts,
        **{**TINY, "clip_length": 128, "max_distance": 32, "ada_target": None, "r1_interval": 1},
    )

    def step(n: int) -> tuple[float, torch.Size]:
        dm = OneVideo(
            videos[n],
            resolution=32,
            batch_size=2,
            samples_per_epoch=2,
            sampler=SparseFrames(n=3, max_distance=32, clip_length=128),
        )
        trainer = Trainer(
            max_steps=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
        )
        trainer.fit(model, datamodule=dm)
        batch = next(iter(dm.train_dataloader()))
        return peak_mib(), batch["frames"].shape

    step(16)  # warm-up: allocator pools, lazily built modules
    short, short_shape = step(16)
    long, long_shape = step(1024)
    assert short_shape == long_shape == (2, 4, 3, 32, 32)
    assert long - short < 16, f"peak memory grew by {long - short:.1f} MiB for the 1024-frame clip"
