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


def test_fid_and_is_load_inception_from_the_cache_folder(inception_file, monkeypatch):
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(inception_file.parent))
    torch.manual_seed(0)
    real = torch.rand(1, 3, 3, 48, 48) * 2 - 1  # a video: its 3 frames are used
    fid = FID(reset_real_features=False)
    fid.update(real, real=True)
    fid.update(real[0], real=False)
    assert fid.real_features_num_samples == 3
    same = fid.compute().item()
    fid.reset()
    fid.update(real[0].flip(-1).roll(7, -2) * 0.3, real=False)
    assert abs(same) < 1e-3 * fid.compute().item()

    score = InceptionScoreMetric(splits=2)
    score.update(real[0, :2])
    score.update(real[0, 2:])
    mean, std = score.compute()
    assert mean.item() >= 1.0 and torch.equal(
        torch.stack(score.compute()), torch.stack((mean, std))
    )


def test_fid_names_the_missing_inception_file():
    with pytest.raises(
        MissingWeightsError, match="weights-inception-2015-12-05.*github.com/toshas"
    ):
        FID()
