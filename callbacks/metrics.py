"""Metric callbacks, one per family, configured from the experiment YAML::

    trainer:
      callbacks+:
        - class_path: stylevideo.callbacks.metrics.VideoMetrics
          init_args: {metrics: [fvd2048_16f, fvd2048_128f], every_n_steps: 5000}

- :class:`VideoMetrics`: ``fvd<clips>_<span>f[_subsample<s>f]`` (StyleGAN-V's names:
  ``fvd2048_16f``, ``fvd2048_128f``, ``fvd2048_128f_subsample8f``, onestyle's ``fvd2048_64f``)
  and ``warping_error``.
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

import re
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchmetrics import Metric

from .metric_base import MetricCallback

__all__ = ["AnimationMetrics", "FaceMetrics", "FrameMetrics", "VideoMetrics", "fvd_protocol"]

#: What the dlib-based face metrics import (``features.face``), and how to install it.
_FACE_EXTRA = "the face metrics need the face extra: pip install -e '.[face]' (make install-face)"
FACE_PACKAGES = {"dlib": _FACE_EXTRA, "face_recognition_models": _FACE_EXTRA}
_FVD = re.compile(r"fvd(\d+)_(\d+)f(?:_subsample(\d+)f)?")
_FRAME = re.compile(r"(fid|is)(\d+)(k?)")


def _take(items: Tensor, index: Tensor, limit: int) -> Tensor:
    """The items whose global index is below ``limit`` (one metric's share of a batch)."""
    return items[index.to(items.device) < limit]


def fvd_protocol(name: str) -> tuple[int, int, int]:
    """``(clips, frames fed, stride)`` of an FVD name, as StyleGAN-V reads it
    (``src/metrics/metric_main.py:127-131``): ``fvd2048_128f_subsample8f`` is 2048 clips of
    128 / 8 = 16 frames, every 8th frame of a 128-frame span (frames 0, 8, ..., 120)."""
    match = _FVD.fullmatch(name)
    if match is None:
        raise ValueError(
            f"unknown metric {name!r}; use fvd<clips>_<span>f[_subsample<s>f] (e.g. fvd2048_16f) or warping_error"
        )
    clips, span, stride = int(match[1]), int(match[2]), int(match[3] or 1)
    if span % stride:
        raise ValueError(
            f"{name}: the span of {span} frames is not a multiple of the subsampling {stride} "
            f"(fvd<clips>_<span>f_subsample<s>f feeds span / s frames, every s-th frame of the span)"
        )
    return clips, span // stride, stride


class VideoMetrics(MetricCallback):
    """FVD (StyleGAN-V protocol) and warping error on generated or animated videos.

    An FVD name fixes its protocol: ``fvd2048_16f`` is 2048 generated clips of 16 frames
    against one real 16-frame clip from each of at most 2048 videos (shorter videos
    discarded); ``fvd2048_128f_subsample8f`` feeds 16 frames, every 8th of a 128-frame span
    (real clips from videos of at least 128 frames, as StyleGAN-V's ``discard_short_videos``).
    Several FVDs share one generation: clips are generated at the longest length and each FVD
    takes its frames from the start (styleinv 4: FVD16 uses the first 16 frames of the
    128-frame clips). Real statistics are computed once per run. ``warping_error`` uses the
    first ``warping_frames`` frames of ``warping_videos`` videos and the ``flow`` estimator.
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

    def check_name(self, name: str) -> str:
        if name != "warping_error":
            try:
                fvd_protocol(name)
            except ValueError as e:
                raise ValueError(f"VideoMetrics: {e}") from None
        return name

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

    def build(self, trainer) -> dict[str, Metric]:
        from stylevideo.features.i3d import I3D_WEIGHTS
        from stylevideo.metrics.frechet import FrechetVideoDistance
        from stylevideo.metrics.warping import WarpingError

        scores, detector = {}, self.extractors.get("i3d")
        for name in self.metrics:
            if name == "warping_error":
                scores[name] = WarpingError(self.extractors.get("flow", self.flow))
            else:
                scores[name] = FrechetVideoDistance(
                    detector=detector,
                    detector_path=self.weights.get(I3D_WEIGHTS),
                    reset_real_features=self.mode != "sample",
                )
                detector = scores[name].detector  # one detector for all FVDs
        return scores

    @property
    def fvds(self) -> dict[str, Metric]:
        return {n: m for n, m in self.scores.items() if n != "warping_error"}

    def _length(self, name: str) -> int:
        """Consecutive frames a generated or animated video needs for ``name``."""
        if name == "warping_error":
            return self.warping_frames
        _, frames, stride = fvd_protocol(name)
        return (frames - 1) * stride + 1

    @staticmethod
    def _slice(name: str, videos: Tensor) -> Tensor:
        """The frames ``name`` feeds from consecutive videos: 0, s, 2 s, ..."""
        _, frames, stride = fvd_protocol(name)
        return videos[:, ::stride][:, :frames]

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        limit = {n: fvd_protocol(n)[0] for n in self.fvds} | {"warping_error": self.warping_videos}
        n, length = max(limit[m] for m in self.metrics), max(self._length(m) for m in self.metrics)
        if self.mode == "sample":
            self._real_statistics(trainer)
            batches = self.generated(trainer, pl_module, n, length)
        else:
            batches = self._animated_batches(trainer, pl_module, n, length)
        for index, videos in batches:
            for name, metric in self.scores.items():
                if name == "warping_error":
                    chunk = _take(videos[:, : self.warping_frames], index, self.warping_videos)
                    if len(chunk):
                        metric.update(chunk)
                else:
                    chunk = _take(self._slice(name, videos), index, limit[name])
                    if len(chunk):
                        metric.update(chunk, real=False)
        out = {name: fvd.compute() for name, fvd in self.fvds.items()}
        if "warping_error" in self.scores:
            w = self.scores["warping_error"].compute()
            out["warping_error"] = w["warping_error"]
            out["warping_error/occluded_pairs"] = w["occluded_pairs"]
        return out

    def _real_statistics(self, trainer) -> None:
        """Real I3D statistics, once per run, one pass per distinct (frames, stride): clips of
        every ``stride``-th frame from videos of at least ``frames * stride`` frames."""
        todo = [n for n, fvd in self.fvds.items() if fvd.num_real == 0]
        for frames, stride in sorted({fvd_protocol(n)[1:] for n in todo}):
            names = [n for n in todo if fvd_protocol(n)[1:] == (frames, stride)]
            clips = max(fvd_protocol(n)[0] for n in names)
            for batch in self.real_batches(trainer, frames, clips, stride=stride):
                for name in names:
                    real = _take(batch["frames"], batch["index"], fvd_protocol(name)[0])
                    if len(real):
                        self.scores[name].update(real.to(self.scores[name].device), real=True)

    def _animated_batches(self, trainer, pl_module, n: int, length: int):
        """Animations of real clips; the clips themselves feed the real FVD statistics."""
        for batch in self.real_batches(trainer, length, n):
            for name, fvd in self.fvds.items():
                chunk = _take(self._slice(name, batch["frames"]), batch["index"], fvd_protocol(name)[0])
                if len(chunk):
                    fvd.update(chunk.to(fvd.device), real=True)
            yield batch["index"], self.animated(pl_module, batch)


def _frames_at(videos: Tensor, index: Tensor, pick_video: np.ndarray, pick_time: np.ndarray) -> tuple[Tensor, Tensor]:
    """The picked frames of a batch of videos (global indices ``index``) and their positions
    in the pick list."""
    row = {int(v): r for r, v in enumerate(index.tolist())}
    position = np.flatnonzero(np.isin(pick_video, index.cpu().numpy()))
    rows = torch.tensor([row[int(v)] for v in pick_video[position]], dtype=torch.long, device=videos.device)
    times = torch.from_numpy(pick_time[position]).to(videos.device)
    return videos[rows, times], torch.from_numpy(position)


class FrameMetrics(MetricCallback):
    """FID and IS on frames (torch-fidelity's Inception through torchmetrics).

    ``fid50k``: 50 000 generated frames against up to 50 000 real ones. Real frames (mode
    ``sample``): the datamodule's ``frame_dataloader``, a random video of the split (each
    video equally often) then a uniformly random frame, as StyleInV's ``fid50k``; at most as
    many as the split has frames. Generated frames: ``frames_per_video`` (default 1, as
    vidstyleode: "a single frame from each generated video") distinct frames of each video
    at seeded random times among its ``num_frames``; with ``num_videos`` (styleinv: 2048
    videos of 128 frames), the N frames are drawn uniformly without replacement from all
    frames of ``num_videos`` videos, as StyleInV's fake dataset. In the animation modes the
    real frames are those of the driving clips at the same times.
    """

    family = "frame"

    def __init__(
        self,
        metrics: list[str],
        num_frames: int = 16,
        frames_per_video: int = 1,
        num_videos: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(metrics, **kwargs)
        if not 1 <= frames_per_video <= num_frames:
            raise ValueError(f"frames_per_video must be in [1, num_frames={num_frames}]")
        most = max(self.count(n) for n in self.metrics)
        if num_videos is not None and most > num_videos * num_frames:
            raise ValueError(f"FrameMetrics: {most} frames cannot be drawn from {num_videos} videos of {num_frames}")
        self.num_frames, self.frames_per_video, self.num_videos = num_frames, frames_per_video, num_videos

    def check_name(self, name: str) -> str:
        if not _FRAME.fullmatch(name):
            raise ValueError(f"FrameMetrics: unknown metric {name!r}; use fid<N>[k] or is<N>[k]")
        if name.startswith("is") and self.count(name) < 10:
            raise ValueError(f"FrameMetrics: {name} has fewer frames than IS's 10 splits")
        return name

    @staticmethod
    def count(name: str) -> int:
        _, n, k = _FRAME.fullmatch(name).groups()
        return int(n) * (1000 if k else 1)

    def picks(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(video, time)`` of the ``n`` generated frames, in order (seeded by ``seed``)."""
        rng = np.random.default_rng([self.seed, 4])
        t = self.num_frames
        if self.num_videos is not None:
            flat = rng.choice(self.num_videos * t, size=n, replace=False)
            return flat // t, flat % t
        fpv = self.frames_per_video
        videos = -(-n // fpv)
        times = rng.permuted(np.tile(np.arange(t), (videos, 1)), axis=1)[:, :fpv]
        return np.repeat(np.arange(videos), fpv)[:n], times.reshape(-1)[:n]

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """torch-fidelity's Inception for FID and IS (unless both are replaced)."""
        from stylevideo.features.inception import INCEPTION_WEIGHTS

        kinds = {"inception_fid" if m.startswith("fid") else "inception_is" for m in self.metrics}
        if not self.runs_in(stage) or kinds <= set(self.extractors):
            return {}
        return {INCEPTION_WEIGHTS: self.weights.get(INCEPTION_WEIGHTS)}

    def build(self, trainer) -> dict[str, Metric]:
        from stylevideo.features.inception import INCEPTION_WEIGHTS
        from stylevideo.metrics.image import FID, InceptionScoreMetric

        path, scores = self.weights.get(INCEPTION_WEIGHTS), {}
        for name in self.metrics:
            if name.startswith("fid"):
                scores[name] = FID(
                    path,
                    feature_net=self.extractors.get("inception_fid"),
                    reset_real_features=self.mode != "sample",
                )
            else:
                scores[name] = InceptionScoreMetric(path, feature_net=self.extractors.get("inception_is"))
        return scores

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        limit = {n: self.count(n) for n in self.scores}
        pick_video, pick_time = self.picks(max(limit.values()))
        num_videos = int(pick_video.max()) + 1
        if self.mode == "sample":
            self._real_frames(trainer, limit)
            batches = self.generated(trainer, pl_module, num_videos, self.num_frames)
        else:
            batches = self._animated(trainer, pl_module, num_videos, (pick_video, pick_time), limit)
        for index, videos in batches:
            self._update(*_frames_at(videos, index, pick_video, pick_time), limit, real=False)
        out = {}
        for name, metric in self.scores.items():
            if name.startswith("fid"):
                out[name] = metric.compute()
            else:
                out[name], out[f"{name}_std"] = metric.compute()
        return out

    def _update(self, frames: Tensor, position: Tensor, limit: dict, real: bool) -> None:
        """Each metric's share (position below its count) of ``frames``; IS takes generated only."""
        for name, metric in self.scores.items():
            chunk = _take(frames, position, limit[name])
            if not len(chunk):
                continue
            if name.startswith("fid"):
                metric.update(chunk, real=real)
            elif not real:
                metric.update(chunk, _take(position, position, limit[name]))

    def _real_frames(self, trainer, limit: dict) -> None:
        """Real Inception statistics of the FIDs that have none yet (once per run)."""
        todo = [n for n in self.scores if n.startswith("fid") and self.scores[n].real_features_num_samples == 0]
        if todo:
            for batch in self.real_frame_batches(trainer, max(limit[n] for n in todo)):
                for name in todo:
                    chunk = _take(batch["frames"], batch["index"], limit[name])
                    if len(chunk):
                        self.scores[name].update(chunk, real=True)

    def _animated(self, trainer, pl_module, n: int, picks: tuple[np.ndarray, np.ndarray], limit: dict):
        for batch in self.real_batches(trainer, self.num_frames, n):
            self._update(*_frames_at(batch["frames"], batch["index"], *picks), limit, real=True)
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

    def build(self, trainer) -> dict[str, Metric]:
        from stylevideo.features.face import ArcFaceEmbedder, DlibFace
        from stylevideo.metrics.face import IdentitySimilarity, LiACorrelation

        face, scores = self.extractor("face", lambda: DlibFace(upsample=self.upsample)), {}
        if "lia_r" in self.metrics:
            scores["lia_r"] = LiACorrelation(
                face.landmarks, region=self.region, min_face_fraction=self.min_face_fraction
            )
        if "identity" in self.metrics:
            if self.embedder == "dlib":
                embed = face.descriptors
            else:
                from stylevideo.features.arcface import ARCFACE_WEIGHTS

                embed = self.extractor("arcface", lambda: ArcFaceEmbedder(self.weights.get(ARCFACE_WEIGHTS), face=face))
            scores["identity"] = IdentitySimilarity(embed)
        return scores

    def evaluate(self, trainer, pl_module) -> dict[str, Tensor]:
        lia, identity = self.scores.get("lia_r"), self.scores.get("identity")
        if self.mode == "sample":
            rank, world = self._rank(trainer)
            for g in range(rank, self.groups, world):
                extra = {self.group_by: self.seed + g} if self.group_by else {}
                videos = self.sample(trainer, pl_module, self.group_size, self.num_frames, self.seed + g, **extra).cpu()
                if lia is not None:
                    lia.update(videos[None])
                if identity is not None:
                    identity.update(videos)
        else:
            for batch in self.real_batches(trainer, self.num_frames, self.groups):
                real, fake = batch["frames"], self.animated(pl_module, batch).cpu()
                if lia is not None:
                    lia.update(torch.stack([real.cpu(), fake], dim=1))
                if identity is not None:
                    identity.update(fake)
        out = {}
        if lia is not None:
            value = lia.compute()
            out["lia_r"] = value["lia_r"]
            out["lia_r/missing_frame_rate"] = value["missing_frame_rate"]
            out["lia_r/skipped_videos"] = value["skipped_videos"]
        if identity is not None:
            value, name = identity.compute(), self.identity_name
            out[name], out[f"{name}_std"] = value["mean"], value["std"]
            out[f"{name}/missing_frame_rate"] = value["missing_frame_rate"]
            out[f"{name}/skipped_videos"] = value["skipped_videos"]
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
        from stylevideo.metrics.animation import (
            LPIPS,
            AverageEmbeddingDistance,
            KeypointDistance,
            PixelL1,
        )

        wanted, scores = set(self.metrics), {}
        if "l1" in wanted:
            scores["l1"] = PixelL1()
        if "lpips" in wanted:
            from stylevideo.features.perceptual import ALEXNET_WEIGHTS

            scores["lpips"] = LPIPS(self.weights.get(ALEXNET_WEIGHTS), net=self.extractors.get("lpips"))
        if wanted & {"akd", "mkr"}:
            scores["keypoints"] = KeypointDistance(self._keypoint_fn())
        if "aed" in wanted:
            scores["aed"] = AverageEmbeddingDistance(self._embed_fn())
        return scores

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
