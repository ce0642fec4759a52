"""The skeleton-based action recogniser (onestyle Tables 2-3): keypoints -> temporal CNN,
trained with Lightning on a synthetic keypoint-motion task, named when loaded."""

from __future__ import annotations

import numpy as np
import torch
from lightning import __version__ as lightning_version
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader

from stylevideo.metrics.action import ActionAccuracy, ActionRecognizerModule
from stylevideo.metrics.skeleton_action import (
    CachedKeypoints,
    SkeletonActionModule,
    keypoint_sequences,
    load_action_recognizer,
)

SIZE, FRAMES, POINTS = 24, 12, 5
OFFSETS = np.array([[0, 0], [3, 0], [-3, 0], [0, 3], [0, -3]], dtype=np.float64)


def bright_spot_keypoints(frames: np.ndarray) -> np.ndarray:
    """A pose-estimator stand-in (same interface): 5 points around the bright spot's centroid;
    the last point is missing where the spot is in the left half of the frame."""
    weight = frames.astype(np.float64).mean(-1)
    weight = np.where(weight > 128, weight, 0)
    ys, xs = np.mgrid[: frames.shape[1], : frames.shape[2]]
    total = weight.sum((1, 2))[:, None]
    centroid = np.stack([(weight * xs).sum((1, 2)), (weight * ys).sum((1, 2))], -1) / total
    points = centroid[:, None] + OFFSETS[None]
    points[centroid[:, 0] < frames.shape[2] / 2, -1] = np.nan
    return points


def motion_videos(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A 3x3 bright spot moving left-right (class 0), up-down (1) or in a circle (2), with random
    centre, amplitude and phase: ``[n, T, 3, S, S]`` in [-1, 1] and the labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    videos = -np.ones((n, FRAMES, 3, SIZE, SIZE), dtype=np.float32)
    t = np.arange(FRAMES)
    for i, label in enumerate(labels):
        cx, cy = rng.uniform(8, 16, 2)
        amp, phase = rng.uniform(3, 5), rng.uniform(0, 2 * np.pi)
        wave, other = np.sin(2 * np.pi * t / FRAMES + phase) * amp, np.cos(2 * np.pi * t / FRAMES + phase) * amp
        dx, dy = [(wave, 0 * t), (0 * t, wave), (wave, other)][label]
        for j in range(FRAMES):
            x, y = int(round(cx + dx[j])), int(round(cy + dy[j]))
            videos[i, j, :, y - 1 : y + 2, x - 1 : x + 2] = 1.0
    return torch.from_numpy(videos), torch.from_numpy(labels)


def test_keypoint_sequences_are_normalised_per_video_with_visibility():
    videos, _ = motion_videos(2, seed=0)
    seq = keypoint_sequences(bright_spot_keypoints, videos)
    assert seq.shape == (2, FRAMES, POINTS, 3)
    seen = seq[..., 2:] > 0
    raw = torch.as_tensor(
        bright_spot_keypoints(((videos.flatten(0, 1) + 1) * 127.5).byte().permute(0, 2, 3, 1).numpy())
    )
    assert torch.equal(seen[..., 0].flatten(0, 1), torch.isfinite(raw).all(-1))
    x = seq[..., :2]
    assert torch.allclose((x * seen).sum(dim=(1, 2)), torch.zeros(2, 2), atol=1e-4)  # centred
    rms = ((x * seen).square().sum(dim=(1, 2, 3)) / seen.sum(dim=(1, 2, 3))).sqrt()
    assert torch.allclose(rms, torch.ones(2), atol=1e-4)  # unit spread
    assert torch.equal(x[~seen.expand_as(x)], torch.zeros_like(x[~seen.expand_as(x)]))


def test_cached_keypoints_run_the_pose_network_once_per_distinct_frame():
    calls = []

    def counting(frames):
        calls.append(len(frames))
        return bright_spot_keypoints(frames)

    cached = CachedKeypoints(counting)
    frames = np.random.default_rng(1).integers(0, 256, (9, SIZE, SIZE, 3), dtype=np.uint8)
    first = cached(frames[:6])
    again = cached(frames[3:9])
    assert calls == [6, 3]
    np.testing.assert_array_equal(again[:3], first[3:])


def test_the_recogniser_learns_keypoint_motion_well_above_chance(tmp_path):
    torch.manual_seed(0)
    videos, labels = motion_videos(72, seed=2)
    train = [{"frames": videos[i : i + 8], "action": labels[i : i + 8]} for i in range(0, 72, 8)]
    model = SkeletonActionModule(3, num_points=POINTS, width=16, blocks=2, lr=1e-2, keypoints=bright_spot_keypoints)
    test_videos, test_labels = motion_videos(45, seed=3)

    def accuracy(recogniser) -> float:
        metric = ActionAccuracy(recogniser, num_classes=3, top_k=(1,))
        with torch.no_grad():
            metric.update(test_videos, test_labels)
        return float(metric.compute()["top1"])

    assert accuracy(model.recognizer()) < 0.5  # untrained: about chance (1/3)
    trainer = Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, DataLoader(train, batch_size=None, shuffle=False))
    ckpt = tmp_path / "skeleton.ckpt"
    trainer.save_checkpoint(ckpt)

    recogniser = load_action_recognizer(ckpt, keypoints=bright_spot_keypoints)
    assert recogniser.description.startswith("skeleton")
    assert accuracy(recogniser) > 0.8  # held-out videos


def test_rgb_recogniser_checkpoints_load_with_their_name(tmp_path):
    torch.manual_seed(0)
    model = ActionRecognizerModule(3, width=8, size=16)
    path = tmp_path / "rgb.ckpt"
    torch.save(
        {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": lightning_version,
        },
        path,
    )
    recogniser = load_action_recognizer(path)
    assert recogniser.description.startswith("RGB")
    videos, _ = motion_videos(2, seed=4)
    with torch.no_grad():
        torch.testing.assert_close(recogniser(videos), model.net.eval()(videos))
