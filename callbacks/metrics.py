"""Metric callbacks, one per family, configured from the experiment YAML::

    trainer:
      callbacks+:
        - class_path: stylevideo.callbacks.metrics.VideoMetrics
          init_args: {metrics: [fvd2048_16f, fvd2048_128f], every_n_steps: 5000}

- :class:`VideoMetrics`: ``fvd<clips>_<frames>f[_subsample<s>f]`` (StyleGAN-V's names:
  ``fvd2048_16f``, ``fvd2048_128f``, onestyle's ``fvd2048_64f``) and ``warping_error``.
- :class:`FrameMetrics`: ``fid<N>[k]`` (``fid50k``) and ``is<N>[k]`` (``is50k``).
- :class:`FaceMetrics`: ``lia_r`` and ``identity`` (logged as ``dlib_id_sim`` or
  ``arcface_sim``, after the embedder that produced it).
- :class:`AnimationMetrics`: ``l1``, ``lpips``, ``akd``, ``mkr``, ``aed`` (``_cross``
  appended in cross-identity mode).

Common options (when, mode, seed, conditions, weights, ...) are :class:`MetricCallback`'s;
video and frame metrics work in every mode (``edit`` included: vidstyleode's FVD, IS, FID
and warping error of edited videos). Action recognition and CLIP manipulation accuracy
are in :mod:`stylevideo.callbacks.semantic_metrics`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch
from torch import Tensor

from .metric_base import MetricCallback

__all__ = ["AnimationMetrics", "FaceMetrics", "FrameMetrics", "VideoMetrics"]

#: What the dlib-based face metrics import (``features.face``), and how to install it.
_FACE_EXTRA = "the face metrics need the face extra: pip install -e '.[face]' (make install-face)"
FACE_PACKAGES = {"dlib": _FACE_EXTRA, "face_recognition_models": _FACE_EXTRA}
_FVD = re.compile(r"fvd(\d+)_(\d+)f(?:_subsample(\d+)f)?")
_FRAME = re.compile(r"(fid|is)(\d+)(k?)")


def _take(items: Tensor, index: Tensor, limit: int) -> Tensor:
    """The items whose global index is below ``limit`` (one metric's share of a batch)."""
    return items[index.to(items.device) < limit]


class VideoMetrics(MetricCallback):
    """FVD (StyleGAN-V protocol) and warping error on generated or animated videos.

    An FVD name fixes its protocol: ``fvd2048_16f`` is 2048 generated clips of 16 frames
    against one real 16-frame clip from each of at most 2048 videos (shorter videos
    discarded); ``_subsample8f`` takes every 8th frame. Several FVDs share one generation:
    clips are generated at the longest length and each FVD takes the first frames
    (styleinv 4: FVD16 uses the first 16 frames of the 128-frame clips). Real statistics
    are computed once per run. ``warping_error`` uses ``warping_videos`` videos of
    ``warping_frames`` frames and the ``flow`` estimator.
    """

    family = "video"

    def __init__(
        self,
        metrics: list[str],
        flow: str = "dis",
        warping_videos: int = 256,
        warping_frames: int = 16,
        **kwargs: Any,
    ):
        super().__init__(metrics, **kwargs)
        self.flow, self.warping_videos, self.warping_frames = flow, warping_videos, warping_frames
        self.fvd: dict[str, Any] = {}
        self.warping = None

    def check_name(self, name: str) -> str:
        if name == "warping_error" or _FVD.fullmatch(name):
            return name
        raise ValueError(
            f"VideoMetrics: unknown metric {name!r}; use fvd<clips>_<frames>f[_subsample<s>f] "
            "(e.g. fvd2048_16f) or warping_error"
        )

    @staticmethod
    def protocol(name: str) -> tuple[int, int, int]:
        """(clips, frames, subsample) of an FVD name."""
        clips, frames, sub = _FVD.fullmatch(name).groups()
        return int(clips), int(frames), int(sub or 1)

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """I3D for FVD; RAFT (from the weight cache) for a warping error with ``flow: raft_*``."""
        from stylevideo.features.i3d import I3D_WEIGHTS

        if not self.runs_in(stage):
            return {}
        out = {}
        if "i3d" not in self.extractors and any(m != "warping_error" for m in self.metrics):
            out[I3D_WEIGHTS] = self.weights.get(I3D_WEIGHTS)
        raft = self.flow in ("raft_large", "raft_small") and "flow" not in self.extractors
        if "warping_error" in self.metrics and raft:
            out[self.flow] = None  # WarpingError builds its estimator from the weight cache
        return out

    def _build(self, device) -> None:
        if self.fvd or self.warping is not None:
            return
        from stylevideo.features.i3d import I3D_WEIGHTS
        from stylevideo.metrics.frechet import FrechetVideoDistance
        from stylevideo.metrics.warping import WarpingError

        detector = self.extractors.get("i3d")
        for name in self.metrics:
            if name == "warping_error":
                self.warping = WarpingError(self.extractors.get("flow", self.flow))
            else:
                self.fvd[name] = FrechetVideoDistance(
                    detector=detector,
                    detector_path=self.weights.get(I3D_WEIGHTS),
                    reset_real_features=self.mode != "sample",
                ).to(device)
                detector = self.fvd[name].detector  # one detector for all FVDs

    def _length(self, name: str) -> int:
        if name == "warping_error":
            return self.warping_frames
        _, frames, sub = self.protocol(name)
        return frames * sub

    def _slice(self, name: str, videos: Tensor) -> Tensor:
        _, frames, sub = self.protocol(name)
        return videos[:, ::sub][:, :frames]

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        self._build(pl_module.device)
        for metric in [*self.fvd.values(), self.warping]:
            if metric is not None:
                metric.reset()
        limit = {n: self.protocol(n)[0] for n in self.fvd} | {"warping_error": self.warping_videos}
        n, length = max(limit.values()), max(self._length(m) for m in self.metrics)
        if self.mode == "sample":
            self._real_statistics(trainer)
            batches = self.generated(trainer, pl_module, n, length)
        else:
            batches = self._animated_batches(trainer, pl_module, n, length)
        for index, videos in batches:
            for name, fvd in self.fvd.items():
                chunk = _take(self._slice(name, videos), index, limit[name])
                if len(chunk):
                    fvd.update(chunk, real=False)
            if self.warping is not None:
                chunk = _take(videos[:, : self.warping_frames], index, self.warping_videos)
                if len(chunk):
                    self.warping.update(chunk)
        out = {name: fvd.compute() for name, fvd in self.fvd.items()}
        if self.warping is not None:
            w = self.warping.compute()
            out["warping_error"] = w["warping_error"]
            out["warping_error/occluded_pairs"] = w["occluded_pairs"]
        return out

    def _real_statistics(self, trainer) -> None:
        """Real I3D statistics, once per run, one pass per distinct clip length."""
        todo = [n for n, fvd in self.fvd.items() if fvd.num_real == 0]
        for length in sorted({self._length(n) for n in todo}):
            names = [n for n in todo if self._length(n) == length]
            clips = max(self.protocol(n)[0] for n in names)
            for batch in self.real_batches(trainer, length, clips):
                for name in names:
                    real = _take(self._slice(name, batch["frames"]), batch["index"], self.protocol(name)[0])
                    if len(real):
                        self.fvd[name].update(real.to(self.fvd[name].device), real=True)

    def _animated_batches(self, trainer, pl_module, n: int, length: int):
        """Animations of real clips; the clips themselves feed the real FVD statistics."""
        for batch in self.real_batches(trainer, length, n):
            for name, fvd in self.fvd.items():
                chunk = _take(self._slice(name, batch["frames"]), batch["index"], self.protocol(name)[0])
                if len(chunk):
                    fvd.update(chunk.to(fvd.device), real=True)
            yield batch["index"], self.animated(pl_module, batch)


class FrameMetrics(MetricCallback):
    """FID (torchmetrics, torch-fidelity Inception) and IS on frames.

    ``fid50k``: 50 000 generated frames against up to 50 000 real ones; each video
    contributes ``frames_per_video`` frames evenly spaced over its ``num_frames`` (styleinv:
    128 frames, 25 per video; vidstyleode: 1 frame per video). Real frames are taken the
    same way from one clip per video of the split.
    """

    family = "frame"

    def __init__(self, metrics: list[str], num_frames: int = 16, frames_per_video: int = 1, **kwargs: Any):
        super().__init__(metrics, **kwargs)
        if not 1 <= frames_per_video <= num_frames:
            raise ValueError(f"frames_per_video must be in [1, num_frames={num_frames}]")
        self.num_frames, self.frames_per_video = num_frames, frames_per_video
        self.scores: dict[str, Any] = {}

    def check_name(self, name: str) -> str:
        if _FRAME.fullmatch(name):
            return name
        raise ValueError(f"FrameMetrics: unknown metric {name!r}; use fid<N>[k] or is<N>[k]")

    @staticmethod
    def count(name: str) -> int:
        _, n, k = _FRAME.fullmatch(name).groups()
        return int(n) * (1000 if k else 1)

    def _pick(self, videos: Tensor) -> Tensor:
        idx = torch.linspace(0, videos.shape[1] - 1, self.frames_per_video).round().long()
        return videos[:, idx].flatten(0, 1)

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """torch-fidelity's Inception for FID and IS (unless both are replaced)."""
        from stylevideo.features.inception import INCEPTION_WEIGHTS

        kinds = {"inception_fid" if m.startswith("fid") else "inception_is" for m in self.metrics}
        if not self.runs_in(stage) or kinds <= set(self.extractors):
            return {}
        return {INCEPTION_WEIGHTS: self.weights.get(INCEPTION_WEIGHTS)}

    def _build(self, device) -> None:
        if self.scores:
            return
        from stylevideo.features.inception import INCEPTION_WEIGHTS
        from stylevideo.metrics.image import FID, InceptionScoreMetric

        path = self.weights.get(INCEPTION_WEIGHTS)
        for name in self.metrics:
            if name.startswith("fid"):
                metric = FID(
                    path,
                    feature_net=self.extractors.get("inception_fid"),
                    reset_real_features=self.mode != "sample",
                )
            else:
                metric = InceptionScoreMetric(path, feature_net=self.extractors.get("inception_is"))
            self.scores[name] = metric.to(device)

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        self._build(pl_module.device)
        for metric in self.scores.values():
            metric.reset()
        fpv = self.frames_per_video
        limit = {n: self.count(n) for n in self.scores}  # frames
        videos_needed = math.ceil(max(limit.values()) / fpv)
        fids = {n: m for n, m in self.scores.items() if n.startswith("fid")}
        if self.mode == "sample":
            todo = {n: m for n, m in fids.items() if m.real_features_num_samples == 0}
            if todo:
                clips = math.ceil(max(limit[n] for n in todo) / fpv)
                for batch in self.real_batches(trainer, self.num_frames, clips):
                    self._update_real(todo, batch, limit)
            batches = self.generated(trainer, pl_module, videos_needed, self.num_frames)
        else:
            batches = self._animated(trainer, pl_module, fids, videos_needed, limit)
        for index, videos in batches:
            frames = self._pick(videos)
            frame_index = (index[:, None] * fpv + torch.arange(fpv)).flatten()
            for name, metric in self.scores.items():
                chunk = _take(frames, frame_index, limit[name])
                if len(chunk) and name in fids:
                    metric.update(chunk, real=False)
                elif len(chunk):
                    metric.update(chunk)
        out = {}
        for name, metric in self.scores.items():
            if name in fids:
                out[name] = metric.compute()
            else:
                out[name], out[f"{name}_std"] = metric.compute()
        return out

    def _update_real(self, fids: dict, batch: dict, limit: dict) -> None:
        fpv = self.frames_per_video
        frames = self._pick(batch["frames"])
        frame_index = (batch["index"][:, None] * fpv + torch.arange(fpv)).flatten()
        for name, metric in fids.items():
            chunk = _take(frames, frame_index, limit[name])
            if len(chunk):
                metric.update(chunk.to(metric.device), real=True)

    def _animated(self, trainer, pl_module, fids, n: int, limit: dict):
        for batch in self.real_batches(trainer, self.num_frames, n):
            self._update_real(fids, batch, limit)
            yield batch["index"], self.animated(pl_module, batch)


class FaceMetrics(MetricCallback):
    """onestyle's LiA correlation ``lia_r`` (5.2) and identity similarity (Table 1).

    ``sample`` mode: ``groups`` groups of ``group_size`` videos; a group shares its
    temporal style through the ``sample_videos`` keyword ``group_by`` (given the group's
    seed) and varies content through ``seed``. ``reconstruct``/``cross``: ``lia_r`` pairs
    each driving clip with its animation (onestyle Fig. 5a pairs a real video with its
    inversion); identity is measured on the animations. ``embedder``: ``dlib`` (default)
    or ``arcface`` (the paper's, weights through the loader).
    """

    family = "face"
    known = ("lia_r", "identity")

    def __init__(
        self,
        metrics: list[str],
        num_frames: int = 32,
        groups: int = 10,
        group_size: int = 10,
        group_by: str | None = "motion_seed",
        embedder: str = "dlib",
        region: str = "outer",
        min_face_fraction: float = 0.5,
        upsample: int = 1,
        **kwargs: Any,
    ):
        super().__init__(metrics, **kwargs)
        if embedder not in ("dlib", "arcface"):
            raise ValueError(f"FaceMetrics: embedder must be 'dlib' or 'arcface', got {embedder!r}")
        if "lia_r" in self.metrics and self.mode == "sample" and (not group_by or group_size < 2):
            raise ValueError("FaceMetrics: lia_r in sample mode needs group_by and group_size >= 2")
        self.num_frames, self.groups, self.group_size, self.group_by = (
            num_frames,
            groups,
            group_size,
            group_by,
        )
        self.embedder, self.region, self.min_face_fraction, self.upsample = (
            embedder,
            region,
            min_face_fraction,
            upsample,
        )
        self.lia = self.identity = None

    @property
    def identity_name(self) -> str:
        return "arcface_sim" if self.embedder == "arcface" else "dlib_id_sim"

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """ArcFace for ``identity`` with ``embedder: arcface``."""
        from stylevideo.features.arcface import ARCFACE_WEIGHTS

        if self.runs_in(stage) and "identity" in self.metrics and self.embedder == "arcface":
            if "arcface" not in self.extractors:
                return {ARCFACE_WEIGHTS: self.weights.get(ARCFACE_WEIGHTS)}
        return {}

    def required_packages(self, stage: str | None = None) -> dict[str, str]:
        """dlib (face detection and landmarks) unless ``extractors["face"]`` replaces it."""
        return FACE_PACKAGES if self.runs_in(stage) and "face" not in self.extractors else {}

    def _build(self) -> None:
        if self.lia is not None or self.identity is not None:
            return
        from stylevideo.features.face import ArcFaceEmbedder, DlibFace
        from stylevideo.metrics.face import IdentitySimilarity, LiACorrelation

        face = self.extractor("face", lambda: DlibFace(upsample=self.upsample))
        if "lia_r" in self.metrics:
            self.lia = LiACorrelation(face.landmarks, region=self.region, min_face_fraction=self.min_face_fraction)
        if "identity" in self.metrics:
            if self.embedder == "dlib":
                embed = face.descriptors
            else:
                from stylevideo.features.arcface import ARCFACE_WEIGHTS

                embed = self.extractor("arcface", lambda: ArcFaceEmbedder(self.weights.get(ARCFACE_WEIGHTS), face=face))
            self.identity = IdentitySimilarity(embed)

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        self._build()
        for metric in (self.lia, self.identity):
            if metric is not None:
                metric.reset()
        if self.mode == "sample":
            rank, world = self._rank(trainer)
            for g in range(rank, self.groups, world):
                extra = {self.group_by: self.seed + g} if self.group_by else {}
                videos = self.sample(trainer, pl_module, self.group_size, self.num_frames, self.seed + g, **extra).cpu()
                if self.lia is not None:
                    self.lia.update(videos[None])
                if self.identity is not None:
                    self.identity.update(videos)
        else:
            for batch in self.real_batches(trainer, self.num_frames, self.groups):
                real, fake = batch["frames"], self.animated(pl_module, batch).cpu()
                if self.lia is not None:
                    self.lia.update(torch.stack([real.cpu(), fake], dim=1))
                if self.identity is not None:
                    self.identity.update(fake)
        out = {}
        if self.lia is not None:
            lia = self.lia.compute()
            out["lia_r"] = lia["lia_r"]
            out["lia_r/missing_frame_rate"] = lia["missing_frame_rate"]
            out["lia_r/skipped_videos"] = lia["skipped_videos"]
        if self.identity is not None:
            ident, name = self.identity.compute(), self.identity_name
            out[name], out[f"{name}_std"] = ident["mean"], ident["std"]
            out[f"{name}/missing_frame_rate"] = ident["missing_frame_rate"]
            out[f"{name}/skipped_videos"] = ident["skipped_videos"]
        return out


class AnimationMetrics(MetricCallback):
    """lia Table 1 / vidstyleode Table 2 scores of animated real clips.

    ``reconstruct`` (default): L1, LPIPS, AKD, MKR, AED against the clip itself.
    ``cross``: AKD/MKR between the animation and its driving clip (vidstyleode AKD_C);
    L1, LPIPS and AED need the same identity and are refused. ``keypoints``: ``face``
    (dlib 68 landmarks) or ``body`` (Keypoint R-CNN); ``embedder``: ``dlib`` or ``arcface``.
    """

    family = "animation"
    known = ("l1", "lpips", "akd", "mkr", "aed")

    def __init__(
        self,
        metrics: list[str],
        mode: str = "reconstruct",
        num_clips: int = 64,
        num_frames: int = 32,
        keypoints: str = "face",
        embedder: str = "dlib",
        **kwargs: Any,
    ):
        super().__init__(metrics, mode=mode, **kwargs)
        if mode not in ("reconstruct", "cross"):
            raise ValueError("AnimationMetrics: mode must be 'reconstruct' or 'cross'")
        if mode == "cross" and {"l1", "lpips", "aed"} & set(self.metrics):
            raise ValueError("AnimationMetrics: l1, lpips and aed need mode 'reconstruct'")
        if keypoints not in ("face", "body") or embedder not in ("dlib", "arcface"):
            raise ValueError("AnimationMetrics: keypoints is 'face' or 'body', embedder 'dlib' or 'arcface'")
        self.num_clips, self.num_frames = num_clips, num_frames
        self.keypoints, self.embedder = keypoints, embedder
        self.scores: dict[str, Any] = {}

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

    def _build(self, device) -> None:
        if self.scores:
            return
        from stylevideo.metrics.animation import (
            LPIPS,
            AverageEmbeddingDistance,
            KeypointDistance,
            PixelL1,
        )

        wanted = set(self.metrics)
        if "l1" in wanted:
            self.scores["l1"] = PixelL1().to(device)
        if "lpips" in wanted:
            from stylevideo.features.perceptual import ALEXNET_WEIGHTS

            net = self.extractors.get("lpips")
            self.scores["lpips"] = LPIPS(self.weights.get(ALEXNET_WEIGHTS), net=net).to(device)
        if wanted & {"akd", "mkr"}:
            self.scores["keypoints"] = KeypointDistance(self._keypoint_fn())
        if "aed" in wanted:
            self.scores["aed"] = AverageEmbeddingDistance(self._embed_fn())

    def _keypoint_fn(self):
        if self.keypoints == "face":
            from stylevideo.features.face import DlibFace

            return self.extractor("face", DlibFace).landmarks
        from stylevideo.features.pose import KEYPOINT_RCNN_WEIGHTS, PoseKeypoints

        return self.extractor("pose", lambda: PoseKeypoints(self.weights.get(KEYPOINT_RCNN_WEIGHTS)))

    def _embed_fn(self):
        from stylevideo.features.face import ArcFaceEmbedder, DlibFace

        if self.embedder == "dlib":
            return self.extractor("face", DlibFace).descriptors
        from stylevideo.features.arcface import ARCFACE_WEIGHTS

        return self.extractor("arcface", lambda: ArcFaceEmbedder(self.weights.get(ARCFACE_WEIGHTS)))

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        self._build(pl_module.device)
        for metric in self.scores.values():
            metric.reset()
        for batch in self.real_batches(trainer, self.num_frames, self.num_clips):
            real = batch["frames"].to(pl_module.device)
            fake = self.animated(pl_module, batch).clamp(-1, 1)
            for metric in self.scores.values():
                metric.update(fake, real)
        suffix = "_cross" if self.mode == "cross" else ""
        out = {}
        for name, metric in self.scores.items():
            value = metric.compute()
            if name == "keypoints":
                out.update({k + suffix: v for k, v in value.items() if k in self.metrics})
            elif name == "aed":
                out["aed"], out["aed/missing_frame_rate"] = (
                    value["aed"],
                    value["missing_frame_rate"],
                )
            else:
                out[name + suffix] = value
        return out
