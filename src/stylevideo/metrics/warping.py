"""Warping error (vidstyleode Table 1 ``W_error``, Sec. 4; defined by Lai et al. 2018 [24]).

For consecutive frames V_t, V_t+1 (RGB in [0, 1]) with flow F from t to t+1:

    E(V_t, V_t+1) = sum_i M_i ||V_t(i) - V_t+1(i + F(i))||_2^2 / sum_i M_i

where M is the non-occlusion mask. A pixel is occluded (M = 0) when it fails the
forward-backward check of Ruder et al. 2016 (|F + B~|^2 > 0.01 (|F|^2 + |B~|^2) + 0.5,
B~ the backward flow sampled at i + F(i)), lies on a motion boundary
(|grad u|^2 + |grad v|^2 > 0.01 |F|^2 + 0.002), or is carried outside the frame. A video's
error is the mean over its frame pairs; the metric is the mean over videos. The flow
estimator is named in :mod:`stylevideo.features.flow` (OpenCV DIS by default).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor
from torchmetrics import Metric

from stylevideo.features.flow import FlowFn, flow_estimator
from stylevideo.metrics.utils import to_uint8_numpy

__all__ = ["WarpingError", "occlusion_mask", "video_warping_error", "warp"]


def warp(image: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``image [H, W, C]`` at ``x + flow(x)`` (bilinear); also where that stays inside."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + flow[..., 0], gy + flow[..., 1]
    warped = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    return warped.reshape(image.shape), inside


def occlusion_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Boolean ``[H, W]``: True where a pixel is occluded (Ruder et al. 2016, Sec. 3.1)."""
    back, inside = warp(backward, forward)
    fb = np.square(forward + back).sum(-1)
    mag = np.square(forward).sum(-1) + np.square(back).sum(-1)
    du_dy, du_dx = np.gradient(forward[..., 0])
    dv_dy, dv_dx = np.gradient(forward[..., 1])
    boundary = du_dx**2 + du_dy**2 + dv_dx**2 + dv_dy**2 > 0.01 * np.square(forward).sum(-1) + 0.002
    return (fb > 0.01 * mag + 0.5) | boundary | ~inside


def video_warping_error(frames: np.ndarray, flow: FlowFn) -> tuple[float, int]:
    """Mean warping error of ``uint8 [T, H, W, 3]`` and the number of pairs left out
    because every pixel was occluded (NaN when all were)."""
    a, b = frames[:-1], frames[1:]
    fw, bw = flow(a, b), flow(b, a)
    errors, skipped = [], 0
    for t in range(len(a)):
        valid = ~occlusion_mask(fw[t], bw[t])
        if not valid.any():
            skipped += 1
            continue
        warped, _ = warp(b[t].astype(np.float32) / 255, fw[t])
        sq = np.square(a[t].astype(np.float32) / 255 - warped).sum(-1)
        errors.append(float(sq[valid].sum() / valid.sum()))
    return (float(np.mean(errors)) if errors else float("nan")), skipped


class WarpingError(Metric):
    """Mean warping error over videos; ``update(videos [B, T, 3, H, W])`` in [-1, 1].

    ``flow`` is an estimator name (``"dis"``, ``"farneback"``, ``"raft_large"``,
    ``"raft_small"``) or a callable with the same contract. ``compute`` returns
    ``{"warping_error", "occluded_pairs"}``.
    """

    higher_is_better = False
    is_differentiable = False
    full_state_update = False

    def __init__(self, flow: str | FlowFn = "dis", **kwargs):
        super().__init__(**kwargs)
        self.flow_name = flow if isinstance(flow, str) else getattr(flow, "__name__", "custom")
        self.flow = flow_estimator(flow) if isinstance(flow, str) else flow
        self.add_state("error_sum", torch.zeros((), dtype=torch.float64), "sum")
        self.add_state("videos", torch.zeros((), dtype=torch.float64), "sum")
        self.add_state("occluded_pairs", torch.zeros((), dtype=torch.float64), "sum")

    def update(self, videos: Tensor) -> None:
        if videos.ndim != 5 or videos.shape[1] < 2:
            raise ValueError(f"expected videos [B, T>=2, 3, H, W], got {tuple(videos.shape)}")
        for frames in to_uint8_numpy(videos):
            err, skipped = video_warping_error(frames, self.flow)
            self.occluded_pairs += skipped
            if not np.isnan(err):
                self.error_sum += err
                self.videos += 1

    def compute(self) -> dict[str, Tensor]:
        return {
            "warping_error": self.error_sum / self.videos,
            "occluded_pairs": self.occluded_pairs,
        }
