"""``lightning predict`` for every method: requests in, videos out.

A prediction *request* is one batch of the prediction dataloader, a dict:

- ``{"mode": "sample" | "long" | "fps", "n", "num_frames", "fps_scale", "seed", "conditions"}``
  -> ``sample_videos(n, num_frames, fps_scale=..., seed=..., **conditions)``;
- ``{"mode": "animate", "source": [B, 3, H, W], "driving": [B, T, 3, H, W], "relative"}``
  -> ``animate(source, driving, relative=...)``.

:class:`PredictMixin` gives a module the ``predict_step`` that serves them (every
:class:`~stylevideo.methods.gan.GANModule` has it). The requests come from the
:class:`~stylevideo.callbacks.predictions.VideoPredictions` callback, which also writes the
videos and their manifest; :func:`prediction_dataloader` is the loader both the data modules'
and the mixin's ``predict_dataloader`` return.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader

__all__ = ["PredictMixin", "prediction_dataloader", "run_request"]

GENERATION_MODES = ("sample", "long", "fps")


def run_request(module: Any, request: dict[str, Any]) -> torch.Tensor:
    """The videos ``[N, T, 3, H, W]`` in [-1, 1] (float32, CPU) that ``request`` asks for."""
    mode = request["mode"]
    with torch.no_grad():
        if mode == "animate":
            if not hasattr(module, "animate"):
                raise ValueError(f"{type(module).__name__} has no animate(); it cannot serve 'animate'")
            videos = module.animate(request["source"], request["driving"], relative=request["relative"])
        elif mode in GENERATION_MODES:
            if not hasattr(module, "sample_videos"):
                raise ValueError(f"{type(module).__name__} has no sample_videos(); it cannot serve {mode!r}")
            videos = module.sample_videos(
                request["n"],
                request["num_frames"],
                fps_scale=request["fps_scale"],
                seed=request["seed"],
                **request["conditions"],
            )
        else:
            raise ValueError(f"unknown prediction mode {mode!r}; known: {GENERATION_MODES + ('animate',)}")
    return videos.detach().float().clamp(-1, 1).cpu()


class PredictMixin:
    """``predict_step`` over prediction requests (see the module docstring)."""

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        meta = {k: v for k, v in batch.items() if not isinstance(v, torch.Tensor)}
        return {**meta, "videos": run_request(self, batch)}

    def predict_dataloader(self) -> DataLoader:
        return prediction_dataloader(self.trainer)


def prediction_dataloader(trainer: Any) -> DataLoader:
    """The requests of the trainer's ``VideoPredictions`` callback, one request per batch."""
    from stylevideo.callbacks.predictions import VideoPredictions

    writers = [c for c in trainer.callbacks if isinstance(c, VideoPredictions)]
    if len(writers) != 1:
        raise ValueError(
            "lightning predict needs exactly one VideoPredictions callback (as in "
            f"experiments/base/default.yaml "
            f"has one), found {len(writers)}"
        )
    return DataLoader(writers[0].requests(trainer), batch_size=None, shuffle=False)
