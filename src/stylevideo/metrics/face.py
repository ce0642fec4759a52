"""Face metrics of onestyle: LiA correlation r-bar_t (Sec. 5.2, Table 1, Fig. 5a) and
identity preservation (Table 1 "ArcFace").

LiA (lips area): per frame, the area of the mouth polygon of dlib's 68 landmarks ([19] in
onestyle is dlib); default the outer lip contour (points 49-60 in 1-based numbering),
``region="inner"`` the mouth opening (61-68). A video's LiA signal is its per-frame area.
r-bar_t is the mean Pearson correlation over all pairs of videos in a group: videos
generated with one temporal style and different content (Table 1), or a real video and
its inversion (Fig. 5a, groups of two).

Missing faces: frames without a detected face get the linearly interpolated area of
their nearest detected neighbours (held constant past the ends); videos where fewer than
``min_face_fraction`` of the frames have a face are left out. Both are counted and
returned (``missing_frame_rate``, ``skipped_videos``). A signal with zero variance has
correlation 0 with anything (a static mouth does not reproduce any motion).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import cv2
import numpy as np
import torch
from torch import Tensor
from torchmetrics import Metric

from stylevideo.features.face import MOUTH_INNER, MOUTH_OUTER, DlibFace
from stylevideo.metrics.utils import to_uint8_numpy

__all__ = [
    "IdentitySimilarity",
    "LiACorrelation",
    "fill_missing",
    "lip_area",
    "pearson",
    "polygon_area",
]

LandmarkFn = Callable[[np.ndarray], np.ndarray]
EmbedFn = Callable[[np.ndarray], np.ndarray]


def polygon_area(points: np.ndarray) -> np.ndarray:
    """Area of polygons ``[..., P, 2]`` (``cv2.contourArea``); NaN where a point is missing."""
    points = np.ascontiguousarray(points, dtype=np.float32)
    flat = points.reshape(-1, *points.shape[-2:])
    areas = [cv2.contourArea(p) if np.isfinite(p).all() else np.nan for p in flat]
    return np.asarray(areas, dtype=np.float64).reshape(points.shape[:-2])


def lip_area(landmarks: np.ndarray, region: str = "outer") -> np.ndarray:
    """LiA values ``[N]`` of 68-point landmarks ``[N, 68, 2]`` (onestyle Sec. 5.2)."""
    idx = {"outer": MOUTH_OUTER, "inner": MOUTH_INNER}.get(region)
    if idx is None:
        raise ValueError(f"region must be 'outer' or 'inner', got {region!r}")
    return polygon_area(landmarks[:, list(idx)])


def fill_missing(signal: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN entries (ends held at the nearest value)."""
    valid = np.isfinite(signal)
    if valid.all() or not valid.any():
        return signal
    t = np.arange(len(signal))
    return np.interp(t, t[valid], signal[valid])


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation (``np.corrcoef``); 0 when either signal is constant."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


class _CountingMetric(Metric):
    is_differentiable = False
    full_state_update = False

    def _add(self, *names: str) -> None:
        for name in names:
            self.add_state(name, torch.zeros((), dtype=torch.float64), "sum")


class LiACorrelation(_CountingMetric):
    """r-bar_t: mean pairwise correlation of LiA signals within groups of videos.

    ``update(videos [G, K, T, 3, H, W])`` (K >= 2 videos per group) or
    ``update(signals=[G, K, T])``, LiA signals with NaN for missing faces. ``landmarks``
    replaces dlib (any map from ``uint8 [N, H, W, 3]`` to ``[N, 68, 2]``, NaN if absent).
    ``compute`` returns ``{"lia_r", "missing_frame_rate", "skipped_videos"}``.
    """

    higher_is_better = True

    def __init__(
        self,
        landmarks: LandmarkFn | None = None,
        region: str = "outer",
        min_face_fraction: float = 0.5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.landmarks = landmarks if landmarks is not None else DlibFace().landmarks
        lip_area(np.zeros((1, 68, 2)), region)  # validate the region now
        self.region, self.min_face_fraction = region, min_face_fraction
        self._add("r_sum", "pairs", "missing_frames", "frames", "skipped_videos")

    def signals(self, videos: Tensor) -> np.ndarray:
        """LiA signals ``[..., T]`` of videos ``[..., T, 3, H, W]`` (NaN: no face)."""
        frames = to_uint8_numpy(videos)
        flat = frames.reshape(-1, *frames.shape[-4:])
        out = np.stack([lip_area(self.landmarks(v), self.region) for v in flat])
        return out.reshape(frames.shape[:-3])

    def update(self, videos: Tensor | None = None, *, signals: np.ndarray | None = None) -> None:
        if (videos is None) == (signals is None):
            raise ValueError("pass either videos or signals")
        if videos is not None:
            if videos.ndim != 6 or videos.shape[1] < 2:
                raise ValueError(f"expected groups of videos [G, K>=2, T, 3, H, W], got {tuple(videos.shape)}")
            signals = self.signals(videos)
        signals = np.asarray(signals, dtype=np.float64)
        if signals.ndim != 3:
            raise ValueError(f"expected signals [G, K, T], got {signals.shape}")
        valid = np.isfinite(signals)
        self.missing_frames += int((~valid).sum())
        self.frames += valid.size
        kept_videos = valid.mean(-1) >= self.min_face_fraction
        self.skipped_videos += int((~kept_videos).sum())
        r = [
            pearson(a, b)
            for group, ok in zip(signals, kept_videos, strict=True)
            for a, b in combinations([fill_missing(s) for s, k in zip(group, ok, strict=True) if k], 2)
        ]
        self.r_sum += sum(r)
        self.pairs += len(r)

    def compute(self) -> dict[str, Tensor]:
        return {
            "lia_r": self.r_sum / self.pairs,
            "missing_frame_rate": self.missing_frames / self.frames,
            "skipped_videos": self.skipped_videos,
        }


class IdentitySimilarity(_CountingMetric):
    """Cosine similarity of each frame's identity embedding to the first frame's.

    onestyle Table 1 reports mean +- std over the (first, later) frame pairs of all
    videos. ``embed`` defaults to dlib's face descriptor; pass an
    :class:`~stylevideo.features.face.ArcFaceEmbedder` for the ArcFace column as the paper
    computed it. Videos whose first frame has no face are skipped; later frames without
    one are left out; both counted. ``compute`` returns
    ``{"mean", "std", "missing_frame_rate", "skipped_videos"}``.
    """

    higher_is_better = True

    def __init__(self, embed: EmbedFn | None = None, **kwargs):
        super().__init__(**kwargs)
        self.embed = embed if embed is not None else DlibFace().descriptors
        self._add("sim_sum", "sim_sq_sum", "count", "missing_frames", "frames", "skipped_videos")

    def update(self, videos: Tensor) -> None:
        if videos.ndim != 5 or videos.shape[1] < 2:
            raise ValueError(f"expected videos [B, T>=2, 3, H, W], got {tuple(videos.shape)}")
        for frames in to_uint8_numpy(videos):
            emb = self.embed(frames)
            emb = emb / np.linalg.norm(emb, axis=-1, keepdims=True)
            found = np.isfinite(emb).all(-1)
            self.frames += len(found)
            self.missing_frames += int((~found).sum())
            if not found[0]:
                self.skipped_videos += 1
                continue
            sims = emb[1:][found[1:]] @ emb[0]
            self.sim_sum += float(sims.sum())
            self.sim_sq_sum += float(np.square(sims).sum())
            self.count += len(sims)

    def compute(self) -> dict[str, Tensor]:
        mean = self.sim_sum / self.count
        return {
            "mean": mean,
            "std": (self.sim_sq_sum / self.count - mean**2).clamp(min=0).sqrt(),
            "missing_frame_rate": self.missing_frames / self.frames,
            "skipped_videos": self.skipped_videos,
        }
