"""FID and IS against independent float64 transcriptions of StyleGAN-V's reference code,
and Inception-v3 loaded through the weight loader."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from stylevideo.features.weights import MissingWeightsError
from stylevideo.metrics.image import FID, InceptionScoreMetric


class _RandomInception(FeatureExtractorInceptionV3):
    """torch-fidelity's architecture with its random initialisation (nothing loaded)."""

    def load_state_dict(self, state_dict, strict=True, assign=False):
        return None


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("w")
    torch.save({}, folder / "empty.pth")
    torch.manual_seed(0)
    net = _RandomInception("inception-v3-compat", ["2048"], str(folder / "empty.pth"))
    for m in net.modules():  # variance-preserving init, so random features do not vanish
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    path = folder / "weights-inception-2015-12-05-6726825d.pth"
    torch.save(net.state_dict(), path)
    return path


def test_fid_loads_inception_from_the_cache_folder(inception_file, monkeypatch):
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(inception_file.parent))
    torch.manual_seed(0)
    video = torch.rand(1, 2, 3, 48, 48) * 2 - 1  # a video: its 2 frames are used
    fid = FID()
    fid.update(video, real=True)
    fid.update(video[0], real=False)  # the same frames as [N, 3, H, W]: the same features
    assert fid.real_features_num_samples == 2
    assert torch.equal(fid.fake_features_sum, fid.real_features_sum)
    # The loaded network sees the pixels: two frames, two distinct feature vectors (no FID
    # computed: a 2048-d Frechet distance of two samples is seconds of eigendecomposition).
    assert fid.mean_cov(True)[1].trace() > 1e-3
    assert InceptionScoreMetric().inception.features_list == ["logits_unbiased"]


def _uint8(x: torch.Tensor) -> np.ndarray:
    """StyleGAN-V's conversion of [-1, 1] frames, written out: floor(x * 127.5 + 128) in [0, 255]."""
    return np.clip(np.floor(x.double().numpy() * 127.5 + 128), 0, 255).astype(np.uint8)


class _Features(torch.nn.Module):
    """An Inception stand-in: uint8 frames [N, 3, H, W] -> 16 features."""

    num_features = 16

    def forward(self, x):
        x = x.float() / 255
        parts = [x.mean((2, 3)), x.std((2, 3)), x.amax((2, 3)), x[:, :, ::3, ::5].mean((2, 3)), x[:, 0, 0, :4]]
        return torch.cat(parts, 1)


def _stylegan_v_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """stylegan-v src/metrics/metric_utils.py:122-127 (biased covariance) and
    frechet_inception_distance.py:49-51, in float64."""

    def mean_cov(x):
        x = x.astype(np.float32).astype(np.float64)  # FeatureStats.append takes float32
        mean = x.sum(0) / len(x)
        return mean, x.T @ x / len(x) - np.outer(mean, mean)

    (mu_real, sigma_real), (mu_gen, sigma_gen) = mean_cov(real), mean_cov(fake)
    m = np.square(mu_gen - mu_real).sum()
    s, _ = scipy.linalg.sqrtm(np.dot(sigma_gen, sigma_real), disp=False)
    return float(np.real(m + np.trace(sigma_gen + sigma_real - s * 2)))


def test_fid_equals_stylegan_v_reference_on_independently_computed_features():
    torch.manual_seed(0)
    real = torch.rand(40, 3, 8, 8) * 2 - 1
    fake = (torch.rand(5, 6, 3, 8, 8) * 1.5 - 1).clamp(-1, 1)  # videos: all 30 frames count
    net = _Features()
    fid = FID(feature_net=net)
    for chunk in real.split(16):
        fid.update(chunk, real=True)
    fid.update(fake, real=False)
    with torch.no_grad():
        f_real = net(torch.from_numpy(_uint8(real))).double().numpy()
        f_fake = net(torch.from_numpy(_uint8(fake.flatten(0, 1)))).double().numpy()
    assert fid.compute().item() == pytest.approx(_stylegan_v_fid(f_real, f_fake), rel=1e-6)


class _Logits(torch.nn.Module):
    """Five logits per frame, a fixed linear map of its mean colour and brightness spread."""

    def forward(self, x):
        x = x.float() / 255
        stats = torch.cat([x.mean((2, 3)), x.std((2, 3))], 1)
        weight = torch.linspace(-4, 4, 30).view(6, 5)
        return stats @ weight * 4


def test_inception_score_mean_and_biased_std_equal_the_reference():
    """stylegan-v src/metrics/inception_score.py:39-45 (np.std: biased), after
    torch-fidelity's seeded shuffle (np.random.RandomState(seed).permutation)."""
    torch.manual_seed(0)
    frames = (torch.rand(42, 3, 1, 1) * 2 - 1 + 0.2 * torch.randn(42, 3, 8, 8)).clamp(-1, 1)  # one colour each
    metric = InceptionScoreMetric(feature_net=_Logits(), splits=4, seed=7)
    metric.update(frames[:20])
    metric.update(frames[20:])
    mean, std = metric.compute()
    with torch.no_grad():
        logits = _Logits()(torch.from_numpy(_uint8(frames))).double().numpy()
    logits = logits[np.random.RandomState(7).permutation(len(logits))]
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    n, scores = len(probs), []
    for i in range(4):
        part = probs[i * n // 4 : (i + 1) * n // 4]
        kl = part * (np.log(part) - np.log(np.mean(part, axis=0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, axis=1))))
    assert np.std(scores) > 1e-3  # the splits differ, so biased and unbiased std differ by 15%
    assert mean.item() == pytest.approx(np.mean(scores), rel=1e-9)
    assert std.item() == pytest.approx(np.std(scores), rel=1e-9)
    with pytest.raises(RuntimeError, match="at least 10 samples"):
        short = InceptionScoreMetric(feature_net=_Logits())
        short.update(frames[:3])
        short.compute()


class _Colour(torch.nn.Module):
    """Three classes, chosen by the dominant colour channel of the frame."""

    def forward(self, x):
        return x.float().mean((2, 3)) / 25.5  # uint8 input: 10 for a full channel


def test_inception_score_rewards_confident_diverse_classes():
    frames = -torch.ones(6, 3, 8, 8)
    for i in range(6):
        frames[i, i % 3] = 1.0  # two frames of each of three colours
    score = InceptionScoreMetric(feature_net=_Colour(), splits=1)
    score.update(frames)
    mean, _ = score.compute()
    assert mean.item() == pytest.approx(3.0, rel=1e-2)  # confident and uniform: IS = #classes
    single = InceptionScoreMetric(feature_net=_Colour(), splits=1)
    single.update(frames[::3])  # one colour only
    assert single.compute()[0].item() == pytest.approx(1.0, rel=1e-2)


def test_fid_names_the_missing_inception_file():
    with pytest.raises(MissingWeightsError, match="weights-inception-2015-12-05.*github.com/toshas"):
        FID()
