"""The animation metric callback: lia Table 1 and vidstyleode Table 2 (``l1``, ``lpips``, ``akd``,
``mkr``, ``aed``; ``_cross`` appended in cross-identity mode), configured from the experiment YAML::

    trainer:
      callbacks+:
        - class_path: stylevideo.callbacks.animation_metrics.AnimationMetrics
          init_args: {metrics: [l1, lpips, akd, aed], num_clips: 64}
"""

from __future__ import annotations

from functools import partial
from typing import Any

from torch import Tensor
from torchmetrics import Metric

from .metric_base import MetricCallback
from .metrics import FACE_PACKAGES

__all__ = ["AnimationMetrics"]


class AnimationMetrics(MetricCallback):
    """lia Table 1 / vidstyleode Table 2 scores of animated real clips.

    ``reconstruct`` (default): L1, LPIPS, AKD, MKR, AED against the clip itself.
    ``cross``: AKD/MKR between the animation and its driving clip (vidstyleode AKD_C), the source
    the first frame of a video of another actor (``cross_identity_sources``; with
    ``animate_inputs``, the next clip of the batch, its inputs with it); L1, LPIPS and AED
    need the same identity and are refused. ``keypoints``: ``face``
    (dlib 68 landmarks) or ``body`` (Keypoint R-CNN); ``embedder``: ``dlib`` or ``arcface``.
    Clips: ``num_clips`` clips of ``num_frames`` frames (``clip_dataloader``). ``whole_videos``
    (lia Table 1): every video of the split whole (``video_dataloader``; ``num_clips`` caps
    the count, None: all), its first frame as source, animated ``chunk`` frames at a time; L1
    and LPIPS averaged per video, then over videos (LIA's ``evaluation.py``), AKD/MKR/AED over
    all frames.
    """

    family = "animation"
    known = ("l1", "lpips", "akd", "mkr", "aed")

    def __init__(
        self,
        metrics: list[str],
        mode: str = "reconstruct",
        num_clips: int | None = 64,
        num_frames: int = 32,
        keypoints: str = "face",
        embedder: str = "dlib",
        whole_videos: bool = False,
        chunk: int = 64,
        **kwargs: Any,
    ):
        super().__init__(metrics, mode=mode, **kwargs)
        if mode not in ("reconstruct", "cross") or (whole_videos and mode != "reconstruct"):
            raise ValueError("AnimationMetrics: mode must be 'reconstruct' or 'cross' ('reconstruct' for whole_videos)")
        if mode == "cross" and {"l1", "lpips", "aed"} & set(self.metrics):
            raise ValueError("AnimationMetrics: l1, lpips and aed need mode 'reconstruct'")
        if keypoints not in ("face", "body") or embedder not in ("dlib", "arcface"):
            raise ValueError("AnimationMetrics: keypoints is 'face' or 'body', embedder 'dlib' or 'arcface'")
        self.num_clips, self.num_frames = num_clips, num_frames
        self.keypoints, self.embedder = keypoints, embedder
        self.whole_videos, self.chunk = whole_videos, chunk

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """AlexNet (LPIPS), Keypoint R-CNN (body keypoints), ArcFace (``embedder: arcface``)."""
        from stylevideo.features.arcface import ARCFACE_WEIGHTS
        from stylevideo.features.perceptual import ALEXNET_WEIGHTS
        from stylevideo.features.pose import KEYPOINT_RCNN_WEIGHTS

        wanted, out = set(self.metrics) if self.runs_in(stage) else set(), {}
        if "lpips" in wanted and "lpips" not in self.extractors:
            out[ALEXNET_WEIGHTS] = self.weights.get(ALEXNET_WEIGHTS)
        if wanted & {"akd", "mkr"} and self.keypoints == "body" and "pose" not in self.extractors:
            out[KEYPOINT_RCNN_WEIGHTS] = self.weights.get(KEYPOINT_RCNN_WEIGHTS)
        if "aed" in wanted and self.embedder == "arcface" and "arcface" not in self.extractors:
            out[ARCFACE_WEIGHTS] = self.weights.get(ARCFACE_WEIGHTS)
        return out

    def required_packages(self, stage: str | None = None) -> dict[str, str]:
        """dlib for face keypoints and for both embedders (ArcFace crops dlib's face boxes)."""
        wanted = set(self.metrics) if self.runs_in(stage) else set()
        face = wanted & {"akd", "mkr"} and self.keypoints == "face" and "face" not in self.extractors
        embed = "aed" in wanted and ("face" if self.embedder == "dlib" else "arcface") not in self.extractors
        return FACE_PACKAGES if face or embed else {}

    def build(self, trainer) -> dict[str, Metric]:
        from stylevideo.features.face import DlibFace
        from stylevideo.metrics.animation import LPIPS, AverageEmbeddingDistance, KeypointDistance, PixelL1
        from stylevideo.metrics.animation_protocol import PerVideoMean

        wanted, scores = set(self.metrics), {}
        per_video = {"sync_on_compute": False} if self.whole_videos else {}
        if "l1" in wanted:
            scores["l1"] = PixelL1(**per_video)
        if "lpips" in wanted:
            from stylevideo.features.perceptual import ALEXNET_WEIGHTS

            net = self.extractors.get("lpips")
            scores["lpips"] = LPIPS(self.weights.get(ALEXNET_WEIGHTS), net=net, **per_video)
        if self.whole_videos:
            scores = {name: PerVideoMean(metric) for name, metric in scores.items()}
        face_kp = wanted & {"akd", "mkr"} and self.keypoints == "face"
        aed_face = "aed" in wanted and (self.embedder == "dlib" or "arcface" not in self.extractors)
        face = self.extractor("face", DlibFace) if face_kp or aed_face else None  # one dlib model for all
        if wanted & {"akd", "mkr"}:
            scores["keypoints"] = KeypointDistance(face.landmarks if face_kp else self._pose())
        if "aed" in wanted:
            embed = face.descriptors if self.embedder == "dlib" else self._arcface(face)
            scores["aed"] = AverageEmbeddingDistance(embed)
        return scores

    def _pose(self):
        from stylevideo.features.pose import KEYPOINT_RCNN_WEIGHTS, PoseKeypoints

        return self.extractor("pose", lambda: PoseKeypoints(self.weights.get(KEYPOINT_RCNN_WEIGHTS)))

    def _arcface(self, face):
        from stylevideo.features.arcface import ARCFACE_WEIGHTS
        from stylevideo.features.face import ArcFaceEmbedder

        return self.extractor("arcface", lambda: ArcFaceEmbedder(self.weights.get(ARCFACE_WEIGHTS), face=face))

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        for fake, real, last in self._animations(trainer, pl_module):
            for metric in self.scores.values():
                metric.update(fake, real)
                if last and hasattr(metric, "close_video"):
                    metric.close_video()
        suffix = "_cross" if self.mode == "cross" else ""
        out = {}
        for name, metric in self.scores.items():
            value = metric.compute()
            if name == "keypoints":
                out.update({k + suffix: v for k, v in value.items() if k in self.metrics})
            elif name == "aed":
                out["aed"], out["aed/missing_frame_rate"] = value["aed"], value["missing_frame_rate"]
            else:
                out[name + suffix] = value
        return out

    def _animations(self, trainer, pl_module):
        """``(animation, real, last part of its video)``: clips, or parts of whole videos."""
        from stylevideo.metrics.animation_protocol import animate_in_chunks, cross_identity_sources

        if not self.whole_videos:  # reconstruct: the clip's first frame; cross: another actor's video's
            sources = (
                cross_identity_sources(trainer.datamodule, self.split, self.seed) if self.mode == "cross" else None
            )
            for batch in self.real_batches(trainer, self.num_frames, self.num_clips):
                real = batch["frames"].to(pl_module.device)
                if sources is None or self.animate_inputs:  # the inputs go with the batch's own clips
                    yield self.animated(pl_module, batch).clamp(-1, 1), real, True
                    continue
                source = sources(batch["video_id"]).to(real)
                yield pl_module.animate(source, real, relative=True).clamp(-1, 1), real, True
            return
        rank, world = self._rank(trainer)
        dm = self._datamodule(trainer, "video_dataloader")
        for batch in dm.video_dataloader(self.split, self.num_clips, rank, world):
            video = batch["frames"].to(pl_module.device)
            parts = -(-video.shape[1] // self.chunk)
            animate = partial(pl_module.animate, **self.inputs_of(pl_module, batch), **self.animate_options)
            for i, (part, fake) in enumerate(animate_in_chunks(animate, video[:, 0], video, self.chunk)):
                yield fake.clamp(-1, 1), part, i == parts - 1
