"""Frechet distance between two Gaussians of features, and FVD (StyleGAN-V's protocol).

FD = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))   (Heusel et al. 2017, eq. 6;
used for FVD by Unterthiner et al. 2018). Everything is float64. The covariance is the
biased (divide by N) estimator, as in StyleGAN-V's ``FeatureStats.get_mean_cov``, which
is what the FVD numbers of styleinv (Table 1) and onestyle (Table 1-3) were computed with.
"""

from __future__ import annotations

import os
from copy import deepcopy

import torch
from einops import rearrange
from torch import Tensor, nn
from torchmetrics import Metric

from stylevideo.metrics.utils import to_uint8

__all__ = ["FrechetDistance", "FrechetVideoDistance", "frechet_distance"]


def _sqrtm_psd(a: Tensor) -> Tensor:
    vals, vecs = torch.linalg.eigh(a)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> Tensor:
    """FD between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    Tr (S1 S2)^(1/2) is the sum of the square roots of the eigenvalues of S1 S2, which are
    those of the symmetric PSD matrix L^T S2 L (S1 = L L^T, Cholesky; for a singular S1,
    L = S1^(1/2) from ``eigh``), so ``eigvalsh`` suffices: stable where
    ``scipy.linalg.sqrtm`` (the reference) returns complex noise, and at D = 2048 several
    times faster than a general eigendecomposition.
    """
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    factor, info = torch.linalg.cholesky_ex(sigma1)
    if info.item() != 0:
        factor = _sqrtm_psd(sigma1)
    inner = factor.T @ sigma2 @ factor
    tr_covmean = torch.linalg.eigvalsh((inner + inner.T) / 2).clamp(min=0).sqrt().sum()
    return (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * tr_covmean


class FrechetDistance(Metric):
    """FD between features of real and generated samples; states sum across DDP ranks.

    ``update(features [N, D], real)``. With ``reset_real_features=False`` the real
    statistics survive :meth:`reset`, so a training run computes them only once.
    """

    higher_is_better = False
    is_differentiable = False
    full_state_update = False

    def __init__(self, num_features: int, reset_real_features: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_features = num_features
        self.reset_real_features = reset_real_features
        for side in ("real", "fake"):
            self.add_state(f"{side}_sum", torch.zeros(num_features, dtype=torch.float64), "sum")
            self.add_state(f"{side}_outer", torch.zeros(num_features, num_features, dtype=torch.float64), "sum")
            self.add_state(f"{side}_count", torch.zeros((), dtype=torch.float64), "sum")

    def update(self, features: Tensor, real: bool) -> None:
        if features.ndim != 2 or features.shape[1] != self.num_features:
            raise ValueError(f"expected features [N, {self.num_features}], got {tuple(features.shape)}")
        x = features.detach().double()
        side = "real" if real else "fake"
        setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + x.sum(0))
        setattr(self, f"{side}_outer", getattr(self, f"{side}_outer") + x.T @ x)
        setattr(self, f"{side}_count", getattr(self, f"{side}_count") + x.shape[0])

    def mean_cov(self, real: bool) -> tuple[Tensor, Tensor]:
        """Mean and biased covariance of one side (StyleGAN-V's ``get_mean_cov``)."""
        side = "real" if real else "fake"
        n = getattr(self, f"{side}_count")
        mean = getattr(self, f"{side}_sum") / n
        return mean, getattr(self, f"{side}_outer") / n - torch.outer(mean, mean)

    @property
    def num_real(self) -> int:
        return int(self.real_count.item())

    def compute(self) -> Tensor:
        if self.real_count < 2 or self.fake_count < 2:
            raise RuntimeError(
                f"{type(self).__name__} needs at least 2 real and 2 generated samples, got "
                f"{int(self.real_count)} real and {int(self.fake_count)} generated"
            )
        return frechet_distance(*self.mean_cov(True), *self.mean_cov(False))

    def reset(self) -> None:
        if self.reset_real_features:
            super().reset()
            return
        kept = {k: deepcopy(getattr(self, k)) for k in ("real_sum", "real_outer", "real_count")}
        super().reset()
        for k, v in kept.items():
            setattr(self, k, v)


class FrechetVideoDistance(FrechetDistance):
    """FVD: FD of I3D logits of real and generated clips (StyleGAN-V, ``fvd2048_16f`` ...).

    ``update(videos, real)`` takes ``[B, T, 3, H, W]`` float in [-1, 1] (converted to
    uint8 exactly as StyleGAN-V does: ``(x * 127.5 + 128).clamp(0, 255)``) or uint8. The
    detector is the TorchScript I3D from the weight loader unless one is passed (tests
    and benchmarks pass an :class:`~stylevideo.features.i3d.I3D` with random weights);
    its ``num_features`` attribute, if any, sets the feature size (else I3D's 400).
    """

    def __init__(
        self,
        detector: nn.Module | None = None,
        detector_path: str | os.PathLike | None = None,
        **kwargs,
    ):
        if detector is None:
            from stylevideo.features.i3d import load_i3d

            detector = load_i3d(detector_path)
        super().__init__(getattr(detector, "num_features", 400), **kwargs)
        self.detector = detector.eval()
        for p in self.detector.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def features(self, videos: Tensor) -> Tensor:
        """I3D logits ``[B, 400]`` of ``[B, T, 3, H, W]`` videos."""
        if videos.ndim != 5 or videos.shape[2] not in (1, 3):
            raise ValueError(f"expected videos [B, T, 3, H, W], got {tuple(videos.shape)}")
        x = rearrange(to_uint8(videos), "b t c h w -> b c t h w")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1, -1)
        return self.detector(x, rescale=True, resize=True, return_features=True)

    def update(self, videos: Tensor, real: bool) -> None:
        FrechetDistance.update(self, self.features(videos), real)
