"""The synthetic benchmark as a metric callback (:mod:`stylevideo.metrics.synthetic`).

On the embedded synthetic dataset, whose clips come with their actor, action and mouth
polygon, it scores what a method's videos show against that ground truth, through the same
generation interface as every metric (``sample_videos`` / ``animate``):

- ``synth_actor_acc``, ``synth_action_acc``: top-1 accuracy of the benchmark recogniser.
  ``sample`` mode: ``videos_per_pair`` videos generated for every (actor, action) pair of the
  data, the conditions as labels (onestyle 5.3's protocol, exact here). ``reconstruct``: the
  clip's own labels; ``cross``: the source clip's actor and the driving clip's action.
- ``synth_fd``: Frechet distance of the recogniser's penultimate features, real clips of
  ``split`` against the generated (``sample``) or animated videos.
- ``synth_mouth_r`` (``reconstruct``/``cross``): mean per-video Pearson r between the driving
  clip's ground-truth mouth area and the area the benchmark's mouth regressor measures on the
  animation; ``synth_mouth_r/videos`` and ``synth_mouth_r/skipped`` count the driving clips
  used and left out (no mouth motion).

The benchmark networks come from ``judges_ckpt`` (a :meth:`Judges.save` file), else
``extractors["judges"]``, else they are trained in ``setup`` (before the first step) on the datamodule's
training split (:func:`~stylevideo.metrics.synthetic.train_judges`, ``judge_steps`` steps from
this callback's ``seed``: the same data and seed give the same networks, so runs compare).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor
from torchmetrics import Metric

from .metric_base import MetricCallback

__all__ = ["SyntheticBenchmark"]


class SyntheticBenchmark(MetricCallback):
    """Conditional accuracy, Frechet distance and mouth-area correlation on the synthetic data.

    Args:
        metrics: any of ``synth_actor_acc``, ``synth_action_acc``, ``synth_fd``, ``synth_mouth_r``.
        judges_ckpt: a saved :class:`~stylevideo.metrics.synthetic.Judges` (else trained here).
        judge_steps: training steps of the judges when they are trained here.
        videos_per_pair: ``sample`` mode with an accuracy: videos per (actor, action) pair.
        num_videos: ``sample`` mode without accuracies: generated videos (random conditions).
        num_clips: real clips of ``split`` (the real side of the FD; the clips animated).
        min_variation: ``synth_mouth_r`` leaves out driving clips whose mouth area's std is
            below this fraction of its mean.
        Others: :class:`~stylevideo.callbacks.metric_base.MetricCallback`'s.
    """

    family = "synthetic"
    known = ("synth_actor_acc", "synth_action_acc", "synth_fd", "synth_mouth_r")

    def __init__(
        self,
        metrics: list[str],
        judges_ckpt: str | os.PathLike | None = None,
        judge_steps: int = 300,
        videos_per_pair: int = 4,
        num_videos: int = 128,
        num_clips: int = 256,
        min_variation: float = 0.05,
        **kwargs: Any,
    ):
        super().__init__(metrics, **kwargs)
        if self.mode == "edit":
            raise ValueError("SyntheticBenchmark: mode must be 'sample', 'reconstruct' or 'cross'")
        if self.mode == "sample" and "synth_mouth_r" in self.metrics:
            raise ValueError("SyntheticBenchmark: synth_mouth_r needs a driving clip: mode 'reconstruct' or 'cross'")
        self.judges_ckpt, self.judge_steps = judges_ckpt, judge_steps
        self.videos_per_pair, self.num_videos, self.num_clips = videos_per_pair, num_videos, num_clips
        self.min_variation = min_variation
        self.judges = None

    def setup(self, trainer, pl_module, stage: str) -> None:
        """Refuse a datamodule without the synthetic ground truth before anything runs; then
        :class:`MetricCallback`'s checks and :meth:`build`."""
        dm = trainer.datamodule
        if dm is None or not callable(getattr(dm, "mouth_polygon", None)):
            raise TypeError(
                "SyntheticBenchmark needs the synthetic dataset's ground truth: data "
                f"stylevideo.data_modules.synthetic.SyntheticDataModule, got {type(dm).__name__}"
            )
        super().setup(trainer, pl_module, stage)

    def build(self, trainer) -> dict[str, Metric]:
        """The judges (loaded, given or trained here) on the module's device, and the metrics."""
        from stylevideo.metrics.action import ActionAccuracy
        from stylevideo.metrics.frechet import FrechetDistance
        from stylevideo.metrics.synthetic import Judges, MouthAreaCorrelation, train_judges

        dm = trainer.datamodule
        if self.judges_ckpt is not None:
            judges = Judges.load(self.judges_ckpt)
        elif "judges" in self.extractors:
            judges = self.extractors["judges"]
        else:
            rank_zero_info(f"SyntheticBenchmark: training its judges ({self.judge_steps} steps, seed {self.seed})")
            judges = train_judges(dm, steps=self.judge_steps, seed=self.seed)
        self.judges = judges.eval().to(trainer.lightning_module.device)
        return {
            "actor": ActionAccuracy(num_classes=dm.num_classes("actor"), top_k=(1,)),
            "action": ActionAccuracy(num_classes=dm.num_classes("action"), top_k=(1,)),
            "fd": FrechetDistance(self.judges.recognizer.num_features, reset_real_features=self.mode != "sample"),
            "mouth": MouthAreaCorrelation(self.min_variation),
        }

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        if self.mode == "sample":
            self._sample(trainer, pl_module)
        else:
            self._animate(trainer, pl_module)
        out = {}
        for name in ("actor", "action"):
            if f"synth_{name}_acc" in self.metrics:
                out[f"synth_{name}_acc"] = self.scores[name].compute()["top1"]
        if "synth_fd" in self.metrics:
            out["synth_fd"] = self.scores["fd"].compute()
        if "synth_mouth_r" in self.metrics:
            mouth = self.scores["mouth"].compute()
            out["synth_mouth_r"] = mouth["r"]
            out["synth_mouth_r/videos"], out["synth_mouth_r/skipped"] = mouth["videos"], mouth["skipped"]
        return out

    def _judge(self, videos: Tensor, actor: Tensor | None, action: Tensor | None) -> None:
        """Accuracy and generated-side FD features of ``videos``."""
        logits = self.judges.recognizer(videos)
        if actor is not None:
            self.scores["actor"].update(logits["actor"], actor)
            self.scores["action"].update(logits["action"], action)
        self.scores["fd"].update(self.judges.recognizer.features(videos), real=False)

    def _sample(self, trainer, pl_module) -> None:
        num_frames, fd = self.judges.num_frames, self.scores["fd"]
        if fd.num_real == 0:
            for batch in self.real_batches(trainer, num_frames, self.num_clips):
                fd.update(self.judges.recognizer.features(batch["frames"].to(pl_module.device)), real=True)
        if not {"synth_actor_acc", "synth_action_acc"} & set(self.metrics):
            for _, videos in self.generated(trainer, pl_module, self.num_videos, num_frames):
                self._judge(videos, None, None)
            return
        dm, device, n = trainer.datamodule, pl_module.device, self.videos_per_pair
        pairs = list(itertools.product(range(dm.num_classes("actor")), range(dm.num_classes("action"))))
        for p in range(trainer.global_rank, len(pairs), max(1, trainer.world_size)):
            actor, action = (torch.full((n,), i, device=device) for i in pairs[p])
            videos = self.sample(trainer, pl_module, n, num_frames, self.seed + p, actor=actor, action=action)
            self._judge(videos, actor, action)

    def _animate(self, trainer, pl_module) -> None:
        dm, device = trainer.datamodule, pl_module.device
        for batch in self.real_batches(trainer, self.judges.num_frames, self.num_clips):
            real = batch["frames"].to(device)
            self.scores["fd"].update(self.judges.recognizer.features(real), real=True)
            videos = self.animated(pl_module, batch).clamp(-1, 1)
            actor = batch["actor"].to(device)
            self._judge(videos, actor.roll(1, 0) if self.mode == "cross" else actor, batch["action"].to(device))
            if "synth_mouth_r" in self.metrics:
                from stylevideo.metrics.face import polygon_area

                frames = batch["t"].long().cpu().numpy()
                truth = [polygon_area(dm.mouth_polygon(v)[f]) for v, f in zip(batch["video_id"], frames, strict=True)]
                self.scores["mouth"].update(torch.from_numpy(np.stack(truth)), self.judges.mouth.area(videos))
