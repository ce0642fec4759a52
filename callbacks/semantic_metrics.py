"""Callbacks for the scores that judge what a video shows, not how it looks:

- :class:`ActionMetrics`: ``action_top1``, ``action_top3`` (onestyle 5.3, Tables 2-3):
  videos generated for (content, action) pairs, classified by a recogniser trained on
  the real training set.
- :class:`ManipulationMetrics`: ``manipulation_acc`` (vidstyleode 4, Table 1): real clips
  edited towards another clip's description, judged by CLIP against their own.

Common options are :class:`~stylevideo.callbacks.metric_base.MetricCallback`'s.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric

from .metric_base import MetricCallback

__all__ = ["ActionMetrics", "ManipulationMetrics"]


class ActionMetrics(MetricCallback):
    """Top-k accuracy of a recogniser on generated videos, the conditioned action as label.

    The (``content_label``, ``label``) pairs are those of the clips of ``split`` (onestyle
    5.3 uses the test split: actor-action pairs never seen together in training);
    ``videos_per_pair`` videos of ``num_frames`` frames each. ``classifier_ckpt``: an
    :class:`~stylevideo.metrics.action.ActionRecognizerModule` checkpoint trained on the
    same datamodule (same label ids), or ``extractors["classifier"]``.
    """

    family = "action"
    known = ("action_top1", "action_top3")

    def __init__(
        self,
        metrics: list[str],
        classifier_ckpt: str | os.PathLike | None = None,
        label: str = "action",
        content_label: str | None = "actor",
        videos_per_pair: int = 8,
        num_frames: int = 32,
        split: str = "test",
        **kwargs: Any,
    ):
        super().__init__(metrics, split=split, **kwargs)
        if self.mode != "sample":
            raise ValueError("ActionMetrics classifies generated videos: mode must be 'sample'")
        if classifier_ckpt is None and "classifier" not in self.extractors:
            raise ValueError("ActionMetrics needs classifier_ckpt (an ActionRecognizerModule checkpoint)")
        self.classifier_ckpt, self.label, self.content_label = classifier_ckpt, label, content_label
        self.videos_per_pair, self.num_frames = videos_per_pair, num_frames

    def required_files(self, stage: str | None = None) -> dict[str, tuple[str | None, str]]:
        """The recogniser's checkpoint (unless ``extractors["classifier"]`` replaces it)."""
        if not self.runs_in(stage) or "classifier" in self.extractors:
            return {}
        made_by = "a checkpoint of stylevideo.metrics.action.ActionRecognizerModule trained on this datamodule"
        return {"classifier_ckpt": (None if self.classifier_ckpt is None else str(self.classifier_ckpt), made_by)}

    def pairs(self, datamodule) -> list[tuple[int | None, int]]:
        """Distinct (content id, action id) pairs of the split's clips, in index order."""
        maps, seen = datamodule.label_maps, {}
        for record in datamodule.records(self.split):
            content = maps[self.content_label][record.labels[self.content_label]] if self.content_label else None
            seen[(content, maps[self.label][record.labels[self.label]])] = None
        if not seen:
            raise ValueError(f"ActionMetrics: no {self.split!r} clips to take pairs from")
        return list(seen)

    def build(self, trainer) -> dict[str, Metric]:
        from stylevideo.metrics.action import ActionAccuracy, ActionRecognizerModule

        classifier = self.extractor("classifier", lambda: ActionRecognizerModule.classifier(self.classifier_ckpt))
        num_classes = self._datamodule(trainer, "num_classes").num_classes(self.label)
        return {"accuracy": ActionAccuracy(classifier, num_classes=num_classes, top_k=(1, 3))}

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        accuracy = self.scores["accuracy"]
        rank, world = self._rank(trainer)
        pairs = self.pairs(trainer.datamodule)
        n = self.videos_per_pair
        for p in range(rank, len(pairs), world):
            content, action = pairs[p]
            labels = torch.full((n,), action, device=pl_module.device)
            conditions = {self.label: labels}
            if self.content_label:
                conditions[self.content_label] = torch.full((n,), content, device=pl_module.device)
            videos = self.sample(trainer, pl_module, n, self.num_frames, self.seed + p, **conditions)
            accuracy.update(videos, labels)
        out = accuracy.compute()
        return {f"action_{k}": v for k, v in out.items() if f"action_{k}" in self.metrics}


class ManipulationMetrics(MetricCallback):
    """CLIP manipulation accuracy of text-guided edits of real clips (mode ``edit``)."""

    family = "manipulation"
    known = ("manipulation_acc",)

    def __init__(
        self,
        metrics: list[str],
        num_clips: int = 256,
        num_frames: int = 12,
        clip_name: str = "ViT-B/32",
        **kwargs: Any,
    ):
        super().__init__(metrics, **{"mode": "edit", **kwargs})
        if self.mode != "edit":
            raise ValueError("ManipulationMetrics judges edits: mode must be 'edit'")
        self.num_clips, self.num_frames, self.clip_name = num_clips, num_frames, clip_name

    def build(self, trainer) -> dict[str, Metric]:
        from stylevideo.features.clip import CLIP_MODELS
        from stylevideo.metrics.manipulation import ManipulationAccuracy

        weights = self.weights.get(CLIP_MODELS[self.clip_name][0])
        return {"manipulation_acc": ManipulationAccuracy(self.extractors.get("clip"), self.clip_name, weights)}

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """CLIP ``clip_name`` (unless ``extractors["clip"]`` replaces it)."""
        from stylevideo.features.clip import CLIP_MODELS

        if not self.runs_in(stage) or "clip" in self.extractors:
            return {}
        name = CLIP_MODELS[self.clip_name][0]
        return {name: self.weights.get(name)}

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        accuracy = self.scores["manipulation_acc"]
        for batch in self.real_batches(trainer, self.num_frames, self.num_clips):
            sources, targets = self.edit_texts(pl_module, batch)
            edited = self.animated(pl_module, batch)
            accuracy.update(edited, targets, sources)
        return {"manipulation_acc": accuracy.compute()}
