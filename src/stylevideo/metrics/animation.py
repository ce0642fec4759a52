"""Reconstruction and animation scores (lia Table 1, 4.2 and B.2; vidstyleode Table 2).

All take a generated video and its ground truth, ``[B, T, 3, H, W]`` in [-1, 1]:

- ``L1``: mean absolute pixel difference with pixels in [0, 1] (lia B.2), torchmetrics'
  ``MeanAbsoluteError`` on the rescaled pixels.
- ``LPIPS``: torchmetrics' LPIPS network (AlexNet, LPIPS v0.1 linear layers), mean over frames.
- ``AKD`` / ``MKR``: average distance (pixels) between keypoints of both videos, over
  keypoints found in both; and the share of keypoints found in the ground truth but
  missing in the generated frame (lia B.2). Faces: dlib's 68 landmarks; bodies: a pose
  estimator (:mod:`stylevideo.features.pose`).
- ``AED``: average Euclidean distance between identity embeddings of generated and
  ground-truth frames (lia B.2; FOMM's definition), over frames where both have one.

Keypoint extractors map ``uint8 [N, H, W, 3]`` to ``[N, K, 2]`` with NaN for a missing
keypoint; embedders map it to ``[N, D]`` with NaN rows where no face/person was found.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch
from einops import rearrange
from torch import Tensor
from torchmetrics import MeanAbsoluteError, Metric

from stylevideo.metrics.utils import to_uint8_numpy

__all__ = ["LPIPS", "AverageEmbeddingDistance", "KeypointDistance", "PixelL1"]

KeypointFn = Callable[[np.ndarray], np.ndarray]
EmbedFn = Callable[[np.ndarray], np.ndarray]


def _check_pair(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape or pred.ndim != 5:
        raise ValueError(
            f"expected two videos [B, T, 3, H, W] of one shape, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )


class _SumMetric(Metric):
    is_differentiable = False
    full_state_update = False

    def _add(self, *names: str) -> None:
        for name in names:
            self.add_state(name, torch.zeros((), dtype=torch.float64), "sum")


class PixelL1(MeanAbsoluteError):
    """Mean |pred - target| over all pixels, channels and frames, pixels in [0, 1] (float64)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.set_dtype(torch.float64)

    def update(self, pred: Tensor, target: Tensor) -> None:
        _check_pair(pred, target)
        super().update((pred.double() + 1) / 2, (target.double() + 1) / 2)


class LPIPS(_SumMetric):
    """LPIPS (Zhang et al. 2018, as lia B.2 uses it): the mean over frame pairs of the
    distance computed by torchmetrics' LPIPS network with the AlexNet backbone from the
    weight loader (:func:`~stylevideo.features.perceptual.lpips_alex`).

    ``update(pred, target)`` takes videos ``[B, T, 3, H, W]`` (or frames) in [-1, 1]; ``net``
    replaces the network (any ``net(x, y) -> [N, 1, 1, 1]``; tests pass one built on random
    AlexNet weights).
    """

    higher_is_better = False

    def __init__(self, weights_path: str | os.PathLike | None = None, net: torch.nn.Module | None = None, **kwargs):
        super().__init__(**kwargs)
        if net is None:
            from stylevideo.features.perceptual import lpips_alex

            net = lpips_alex(weights_path)
        self.net = net
        self._add("score_sum", "count")

    def update(self, pred: Tensor, target: Tensor) -> None:
        if pred.ndim == 5:
            _check_pair(pred, target)
            pred, target = (rearrange(x, "b t c h w -> (b t) c h w") for x in (pred, target))
        with torch.no_grad():
            scores = self.net(pred.float().clamp(-1, 1), target.float().clamp(-1, 1))
        self.score_sum += scores.double().sum()
        self.count += len(pred)

    def compute(self) -> Tensor:
        return self.score_sum / self.count


class KeypointDistance(_SumMetric):
    """AKD and MKR between keypoints of generated and ground-truth frames (lia B.2)."""

    higher_is_better = False

    def __init__(self, keypoints: KeypointFn, **kwargs):
        super().__init__(**kwargs)
        self.keypoints = keypoints
        self._add("distance_sum", "matched", "missing", "present")

    def update(self, pred: Tensor, target: Tensor) -> None:
        _check_pair(pred, target)
        kp_pred = np.stack([self.keypoints(v) for v in to_uint8_numpy(pred)])
        kp_true = np.stack([self.keypoints(v) for v in to_uint8_numpy(target)])
        found_pred = np.isfinite(kp_pred).all(-1)
        found_true = np.isfinite(kp_true).all(-1)
        both = found_pred & found_true
        dist = np.linalg.norm(kp_pred - kp_true, axis=-1)
        self.distance_sum += float(dist[both].sum())
        self.matched += int(both.sum())
        self.missing += int((found_true & ~found_pred).sum())
        self.present += int(found_true.sum())

    def compute(self) -> dict[str, Tensor]:
        return {"akd": self.distance_sum / self.matched, "mkr": self.missing / self.present}


class AverageEmbeddingDistance(_SumMetric):
    """AED: mean L2 distance of identity embeddings of generated vs ground-truth frames.

    ``compute`` returns ``{"aed", "missing_frame_rate"}`` (frames where either has no
    embedding are left out and counted).
    """

    higher_is_better = False

    def __init__(self, embed: EmbedFn, **kwargs):
        super().__init__(**kwargs)
        self.embed = embed
        self._add("distance_sum", "matched", "frames")

    def update(self, pred: Tensor, target: Tensor) -> None:
        _check_pair(pred, target)
        e_pred = np.concatenate([self.embed(v) for v in to_uint8_numpy(pred)])
        e_true = np.concatenate([self.embed(v) for v in to_uint8_numpy(target)])
        both = np.isfinite(e_pred).all(-1) & np.isfinite(e_true).all(-1)
        self.distance_sum += float(np.linalg.norm(e_pred[both] - e_true[both], axis=-1).sum())
        self.matched += int(both.sum())
        self.frames += len(both)

    def compute(self) -> dict[str, Tensor]:
        return {
            "aed": self.distance_sum / self.matched,
            "missing_frame_rate": 1 - self.matched / self.frames,
        }
