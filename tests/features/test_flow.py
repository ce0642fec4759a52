"""Flow estimators: the OpenCV ones recover a known shift; RAFT loads through the loader."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from stylevideo.features.flow import RAFTFlow, flow_estimator
from stylevideo.features.weights import MissingWeightsError


@pytest.mark.parametrize("name", ["dis", "farneback"])
def test_opencv_flow_recovers_a_translation(name):
    rng = np.random.default_rng(0)
    tex = cv2.GaussianBlur((rng.random((96, 96, 3)) * 255).astype(np.uint8), (7, 7), 2)
    a, b = tex[16:80, 16:80], tex[16:80, 14:78]  # content moves 2px right from a to b
    flow = flow_estimator(name)(a[None], b[None])[0]
    assert flow.shape == (64, 64, 2)
    assert np.median(flow[16:48, 16:48, 0]) == pytest.approx(2.0, abs=0.3)
    assert abs(np.median(flow[16:48, 16:48, 1])) < 0.3


def test_raft_loads_from_the_cache_folder(monkeypatch, tmp_path):
    from torchvision.models.optical_flow import raft_small

    torch.manual_seed(0)
    torch.save(raft_small(weights=None).state_dict(), tmp_path / "raft_small_C_T_V2-01064c6d.pth")
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(tmp_path))
    frames = np.random.default_rng(0).integers(0, 255, (1, 128, 128, 3), dtype=np.uint8)
    flow = RAFTFlow("raft_small", num_flow_updates=1)(frames, frames)
    assert flow.shape == (1, 128, 128, 2) and np.isfinite(flow).all()
    with pytest.raises(MissingWeightsError, match="raft_large.*download.pytorch.org"):
        flow_estimator("raft_large")
    with pytest.raises(ValueError, match="unknown flow estimator"):
        flow_estimator("flowformer")
