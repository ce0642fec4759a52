"""``lightning predict``: every generation mode of a method as mp4 files, with a manifest."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from stylevideo.methods.predict import GENERATION_MODES
from stylevideo.video.io import (
    FRAME_EXTENSIONS,
    count_frames,
    frames_to_tensor,
    read_frames,
    write_video,
)

__all__ = ["VideoPredictions"]

MODES = GENERATION_MODES + ("animate",)


class VideoPredictions(BasePredictionWriter):
    """What ``lightning predict --config ... --ckpt_path ...`` generates, and where it goes.

    Modes (``modes=None``: every mode the module supports; a module's ``prediction_modes``
    narrows them):

    - ``sample``: ``num_videos`` videos of ``num_frames`` frames per seed (``sample_videos``);
    - ``long``: the same with ``long_frames`` frames;
    - ``fps``: the same duration at ``fps_scale`` times the frame rate
      (``num_frames * fps_scale`` frames at times ``i / fps_scale``, written at
      ``fps * fps_scale``);
    - ``animate``: ``animate(source, driving, relative=relative)``. Sources and driving videos are
      ``source_images`` (images, or videos' first frames) and ``driving_videos``, paired, resized
      to ``resolution`` (default the data's); else ``num_clips`` real clips of ``num_frames``
      frames from the data module's ``split``: clip ``i`` drives the first frame of clip ``i + 1``
      (its own first frame with ``relative=False``: same-identity reconstruction).

    ``conditions`` go to ``sample_videos`` (e.g. ``{actor: [0, 1], action: 2}``). Each video is
    written to ``<folder>/<mode>/<mode>-<request>-<video>.mp4`` (``folder`` defaults to
    ``<run folder>/predictions``) and listed in ``<folder>/manifest.json`` with its mode, seed,
    conditions, frame count, frame rate and, for animations, the source and driving ids.
    """

    def __init__(
        self,
        modes: list[str] | None = None,
        num_videos: int = 8,
        num_frames: int = 16,
        long_frames: int = 128,
        fps_scale: float = 4.0,
        seeds: list[int] | None = None,
        conditions: dict[str, Any] | None = None,
        num_clips: int = 4,
        split: str = "test",
        relative: bool = True,
        source_images: list[str] | None = None,
        driving_videos: list[str] | None = None,
        resolution: int | None = None,
        fps: float = 25.0,
        folder: str | None = None,
    ):
        super().__init__(write_interval="batch")
        unknown = set(modes or ()) - set(MODES)
        if unknown:
            raise ValueError(f"VideoPredictions: unknown modes {sorted(unknown)}; known: {MODES}")
        if len(source_images or ()) != len(driving_videos or ()):
            raise ValueError("VideoPredictions: give one driving video per source image")
        self.modes, self.num_videos, self.num_frames = modes, num_videos, num_frames
        self.long_frames, self.fps_scale, self.seeds = long_frames, fps_scale, list(seeds or [0])
        self.conditions, self.num_clips, self.split = dict(conditions or {}), num_clips, split
        self.relative, self.resolution, self.fps, self.folder = relative, resolution, fps, folder
        self.source_images, self.driving_videos = (
            list(source_images or ()),
            list(driving_videos or ()),
        )
        self.entries: list[dict[str, Any]] = []

    # -- requests -------------------------------------------------------------------------------
    def active_modes(self, module: LightningModule) -> list[str]:
        supported = [m for m in MODES if hasattr(module, "animate" if m == "animate" else "sample_videos")]
        supported = [m for m in supported if m in getattr(module, "prediction_modes", MODES)]
        if self.modes is None:
            return supported
        missing = [m for m in self.modes if m not in supported]
        if missing:
            raise ValueError(
                f"{type(module).__name__} cannot serve prediction modes {missing} (it supports {supported})"
            )
        return list(self.modes)

    def requests(self, trainer: Trainer) -> list[dict[str, Any]]:
        """The prediction requests, in a fixed order (see :mod:`stylevideo.methods.predict`)."""
        out: list[dict[str, Any]] = []
        for mode in self.active_modes(trainer.lightning_module):
            if mode == "animate":
                out.append({"mode": mode, "relative": self.relative, **self._animation_inputs(trainer)})
                continue
            scale = self.fps_scale if mode == "fps" else 1.0
            frames = {
                "sample": self.num_frames,
                "long": self.long_frames,
                "fps": math.ceil(self.num_frames * self.fps_scale),
            }[mode]
            out += [
                {
                    "mode": mode,
                    "n": self.num_videos,
                    "num_frames": frames,
                    "fps_scale": scale,
                    "seed": seed,
                    "conditions": self.conditions,
                }
                for seed in self.seeds
            ]
        for i, request in enumerate(out):
            request["request"] = i
        return out

    def _animation_inputs(self, trainer: Trainer) -> dict[str, Any]:
        if self.source_images:
            size = self.resolution or getattr(trainer.datamodule, "resolution", None)
            sources = torch.stack([frames_to_tensor(_first_frame(p), size)[0] for p in self.source_images])
            driving = [frames_to_tensor(read_frames(p, range(count_frames(p))), size) for p in self.driving_videos]
            length = min(len(d) for d in driving)
            return {
                "source": sources,
                "driving": torch.stack([d[:length] for d in driving]),
                "source_id": [str(p) for p in self.source_images],
                "driving_id": [str(p) for p in self.driving_videos],
            }
        if trainer.datamodule is None or not hasattr(trainer.datamodule, "clip_dataloader"):
            raise ValueError("animate predictions need source_images/driving_videos or a video data module")
        clips = next(
            iter(
                trainer.datamodule.clip_dataloader(
                    self.num_frames, self.split, max_clips=self.num_clips, batch_size=self.num_clips
                )
            )
        )
        frames, ids = clips["frames"], list(clips["video_id"])
        shift = 1 if self.relative and len(ids) > 1 else 0
        return {
            "source": frames[:, 0].roll(-shift, 0),
            "driving": frames,
            "source_id": ids[shift:] + ids[:shift],
            "driving_id": ids,
        }

    # -- writing ------------------------------------------------------------------------------
    def output_dir(self, trainer: Trainer) -> Path:
        return Path(self.folder or Path(trainer.default_root_dir) / "predictions")

    def on_predict_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.entries = []

    def write_on_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        prediction: dict[str, Any],
        batch_indices,
        batch,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        mode, request = prediction["mode"], prediction["request"]
        folder = self.output_dir(trainer)
        fps = self.fps * prediction.get("fps_scale", 1.0)
        for i, video in enumerate(prediction["videos"]):
            name = f"{mode}/{mode}-{request:03d}-{i:02d}.mp4"
            write_video(folder / name, video, fps=fps)
            entry = {
                "file": name,
                "mode": mode,
                "request": request,
                "index": i,
                "frames": int(video.shape[0]),
                "fps": fps,
            }
            if mode == "animate":
                entry |= {
                    "relative": prediction["relative"],
                    "source": prediction["source_id"][i],
                    "driving": prediction["driving_id"][i],
                }
            else:
                entry |= {
                    "seed": prediction["seed"],
                    "fps_scale": prediction["fps_scale"],
                    "conditions": _jsonable(prediction["conditions"]),
                }
            self.entries.append(entry)
        prediction.pop("videos")  # written: do not keep them in memory

    def on_predict_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        entries = self.entries
        if dist.is_available() and dist.is_initialized() and trainer.world_size > 1:
            gathered: list[Any] = [None] * trainer.world_size
            dist.all_gather_object(gathered, entries)
            entries = [e for part in gathered for e in part]
        if not trainer.is_global_zero:
            return
        unique = {e["file"]: e for e in entries}  # the distributed sampler repeats requests to pad ranks
        manifest = {
            "model": type(pl_module).__name__,
            "checkpoint": str(trainer.ckpt_path) if trainer.ckpt_path else None,
            "global_step": trainer.global_step,
            "videos": [unique[k] for k in sorted(unique)],
        }
        path = self.output_dir(trainer) / "manifest.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, indent=2))


def _first_frame(path: str) -> torch.Tensor:
    """uint8 ``[1, H, W, 3]``: an image file, or the first frame of a video or frame folder."""
    if Path(path).suffix.lower() in FRAME_EXTENSIONS:
        from PIL import Image

        with Image.open(path) as im:
            return torch.from_numpy(np.asarray(im.convert("RGB")).copy())[None]
    return read_frames(path, [0])


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
