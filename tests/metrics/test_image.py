"""FID and IS: torchmetrics' metrics with torch-fidelity's Inception from the weight loader."""

from __future__ import annotations

import pytest
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
    fid.update(video[0], real=False)
    assert fid.real_features_num_samples == 2
    # The loaded network sees uint8 frames of the video: two distinct feature vectors...
    assert fid._mean_cov("real")[1].trace() > 1e-3
    # ...and the same ones for the same frames given as [N, 3, H, W].
    assert torch.equal(fid.fake_features_sum, fid.real_features_sum)
    assert InceptionScoreMetric().inception.features_list == ["logits_unbiased"]


class _Features(torch.nn.Module):
    num_features = 16

    def forward(self, x):
        x = x.float() / 255
        return torch.cat(
            [
                x.mean((2, 3)),
                x.std((2, 3)),
                x.amax((2, 3)),
                x[:, :, ::3, ::5].mean((2, 3)),
                x[:, 0, 0, :4],
            ],
            1,
        )


def test_fid_equals_torchmetrics_reference_computation():
    from torchmetrics.image.fid import _compute_fid

    torch.manual_seed(0)
    fid = FID(feature_net=_Features())
    fid.update(torch.rand(40, 3, 8, 8) * 2 - 1, real=True)
    fid.update(torch.rand(30, 3, 8, 8) * 1.5 - 1, real=False)
    reference = _compute_fid(*fid._mean_cov("real"), *fid._mean_cov("fake"))
    assert fid.compute().item() == pytest.approx(reference.item(), rel=1e-5)


class _Logits(torch.nn.Module):
    """Three classes, chosen by the dominant colour channel of the frame."""

    def forward(self, x):
        return x.float().mean((2, 3)) / 25.5  # uint8 input: 10 for a full channel


def test_inception_score_is_seeded_and_rewards_confident_diverse_classes():
    frames = -torch.ones(6, 3, 8, 8)
    for i in range(6):
        frames[i, i % 3] = 1.0  # two frames of each of three colours
    score = InceptionScoreMetric(feature_net=_Logits(), splits=1)
    score.update(frames)
    mean, _ = score.compute()
    assert mean.item() == pytest.approx(3.0, rel=1e-2)  # confident and uniform: IS = #classes
    assert torch.equal(score.compute()[0], mean)
    single = InceptionScoreMetric(feature_net=_Logits(), splits=1)
    single.update(frames[::3])  # one colour only
    assert single.compute()[0].item() == pytest.approx(1.0, rel=1e-2)


def test_fid_names_the_missing_inception_file():
    with pytest.raises(MissingWeightsError, match="weights-inception-2015-12-05.*github.com/toshas"):
        FID()
