"""Tiny onestyle configurations (32x32, few channels) and batches for the method tests."""

from __future__ import annotations

import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader

TINY = dict(
    resolution=32,
    k=8,
    style_dim=8,
    mapping_layers=2,
    motion_layers=2,
    channel_base=128,
    channel_max=16,
    dt_time_dim=8,
    dt_embed_dim=8,
    dt_feature_channels=8,
    mbstd_group=2,
)
TINY_G = {
    key: TINY[key]
    for key in (
        "resolution",
        "k",
        "style_dim",
        "mapping_layers",
        "motion_layers",
        "channel_base",
        "channel_max",
    )
}


def triplet_batch(
    b: int = 4,
    num_actors: int = 3,
    num_actions: int = 4,
    t: int = 3,
    res: int = 32,
    start: float = 5.0,
    seed: int = 0,
) -> dict:
    """A batch as ConsecutiveFrames(n=t) gives it: frames, absolute times, actor/action ids."""
    g = torch.Generator().manual_seed(seed)
    return {
        "frames": torch.rand(b, t, 3, res, res, generator=g) * 2 - 1,
        "t": start + torch.arange(b, dtype=torch.float32)[:, None] + torch.arange(t, dtype=torch.float32),
        "actor": torch.randint(num_actors, (b,), generator=g),
        "action": torch.randint(num_actions, (b,), generator=g),
    }


def fit(model, batches: list[dict], steps: int, callbacks=()) -> Trainer:
    """``steps`` training iterations of ``model`` on CPU, cycling through ``batches``."""
    trainer = Trainer(
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        callbacks=list(callbacks),
    )
    trainer.fit(model, DataLoader([batches[i % len(batches)] for i in range(steps)], batch_size=None))
    return trainer
