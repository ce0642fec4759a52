"""Frame metrics: FID (styleinv Table 1, vidstyleode Table 1) and IS (vidstyleode Table 1).

Both are torchmetrics' own metrics with torch-fidelity's Inception-v3 resolved through the
weight loader. Inputs are frames ``[N, 3, H, W]`` (or videos ``[B, T, 3, H, W]``, whose
frames are all used) in [-1, 1], or uint8. The callbacks decide which frames: styleinv's
``fid50k`` takes 50k frames of the generated and real clips, vidstyleode one frame per video.
FID here is torchmetrics' estimator (unbiased covariance, N-1; at 50k frames it differs
from StyleGAN-V's biased one by a relative 2e-5); the distance itself is computed with the
symmetric eigendecomposition of :func:`~stylevideo.metrics.frechet.frechet_distance`
(torchmetrics' general ``eigvals`` of a 2048x2048 product takes ~10x longer; same value).
"""

from __future__ import annotations

import os

import torch
from einops import rearrange
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore

from stylevideo.metrics.frechet import frechet_distance
from stylevideo.metrics.utils import to_uint8

__all__ = ["FID", "InceptionScoreMetric", "as_frames"]


def as_frames(x: Tensor) -> Tensor:
    """``[B, T, C, H, W]`` or ``[N, C, H, W]`` to uint8 frames ``[N, C, H, W]``."""
    if x.ndim == 5:
        x = rearrange(x, "b t c h w -> (b t) c h w")
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected frames [N, 3, H, W] or videos [B, T, 3, H, W], got {tuple(x.shape)}")
    return to_uint8(x)


class FID(FrechetInceptionDistance):
    """torchmetrics FID on 2048-d pool features; ``update(frames, real)``.

    ``feature_net`` replaces the Inception (tests pass a small network returning ``[N, D]``).
    """

    def __init__(
        self,
        weights_path: str | os.PathLike | None = None,
        feature_net: nn.Module | None = None,
        reset_real_features: bool = True,
        **kwargs,
    ):
        if feature_net is None:
            from stylevideo.features.inception import inception_v3

            feature_net = inception_v3("2048", weights_path)
        super().__init__(feature=feature_net, reset_real_features=reset_real_features, **kwargs)

    def update(self, imgs: Tensor, real: bool) -> None:
        with torch.no_grad():
            super().update(as_frames(imgs), real)

    def _mean_cov(self, side: str) -> tuple[Tensor, Tensor]:
        n = getattr(self, f"{side}_features_num_samples")
        mean = getattr(self, f"{side}_features_sum") / n
        cov = getattr(self, f"{side}_features_cov_sum") - n * torch.outer(mean, mean)
        return mean, cov / (n - 1)

    def compute(self) -> Tensor:
        if self.real_features_num_samples < 2 or self.fake_features_num_samples < 2:
            raise RuntimeError("FID needs at least 2 real and 2 generated frames")
        fid = frechet_distance(*self._mean_cov("real"), *self._mean_cov("fake"))
        return fid.to(self.orig_dtype)


class InceptionScoreMetric(InceptionScore):
    """torchmetrics IS (mean, std over ``splits``) on Inception's unbiased logits.

    torchmetrics shuffles the samples before splitting; the shuffle is seeded here
    (``seed``) so the same samples give the same score.
    """

    def __init__(
        self,
        weights_path: str | os.PathLike | None = None,
        feature_net: nn.Module | None = None,
        splits: int = 10,
        seed: int = 0,
        **kwargs,
    ):
        if feature_net is None:
            from stylevideo.features.inception import inception_v3

            feature_net = inception_v3("logits_unbiased", weights_path)
        super().__init__(feature=feature_net, splits=splits, **kwargs)
        self.seed = seed

    def update(self, imgs: Tensor) -> None:
        with torch.no_grad():
            super().update(as_frames(imgs))

    def compute(self) -> tuple[Tensor, Tensor]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return super().compute()
