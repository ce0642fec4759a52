"""L1, LPIPS, AKD/MKR and AED on videos with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models import AlexNet

from stylevideo.features.weights import MissingWeightsError
from stylevideo.metrics.animation import LPIPS, AverageEmbeddingDistance, KeypointDistance, PixelL1


def _square_video(positions, size=32, side=4) -> torch.Tensor:
    """[T, 3, H, W] in [-1, 1]: a white square at each (x, y) (None: an empty frame)."""
    video = -torch.ones(len(positions), 3, size, size)
    for t, pos in enumerate(positions):
        if pos is not None:
            x, y = pos
            video[t, :, y : y + side, x : x + side] = 1
    return video


def _square_centre(frames: np.ndarray) -> np.ndarray:
    """One keypoint per frame: the centre of the white pixels, NaN if there are none."""
    out = np.full((len(frames), 1, 2), np.nan)
    for i, f in enumerate(frames):
        ys, xs = np.nonzero(f[..., 0] > 128)
        if len(xs):
            out[i, 0] = xs.mean(), ys.mean()
    return out


def test_pixel_l1_is_in_unit_pixel_range():
    a = torch.rand(2, 3, 3, 8, 8) * 2 - 1
    metric = PixelL1()
    metric.update(a, a)
    assert metric.compute().item() == 0
    metric.update(a, (a + 0.4).clamp(max=1))
    expected = ((a + 0.4).clamp(max=1) - a).abs().mean().item() / 2 / 2  # two updates
    assert metric.compute().item() == pytest.approx(expected, rel=1e-6)


def test_akd_and_mkr_from_keypoints():
    truth = _square_video([(4, 4), (10, 6), (20, 20), (8, 8)])
    pred = _square_video([(7, 8), (10, 6), None, (8, 8)])  # 5 px off, exact, missing, exact
    metric = KeypointDistance(_square_centre)
    metric.update(pred[None], truth[None])
    out = metric.compute()
    assert out["akd"].item() == pytest.approx(5 / 3)
    assert out["mkr"].item() == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="one shape"):
        metric.update(pred[None], truth[None, :2])


def test_aed_skips_and_counts_frames_without_an_embedding():
    def mean_colour(frames):
        e = frames.reshape(len(frames), -1, 3).mean(1) / 255
        e[e.sum(-1) == 0] = np.nan
        return e

    truth = torch.full((1, 2, 3, 4, 4), 0.0)
    pred = truth.clone()
    pred[0, 0, 0] = 1.0  # red channel of frame 0 to 255 (from 128)
    pred[0, 1] = -1.0  # black frame: no embedding
    metric = AverageEmbeddingDistance(mean_colour)
    metric.update(pred, truth)
    out = metric.compute()
    assert out["aed"].item() == pytest.approx(127 / 255, rel=1e-6)
    assert out["missing_frame_rate"].item() == pytest.approx(0.5)


class _SquaredDifference(torch.nn.Module):
    """An LPIPS-network stand-in with the same interface: one distance per frame pair."""

    def forward(self, x, y):
        return (x - y).square().mean((1, 2, 3), keepdim=True)


def test_lpips_is_the_mean_over_frame_pairs():
    g = torch.Generator().manual_seed(0)
    a, b = (torch.rand(2, 3, 3, 8, 8, generator=g) * 2 - 1 for _ in range(2))
    metric = LPIPS(net=_SquaredDifference())
    metric.update(a, b)  # 6 frame pairs of two videos
    metric.update(b[0, :1], a[1, :1])  # and one pair of frames
    pairs = [(x, y) for x, y in zip(a.flatten(0, 1).numpy(), b.flatten(0, 1).numpy(), strict=True)]
    pairs.append((b[0, 0].numpy(), a[1, 0].numpy()))
    expected = np.mean([np.mean((x.astype(np.float64) - y) ** 2) for x, y in pairs])
    assert metric.compute().item() == pytest.approx(expected, rel=1e-6)


def test_lpips_loads_alexnet_from_the_cache_folder(tmp_path, monkeypatch):
    torch.manual_seed(0)
    with torch.device("meta"):  # LPIPS uses only the features: skip the classifier's init
        features = AlexNet().features
    features = features.to_empty(device="cpu")
    for layer in features:
        if isinstance(layer, torch.nn.Conv2d):
            layer.reset_parameters()
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    torch.save(state, tmp_path / "alexnet-owt-7be5be79.pth")
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(tmp_path))
    a = torch.rand(1, 2, 3, 64, 64) * 2 - 1
    metric = LPIPS()
    metric.update(a, a)
    assert metric.compute().item() == pytest.approx(0, abs=1e-6)
    metric.reset()
    metric.update(a, -a)
    assert metric.compute().item() > 1e-3
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(tmp_path / "empty"))
    with pytest.raises(MissingWeightsError, match="alexnet-owt"):
        LPIPS()
