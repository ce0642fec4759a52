"""Warping error: Lai et al.'s definition by hand, zero for a static video, larger for shuffled frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from clip_io import as_video, read_clip

from stylevideo.metrics.warping import WarpingError, occlusion_mask, video_warping_error


@pytest.fixture(scope="module")
def talking(real_data) -> np.ndarray:
    return read_clip(real_data / "voxceleb" / "talking_a.mp4", range(100, 110), size=64)


def test_error_is_lai_et_al_s_mean_over_valid_pixels_and_channels():
    """A 3-frame clip with known flows, computed by hand as Lai et al.'s evaluate_WarpError.py
    does: sum of squared differences over the valid pixels and channels / (3 x valid pixels);
    a pair with every pixel occluded scores 0 and counts in the video's mean."""
    frames = np.random.default_rng(0).integers(0, 256, (3, 4, 6, 3), dtype=np.uint8)
    # pair 0: one pixel right everywhere, except (y=1, x=4), which also moves one down
    fw0 = np.zeros((4, 6, 2), np.float32)
    fw0[..., 0] = 1
    fw0[1, 4, 1] = 1
    bw0 = np.zeros((4, 6, 2), np.float32)
    bw0[..., 0] = -1
    bw0[:, 3, 0] = 0  # column 3 of frame 1 does not come back: column 2 fails the check
    # pair 1: forward and backward flows point the same way: every pixel fails the check
    fw1 = np.zeros((4, 6, 2), np.float32)
    fw1[..., 0] = 1
    flows = {True: np.stack([fw0, fw1]), False: np.stack([bw0, fw1])}

    def flow(a, b):
        return flows[np.array_equal(a, frames[:-1])]

    # Occluded in pair 0: column 2 (|F + B~|^2 = 1 > 0.51), and the forward differences of
    # F_y around (1, 4) mark (1, 3), (0, 4) and (1, 4) as motion boundary (1 > 0.012).
    expected_occluded = np.zeros((4, 6), bool)
    expected_occluded[:, 2] = True
    expected_occluded[1, 3] = expected_occluded[0, 4] = expected_occluded[1, 4] = True
    assert np.array_equal(occlusion_mask(fw0, bw0), expected_occluded)
    a, b = frames[0] / 255.0, frames[1] / 255.0
    total, valid = 0.0, 0
    for y in range(4):
        for x in range(6):
            if expected_occluded[y, x]:
                continue
            warped = b[y, min(x + 1, 5)]  # x + 1 = 6 is clamped to the border, as Resample2d does
            total += float(np.sum((warped - a[y, x]) ** 2))
            valid += 1
    assert valid == 17
    pair0 = total / (3 * valid)
    err, occluded = video_warping_error(frames, flow)
    assert occluded == 1
    assert err == pytest.approx((pair0 + 0.0) / 2, rel=1e-6)
    metric = WarpingError(flow=flow)
    metric.update(torch.from_numpy(frames).permute(0, 3, 1, 2)[None])
    out = metric.compute()
    assert out["warping_error"].item() == pytest.approx(pair0 / 2, rel=1e-6)
    assert out["occluded_pairs"].item() == 1


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
    unwarped = np.mean(np.square(frames[1:] / 255.0 - frames[:-1] / 255.0))  # mean over channels too
    assert skipped == 0 and err < 0.1 * unwarped


def test_rejects_single_frames():
    with pytest.raises(ValueError, match="T>=2"):
        WarpingError().update(torch.zeros(1, 1, 3, 8, 8))
