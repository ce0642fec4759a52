"""Warping error (vidstyleode Table 1 ``W_error``, Sec. 4; defined by Lai et al. 2018 [24]).

For consecutive frames V_t, V_t+1 (RGB in [0, 1]) with flow F from t to t+1, as Lai et al.'s
``evaluate_WarpError.py`` (lines 92, 108-116) computes it:

    E(V_t, V_t+1) = sum_i M_i ||V_t(i) - V_t+1(i + F(i))||_2^2 / (3 sum_i M_i)

the mean over the non-occluded pixels *and the three channels* (their mask is a 3-channel
image: ``N = np.sum(noc_mask)``). A pair with no valid pixel scores 0 and still counts
(their ``N = H W C`` fallback). M is Lai et al.'s ``utils.detect_occlusion`` (lines 504-544,
called as ``detect_occlusion(bw_flow, fw_flow)``): a pixel is occluded when it fails the
forward-backward check |F + B~|^2 > 0.01 (|F|^2 + |B~|^2) + 0.5 (B~ the backward flow sampled
at i + F(i)) or lies on a motion boundary |grad F_x|^2 + |grad F_y|^2 > 0.01 |F|^2 + 0.002,
the gradients being forward differences (zero on the last row and column; ``utils.py:483-501``).
Sampling is bilinear with coordinates clamped to the frame, as their ``Resample2d``
(``networks/resample2d_package/src/Resample2d_kernel.cu:44-60``). A video's error is
the mean over its frame pairs; the metric is the mean over videos. The flow estimator is
named in :mod:`stylevideo.features.flow` (OpenCV DIS by default; Lai et al. used FlowNet2,
vidstyleode FlowFormer).
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


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image [H, W, C]`` at ``x + flow(x)``, bilinear, coordinates clamped to the frame."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + flow[..., 0], gy + flow[..., 1]
    warped = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return warped.reshape(image.shape)


def _forward_differences(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x[i, j] - x[i, j + 1]`` and ``x[i, j] - x[i + 1, j]``, zero on the last column / row."""
    du, dv = np.zeros_like(x), np.zeros_like(x)
    du[:, :-1] = x[:, :-1] - x[:, 1:]
    dv[:-1, :] = x[:-1, :] - x[1:, :]
    return du, dv


def occlusion_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Boolean ``[H, W]``: True where a pixel of frame t is occluded (Lai et al.'s check)."""
    back = warp(backward, forward)
    fb = np.square(forward + back).sum(-1)
    mag = np.square(forward).sum(-1)
    inconsistent = fb > 0.01 * (np.square(back).sum(-1) + mag) + 0.5
    grad = sum(np.square(d) for c in (0, 1) for d in _forward_differences(forward[..., c]))
    return inconsistent | (grad > 0.01 * mag + 0.002)


def video_warping_error(frames: np.ndarray, flow: FlowFn) -> tuple[float, int]:
    """Mean warping error over the pairs of ``uint8 [T, H, W, 3]`` and the number of pairs
    with every pixel occluded (they score 0 and count, as in Lai et al.)."""
    a, b = frames[:-1], frames[1:]
    fw, bw = flow(a, b), flow(b, a)
    errors, occluded = [], 0
    for t in range(len(a)):
        valid = ~occlusion_mask(fw[t], bw[t])
        if not valid.any():
            errors.append(0.0)
            occluded += 1
            continue
        warped = warp(b[t].astype(np.float32) / 255, fw[t]).astype(np.float64)
        sq = np.square(a[t].astype(np.float64) / 255 - warped)
        errors.append(float(sq[valid].sum() / (valid.sum() * a.shape[-1])))
    return float(np.mean(errors)), occluded


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
        results = [video_warping_error(frames, self.flow) for frames in to_uint8_numpy(videos)]
        self.error_sum += sum(err for err, _ in results)
        self.occluded_pairs += sum(occluded for _, occluded in results)
        self.videos += len(results)

    def compute(self) -> dict[str, Tensor]:
        return {
            "warping_error": self.error_sum / self.videos,
            "occluded_pairs": self.occluded_pairs,
        }
