"""The real data of the metrics: frames drawn over whole videos (StyleInV's fid50k) and
subsampled clips (StyleGAN-V's fvd<N>_<F>f_subsample<S>f)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.video.io import frames_to_tensor, read_frames


def _dm(root, **kwargs) -> SyntheticDataModule:
    dm = SyntheticDataModule.from_root(str(root), **kwargs)
    dm.setup("fit")
    return dm


def test_frame_loader_draws_a_random_video_then_a_random_frame(synthetic_root):
    dm = _dm(synthetic_root, resolution=16, batch_size=8)
    records = dm.records("train")
    lengths = {r.video_id: r.num_frames for r in records}
    total = sum(lengths.values())  # 179 frames in 9 videos of 14 to 24
    dataset = dm.frame_dataloader(10**6, split="train").dataset
    videos = np.empty(total, dtype=int)
    for video, draws in dataset.items:
        videos[draws] = video
    frames = dataset.frames
    assert len(frames) == total  # at most as many draws as the split has frames
    # draws cycle through one permutation of the videos: every video equally often, whatever its length
    assert all(sorted(videos[i : i + 9]) == list(range(9)) for i in range(0, total - 8, 9))
    assert set(Counter(videos.tolist()).values()) == {total // 9, total // 9 + 1}
    ratio = frames / np.array([records[v].num_frames for v in videos])
    assert ratio.min() >= 0 and ratio.max() < 1  # a frame inside its video...
    assert abs(ratio.mean() - 0.5) < 0.05 and ratio.max() > 0.9  # ...uniformly, the ends included
    # a batch: up to batch_size draws of one video, decoded at exactly the drawn frames
    loader = dm.frame_dataloader(20, split="train")
    batches = list(loader)
    index = torch.cat([b["index"] for b in batches])
    assert sorted(index.tolist()) == list(range(20)) and all(len(b["index"]) <= 8 for b in batches)
    batch = batches[0]
    record = next(r for r in records if r.video_id == batch["video_id"])
    expected = frames_to_tensor(read_frames(record.path, loader.dataset.frames[batch["index"].numpy()]), 16)
    assert torch.equal(batch["frames"], expected)
    assert (batch["actor"] == dm.label_maps["actor"][record.labels["actor"]]).all()
    again = dm.frame_dataloader(20, split="train").dataset
    assert np.array_equal(again.frames, loader.dataset.frames)  # seeded
    other = _dm(synthetic_root, resolution=16, batch_size=8, seed=1).frame_dataloader(20, split="train").dataset
    assert not np.array_equal(other.frames, loader.dataset.frames)


def test_clip_loader_subsamples_and_discards_videos_shorter_than_the_span(synthetic_root):
    dm = _dm(synthetic_root, resolution=16, batch_size=4)
    batches = list(dm.clip_dataloader(4, split="train", stride=5))  # span: 20 frames
    long_enough = {r.video_id for r in dm.records("train") if r.num_frames >= 20}
    assert {v for b in batches for v in b["video_id"]} == long_enough and len(long_enough) == 5
    t = torch.cat([b["t"] for b in batches])
    assert (t.diff(dim=1) == 5).all() and t.shape[1] == 4
