"""Frechet distance against scipy, and FVD plumbing with a tiny I3D stand-in."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from clip_io import as_video, read_clip

from stylevideo.features.weights import MissingWeightsError
from stylevideo.metrics.frechet import FrechetDistance, FrechetVideoDistance, frechet_distance


def _scipy_fd(mu1, s1, mu2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean.real))


def _stats(x: np.ndarray):
    return x.mean(0), np.cov(x, rowvar=False, bias=True)


def test_frechet_distance_equals_scipy_reference():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 24))
    b = rng.normal(loc=0.3, scale=1.5, size=(150, 24)) @ rng.normal(size=(24, 24))
    (mu1, s1), (mu2, s2) = _stats(a), _stats(b)
    ours = frechet_distance(*(torch.from_numpy(t) for t in (mu1, s1, mu2, s2)))
    assert ours.dtype == torch.float64
    assert ours.item() == pytest.approx(_scipy_fd(mu1, s1, mu2, s2), rel=1e-9)
    back = frechet_distance(*(torch.from_numpy(t) for t in (mu2, s2, mu1, s1)))
    assert back.item() == pytest.approx(ours.item(), rel=1e-9)
    same = frechet_distance(*(torch.from_numpy(t) for t in (mu1, s1, mu1, s1)))
    assert abs(same.item()) < 1e-9


def test_frechet_distance_of_rank_deficient_covariances_equals_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(10, 24)), rng.normal(loc=0.5, size=(12, 24))  # N < D: singular
    (mu1, s1), (mu2, s2) = _stats(a), _stats(b)
    ours = frechet_distance(*(torch.from_numpy(t) for t in (mu1, s1, mu2, s2))).item()
    assert ours == pytest.approx(_scipy_fd(mu1, s1, mu2, s2), rel=1e-6)


def test_metric_accumulates_the_biased_statistics_of_stylegan_v():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(90, 8)), rng.normal(loc=1.0, size=(70, 8))
    metric = FrechetDistance(num_features=8)
    for chunk in np.array_split(real, 4):
        metric.update(torch.from_numpy(chunk).float(), real=True)
    for chunk in np.array_split(fake, 3):
        metric.update(torch.from_numpy(chunk).float(), real=False)
    as_fed = [x.astype(np.float32).astype(np.float64) for x in (real, fake)]
    expected = _scipy_fd(*_stats(as_fed[0]), *_stats(as_fed[1]))
    assert metric.compute().item() == pytest.approx(expected, rel=1e-7)
    with pytest.raises(ValueError, match=r"\[N, 8\]"):
        metric.update(torch.zeros(3, 5), real=True)


def test_real_statistics_can_survive_reset():
    metric = FrechetDistance(num_features=4, reset_real_features=False)
    metric.update(torch.randn(10, 4), real=True)
    metric.update(torch.randn(10, 4), real=False)
    metric.reset()
    assert metric.num_real == 10 and metric.fake_count.item() == 0
    with pytest.warns(UserWarning, match="before the ``update``"):
        with pytest.raises(RuntimeError, match="2 generated"):
            metric.compute()


@pytest.fixture(scope="module")
def real_clips(real_data) -> torch.Tensor:
    """24 clips of 16 frames (32x32) from a real talking head: [24, 16, 3, 32, 32]."""
    frames = read_clip(real_data / "voxceleb" / "talking_a.mp4", range(24 * 16), size=32)
    return as_video(frames).reshape(24, 16, 3, 32, 32)


def test_fvd_real_vs_real_is_small_and_real_vs_noise_large(tiny_i3d, real_clips):
    fvd = FrechetVideoDistance(detector=tiny_i3d)
    fvd.update(real_clips[0::2], real=True)
    fvd.update(real_clips[1::2], real=False)
    real_vs_real = fvd.compute().item()
    fvd.reset()
    fvd.update(real_clips[0::2], real=True)
    fvd.update(torch.rand_like(real_clips[1::2]) * 2 - 1, real=False)
    real_vs_noise = fvd.compute().item()
    assert 0 <= real_vs_real < 0.1 * real_vs_noise


def test_fvd_input_is_stylegan_v_uint8_and_float_agrees(tiny_i3d, real_clips):
    fvd = FrechetVideoDistance(detector=tiny_i3d)
    as_uint8 = ((real_clips[:2] + 1) * 127.5).round().to(torch.uint8)
    assert torch.equal(fvd.features(real_clips[:2]), fvd.features(as_uint8))
    with pytest.raises(ValueError, match=r"\[B, T, 3, H, W\]"):
        fvd.update(real_clips[0], real=True)


def test_fvd_loads_the_torchscript_detector_through_the_loader(
    scripted_tiny_i3d, tiny_i3d, real_clips, monkeypatch, tmp_path
):
    fvd = FrechetVideoDistance(detector_path=scripted_tiny_i3d)
    expected = FrechetVideoDistance(tiny_i3d).features(real_clips[:2])
    assert torch.allclose(fvd.features(real_clips[:2]), expected, atol=1e-5)
    # From the cache folder by its registered file name.
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(scripted_tiny_i3d.parent))
    assert isinstance(FrechetVideoDistance().detector, torch.jit.ScriptModule)
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(tmp_path))
    with pytest.raises(MissingWeightsError, match=r"i3d_torchscript\.pt.*dropbox"):
        FrechetVideoDistance()
