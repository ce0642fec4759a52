"""Frame metrics: FID (styleinv Table 1, vidstyleode Table 1) and IS (vidstyleode Table 1).

Both accumulate through torchmetrics' metrics with torch-fidelity's Inception-v3 (weights
through the loader, TF1-compatible bilinear resize to 299). Inputs are frames
``[N, 3, H, W]`` (or videos ``[B, T, 3, H, W]``, whose frames are all used) in [-1, 1], or
uint8. Which frames: :class:`~stylevideo.callbacks.metrics.FrameMetrics`.

Where the reference differs from torchmetrics' own ``compute``, the reference is computed:

- FID: the biased (1/N) covariance of StyleGAN-V / StyleInV's ``FeatureStats.get_mean_cov``
  (stylegan-v ``src/metrics/metric_utils.py:122-127``), not torchmetrics' unbiased (1/(N-1))
  one; the distance itself with the symmetric eigendecomposition of
  :func:`~stylevideo.metrics.frechet.frechet_distance` (equal to ``scipy.linalg.sqrtm``'s).
- IS: torch-fidelity's ``isc_features_to_metric`` (float64; split ``i`` is samples
  ``i N / splits`` to ``(i + 1) N / splits`` after a seeded shuffle; ``np.std``, the biased
  standard deviation of StyleGAN-V ``src/metrics/inception_score.py:39-45`` and of the
  original code), not torchmetrics' unbiased ``std`` over ``chunk`` splits.
"""

from __future__ import annotations

import os

import torch
from einops import rearrange
from torch import Tensor, nn
from torch_fidelity.metric_isc import isc_features_to_metric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.utilities import dim_zero_cat

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
    """FID on 2048-d pool features; ``update(frames, real)``.

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
            from stylevideo.features.inception import INCEPTION_WEIGHTS
            from stylevideo.features.weights import resolve_weights

            path = str(resolve_weights(INCEPTION_WEIGHTS, weights_path))
            kwargs.update(feature=2048, feature_extractor_weights_path=path, antialias=False)
        else:
            kwargs.update(feature=feature_net)
        super().__init__(reset_real_features=reset_real_features, **kwargs)

    def update(self, imgs: Tensor, real: bool) -> None:
        with torch.no_grad():
            super().update(as_frames(imgs).to(self.device), real)

    def mean_cov(self, real: bool) -> tuple[Tensor, Tensor]:
        """Mean and biased covariance of one side (StyleGAN-V's ``get_mean_cov``)."""
        side = "real" if real else "fake"
        n = getattr(self, f"{side}_features_num_samples").double()
        mean = getattr(self, f"{side}_features_sum") / n
        return mean, getattr(self, f"{side}_features_cov_sum") / n - torch.outer(mean, mean)

    def compute(self) -> Tensor:
        if self.real_features_num_samples < 2 or self.fake_features_num_samples < 2:
            raise RuntimeError("FID needs at least 2 real and 2 generated frames")
        return frechet_distance(*self.mean_cov(True), *self.mean_cov(False))


class InceptionScoreMetric(InceptionScore):
    """IS (mean, std over ``splits``) on Inception's unbiased logits, computed by torch-fidelity.

    ``seed`` seeds the shuffle before splitting, so the same samples give the same score.
    ``update(frames, index)``: with each frame's global number ``index``, the samples are put
    in that order before the shuffle, so the splits (and the score) do not depend on how the
    frames were shared among DDP ranks.
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
        self.add_state("index", [], dist_reduce_fx=None)

    def update(self, imgs: Tensor, index: Tensor | None = None) -> None:
        frames = as_frames(imgs).to(self.device)
        if index is not None:
            if len(index) != len(frames):
                raise ValueError(f"{len(index)} indices for {len(frames)} frames")
            self.index.append(index.to(self.device))
        with torch.no_grad():
            super().update(frames)

    def compute(self) -> tuple[Tensor, Tensor]:
        features = dim_zero_cat(self.features)
        if self.index:
            index = dim_zero_cat(self.index)
            if len(index) != len(features):
                raise RuntimeError("give every update of InceptionScoreMetric an index, or none")
            features = features[index.argsort()]
        if len(features) < self.splits:
            raise RuntimeError(f"IS needs at least {self.splits} samples, got {len(features)}")
        out = isc_features_to_metric(features, splits=self.splits, shuffle=True, rng_seed=self.seed)
        return tuple(torch.tensor(out[k], dtype=torch.float64) for k in ("inception_score_mean", "inception_score_std"))
