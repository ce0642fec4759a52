"""Warping error: zero for a static video, larger for shuffled frames; the occlusion check."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from clip_io import as_video, read_clip

from stylevideo.metrics.warping import WarpingError, occlusion_mask, video_warping_error


@pytest.fixture(scope="module")
def talking(real_data) -> np.ndarray:
    return read_clip(real_data / "voxceleb" / "talking_a.mp4", range(100, 110), size=64)


def test_forward_backward_check_flags_inconsistent_flow():
    forward = np.zeros((16, 16, 2), np.float32)
    forward[..., 0] = 2.0
    consistent = -forward
    occluded = occlusion_mask(forward, consistent)
    assert not occluded[:, :13].any() and occluded[:, 14:].all()  # carried out of frame
    assert occlusion_mask(forward, np.zeros_like(forward)).all()


@pytest.mark.parametrize("flow", ["dis", "farneback"])
def test_static_video_is_near_zero_and_shuffled_frames_larger(talking, flow):
    def error(frames):
        metric = WarpingError(flow=flow)
        metric.update(as_video(frames)[None])
        return metric.compute()["warping_error"].item()

    natural = error(talking)
    shuffled = talking[np.random.default_rng(0).permutation(len(talking))]
    assert error(np.repeat(talking[:1], 6, axis=0)) < 0.1 * natural
    assert error(shuffled) > 1.2 * natural


def test_a_translated_texture_is_explained_by_the_flow():
    rng = np.random.default_rng(0)
    texture = (rng.random((80, 80, 3)) * 255).astype(np.uint8)
    import cv2

    texture = cv2.GaussianBlur(texture, (7, 7), 2)
    frames = np.stack([texture[8 - s : 72 - s, 8:72] for s in range(4)])  # moves down 1px/frame
    err, skipped = video_warping_error(frames, WarpingError().flow)
    unwarped = np.mean(np.square(frames[1:] / 255.0 - frames[:-1] / 255.0).sum(-1))
    assert skipped == 0 and err < 0.1 * unwarped


def test_rejects_single_frames():
    with pytest.raises(ValueError, match="T>=2"):
        WarpingError().update(torch.zeros(1, 1, 3, 8, 8))
