"""lia's video FID: G3AN's statistics (np.cov) and Frechet distance (scipy sqrtm), on the first
100 frames of each video."""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg

from stylevideo.metrics.video_fid import VideoFID


def g3an_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """A transcription of g3an-project evaluation/fid.py (calculate_activation_statistics,
    calculate_frechet_distance) in float64."""
    mu1, sigma1 = real.mean(0), np.cov(real, rowvar=False)
    mu2, sigma2 = fake.mean(0), np.cov(fake, rowvar=False)
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean.real))


class ColourStatistics(torch.nn.Module):
    """A feature network stand-in: per-channel mean and std of a video (the ResNeXt features
    themselves are tested in tests/features/test_resnext3d.py)."""

    num_features = 6

    def features(self, videos):
        return torch.cat([videos.mean(dim=(1, 3, 4)), videos.std(dim=(1, 3, 4))], dim=1)


def test_video_fid_is_g3ans_frechet_distance():
    g = torch.Generator().manual_seed(1)
    real = torch.rand(40, 4, 3, 8, 8, generator=g) * 2 - 1
    fake = (torch.rand(30, 4, 3, 8, 8, generator=g) * 2 - 1) * 0.8 + 0.1
    net = ColourStatistics()
    metric = VideoFID(network=net)
    for chunk in real.split(16):
        metric.update(chunk, real=True)
    for chunk in fake.split(16):
        metric.update(chunk, real=False)
    expected = g3an_fid(net.features(real).double().numpy(), net.features(fake).double().numpy())
    assert expected > 0.01
    np.testing.assert_allclose(float(metric.compute()), expected, rtol=1e-6)


class RecordingNetwork(torch.nn.Module):
    num_features = 2

    def __init__(self):
        super().__init__()
        self.lengths = []

    def features(self, videos):
        self.lengths.append(videos.shape[1])
        return videos.mean(dim=(1, 3, 4))[:, :2].double()


def test_video_fid_feeds_the_first_100_frames():
    net = RecordingNetwork()
    metric = VideoFID(network=net)
    long = torch.linspace(-1, 1, 120).view(1, 120, 1, 1, 1).expand(3, 120, 3, 2, 2) * torch.rand(3, 1, 1, 1, 1)
    metric.update(long, real=True)
    metric.update(long[:, :30], real=False)
    assert net.lengths == [100, 30]
    torch.testing.assert_close(metric.real_sum[0], long[:, :100, 0].mean(dim=(1, 2, 3)).double().sum())
