"""LiA arithmetic (onestyle 5.2) and identity similarity bookkeeping, without dlib."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylevideo.metrics.face import (
    IdentitySimilarity,
    LiACorrelation,
    fill_missing,
    lip_area,
    polygon_area,
)


def _no_face(frames):
    return np.full((len(frames), 68, 2), np.nan)


def test_lip_area_is_the_mouth_polygon_area():
    landmarks = np.zeros((1, 68, 2))
    t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    landmarks[0, 48:60] = np.stack([10 + 4 * np.cos(t), 20 + 2 * np.sin(t)], -1)  # outer lip
    landmarks[0, 60:68] = [[0, 0], [1, 0], [2, 0], [3, 0], [3, 1], [2, 1], [1, 1], [0, 1]]
    assert lip_area(landmarks)[0] == pytest.approx(0.5 * 12 * 4 * 2 * np.sin(2 * np.pi / 12))
    assert lip_area(landmarks, "inner")[0] == pytest.approx(3.0)
    assert polygon_area(np.array([[0, 0], [2, 0], [2, 2], [0, 2]]))[()] == 4
    with pytest.raises(ValueError, match="outer"):
        lip_area(landmarks, "teeth")


def test_missing_frames_are_interpolated():
    filled = fill_missing(np.array([np.nan, 1.0, np.nan, 3.0, np.nan]))
    assert filled.tolist() == [1.0, 1.0, 2.0, 3.0, 3.0]


def test_lia_r_is_the_mean_pairwise_correlation_within_groups():
    t = np.arange(40, dtype=float)
    base = np.sin(t / 3)
    group_a = [base, 2 * base + 5, -base]  # pairs: 1, -1, -1
    with_gap = base.copy()
    with_gap[[3, 17]] = np.nan  # two missing faces, interpolated
    group_b = [base, with_gap, np.full(40, np.nan)]  # third video: no face, skipped
    metric = LiACorrelation(landmarks=_no_face)
    metric.update(signals=np.stack([group_a, group_b]))
    out = metric.compute()
    r_gap = np.corrcoef(base, fill_missing(with_gap))[0, 1]
    assert out["lia_r"].item() == pytest.approx((1 - 1 - 1 + r_gap) / 4)
    assert out["skipped_videos"].item() == 1
    assert out["missing_frame_rate"].item() == pytest.approx(42 / 240)
    with pytest.raises(ValueError, match="K>=2"):
        metric.update(torch.zeros(1, 1, 4, 3, 8, 8))


def test_identity_similarity_counts_frames_without_faces():
    def embed(frames):  # identity = mean colour; black frames have no face
        e = frames.reshape(len(frames), -1, 3).mean(1).astype(float) + 1e-3
        e[frames.reshape(len(frames), -1).max(1) == 0] = np.nan
        return e

    video = torch.zeros(1, 4, 3, 4, 4)
    video[0, :, 0] = 0.5
    video[0, 2] = -1  # black: missing
    video[0, 3, 1] = 0.5  # a different colour: similarity < 1
    metric = IdentitySimilarity(embed=embed)
    metric.update(video)
    metric.update(-torch.ones(1, 3, 3, 4, 4))  # no face in the first frame: skipped
    out = metric.compute()
    e = embed(((video[0] + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy())
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    sims = np.array([e[1] @ e[0], e[3] @ e[0]])
    assert out["mean"].item() == pytest.approx(sims.mean())
    assert out["std"].item() == pytest.approx(sims.std(), abs=1e-6)
    assert out["skipped_videos"].item() == 1 and out["missing_frame_rate"].item() == pytest.approx(4 / 7)
