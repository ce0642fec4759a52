"""lia Table 2: the video FID of cross-video motion transfer (4.2 (b), B.2).

:class:`VideoFIDMetrics` animates, for every pair of a seeded pair list
(:func:`~stylevideo.metrics.animation_protocol.pair_list`: each video of ``split`` drives once,
its source another video drawn with ``seed``; saved to ``<run folder>/pairs_<prefix><split>.csv``
or read from ``pairs``), the first frame of the source video with the first ``num_frames`` frames of
the driving video by relative transfer (Eq. 12, ``animate_in_chunks``), and feeds the real driving
clips and the animations to :class:`~stylevideo.metrics.video_fid.VideoFID` (Hara et al.'s Kinetics
3D ResNeXt-101, G3AN's statistics)::

    trainer:
      callbacks+:
        - class_path: stylevideo.callbacks.video_fid.VideoFIDMetrics
          init_args: {split: test, seed: 0}

Cross-dataset (GermanPublicTV): ``source_data`` is a second data module whose ``source_split``
videos give the source images (lia: "source images are from an unseen dataset"); the driving
videos, and so the real clips, stay those of the trainer's data module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningDataModule
from torch import Tensor
from torchmetrics import Metric

from .metric_base import MetricCallback

__all__ = ["VideoFIDMetrics"]


class VideoFIDMetrics(MetricCallback):
    """``video_fid`` of relative-transfer animations of (source, driving) video pairs (lia Table 2).

    Args:
        metrics: ``[video_fid]``.
        num_frames: driving frames per video (lia B.2: "the first 100 frames of each video").
        pairs: a ``source,driving`` CSV of video ids to use (default: drawn with ``seed`` and
            saved to the run folder; after an evaluation this names the file used).
        source_data: the data module of the source videos (cross-dataset); None: ``split`` itself.
        source_split: the split of ``source_data`` the sources come from.
        chunk: driving frames per ``animate`` call.
        **kwargs: :class:`~stylevideo.callbacks.metric_base.MetricCallback`'s options (``seed``,
            ``split``, ``weights: {resnext101_kinetics: <file>}``, ``extractors: {resnext3d: net}``, ...).
    """

    family = "video_fid"
    known = ("video_fid",)

    def __init__(
        self,
        metrics: list[str] | None = None,
        num_frames: int = 100,
        pairs: str | os.PathLike | None = None,
        source_data: LightningDataModule | None = None,
        source_split: str = "test",
        chunk: int = 64,
        mode: str = "cross",
        split: str = "test",
        **kwargs: Any,
    ):
        super().__init__(metrics or ["video_fid"], mode=mode, split=split, **kwargs)
        if self.mode != "cross":
            raise ValueError("VideoFIDMetrics animates other videos' sources: mode must be 'cross'")
        if source_data is not None and not callable(getattr(source_data, "records", None)):
            raise TypeError(f"VideoFIDMetrics: source_data must be a stylevideo data module, got {source_data!r}")
        self.num_frames, self.pairs, self.chunk = num_frames, None if pairs is None else str(pairs), chunk
        self.source_data, self.source_split = source_data, source_split

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """Hara et al.'s ResNeXt-101 (unless ``extractors["resnext3d"]`` replaces it)."""
        from stylevideo.features.resnext3d import RESNEXT101_KINETICS

        if not self.runs_in(stage) or "resnext3d" in self.extractors:
            return {}
        return {RESNEXT101_KINETICS: self.weights.get(RESNEXT101_KINETICS)}

    def setup(self, trainer, pl_module, stage: str) -> None:
        """Also index the source data module before the first step (a missing root fails here)."""
        super().setup(trainer, pl_module, stage)
        if self.source_data is not None and self.runs_in(stage):
            self.source_data.index()

    def build(self, trainer) -> dict[str, Metric]:
        from stylevideo.features.resnext3d import RESNEXT101_KINETICS
        from stylevideo.metrics.video_fid import VideoFID

        path = self.weights.get(RESNEXT101_KINETICS)
        return {"video_fid": VideoFID(self.extractors.get("resnext3d"), path, num_frames=self.num_frames)}

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        from stylevideo.metrics.animation_protocol import animate_in_chunks, pair_batches, pair_list

        dm = self._datamodule(trainer, "records")
        name = f"pairs_{self.prefix.replace('/', '_')}{self.split}.csv"  # e.g. pairs_test.csv
        save_to = Path(trainer.default_root_dir) / name if trainer.is_global_zero else None
        pairs, file = pair_list(dm, self.split, self.seed, self.pairs, save_to, self.source_data, self.source_split)
        if file is not None:
            self.pairs = str(file)
        rank, world = self._rank(trainer)
        fid = self.scores["video_fid"]
        mine = pairs[rank::world]
        for batch in pair_batches(dm, mine, self.split, self.num_frames, self.source_data, self.source_split):
            source, driving = batch["source"].to(pl_module.device), batch["driving"].to(pl_module.device)
            parts = animate_in_chunks(pl_module.animate, source, driving, self.chunk, relative=True)
            fid.update(driving, real=True)
            fid.update(torch.cat([fake for _, fake in parts], dim=1).clamp(-1, 1), real=False)
        return {"video_fid": fid.compute()}
