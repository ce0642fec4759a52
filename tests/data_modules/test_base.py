"""The shared data layer: batch contract, reproducible sampling, DDP sharding, errors, id maps."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
import torch
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper

from stylevideo.data_modules.base import ClipKey, VideoSampler, item_rng
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.video.io import VideoReadError, frames_to_tensor, read_frames
from stylevideo.video.sampling import ConsecutiveFrames, SparseFrames
from stylevideo.video.synthetic import read_labels

#: StyleInV's sampler at the scale of the session's synthetic clips (12-24 frames).
SPARSE = SparseFrames(n=3, max_distance=8, clip_length=12)


def _dm(root, **kwargs) -> SyntheticDataModule:
    dm = SyntheticDataModule.from_root(root, **kwargs)
    dm.setup("fit")
    return dm


def _batches(loader):
    return [b for b in loader]


def _assert_same_batches(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            assert torch.equal(x[k], y[k]) if torch.is_tensor(x[k]) else x[k] == y[k]


def test_batch_keys_shapes_and_ranges(synthetic_root):
    dm = _dm(synthetic_root, sampler=ConsecutiveFrames(n=3), resolution=(24, 16), batch_size=4)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"frames", "t", "video_id", "index", "actor", "action"}
    assert batch["frames"].shape == (4, 3, 3, 24, 16) and batch["frames"].dtype == torch.float32
    assert batch["frames"].min() >= -1 and batch["frames"].max() <= 1 and batch["frames"].std() > 0.1
    assert batch["t"].shape == (4, 3) and batch["t"].dtype == torch.float32
    assert torch.all(batch["t"].diff(dim=1) == 1)
    for label in ("actor", "action"):
        assert batch[label].dtype == torch.int64
        assert 0 <= batch[label].min() and batch[label].max() < dm.num_classes(label)
    assert len(batch["video_id"]) == 4 and all(isinstance(v, str) for v in batch["video_id"])
    records = dm.records("train")
    for i, video_id, actor in zip(batch["index"], batch["video_id"], batch["actor"], strict=True):
        assert records[i].video_id == video_id
        assert dm.label_maps["actor"][records[i].labels["actor"]] == actor


def test_item_frames_are_the_frames_sampled_from_seed_epoch_and_draw(synthetic_root):
    sampler = SPARSE
    dm = _dm(synthetic_root, sampler=sampler, resolution=32, seed=11)
    dataset = dm.dataset(dm.records("train"))
    item = dataset[ClipKey(video=2, epoch=5, draw=7)]
    record = dm.records("train")[2]
    indices, t = sampler(record.num_frames, item_rng(11, 5, 7))
    assert torch.equal(item["t"], torch.from_numpy(t))
    assert torch.equal(item["frames"], frames_to_tensor(read_frames(record.path, indices)))


def test_same_seed_same_batches_whatever_the_worker_count(synthetic_root):
    kwargs = dict(sampler=SPARSE, batch_size=4, samples_per_epoch=8, seed=3)
    single = _batches(_dm(synthetic_root, num_workers=0, **kwargs).train_dataloader())
    workers = _batches(_dm(synthetic_root, num_workers=2, **kwargs).train_dataloader())
    _assert_same_batches(single, workers)
    other = _batches(_dm(synthetic_root, **kwargs | {"seed": 4}).train_dataloader())
    assert not torch.equal(single[0]["t"], other[0]["t"]) or single[0]["video_id"] != other[0]["video_id"]


def test_epochs_differ_and_replay(synthetic_root):
    dm = _dm(synthetic_root, sampler=SPARSE, batch_size=6)
    loader = dm.train_dataloader()
    first = _batches(loader)
    loader.sampler.set_epoch(1)
    second = _batches(loader)
    assert [b["video_id"] for b in first] != [b["video_id"] for b in second]
    loader.sampler.set_epoch(0)
    _assert_same_batches(first, _batches(loader))


def test_ddp_ranks_draw_distinct_items_through_lightnings_wrapper():
    sampler = VideoSampler(num_videos=7, num_samples=20, seed=0)
    ranks = [DistributedSamplerWrapper(sampler, num_replicas=2, rank=r, shuffle=False) for r in (0, 1)]
    for wrapper in ranks:
        wrapper.set_epoch(3)  # what Lightning's _set_sampler_epoch calls; forwarded to our sampler
    keys = [list(w) for w in ranks]
    assert all(k.epoch == 3 for rank in keys for k in rank)
    draws = [{k.draw for k in rank} for rank in keys]
    assert not draws[0] & draws[1] and draws[0] | draws[1] == set(range(20))


def test_class_aware_and_length_weighted_sampling():
    balanced = Counter(k.video for k in VideoSampler(num_videos=5, num_samples=20, seed=1))
    assert set(balanced.values()) == {4}  # class-aware: every video equally often
    lengths = np.array([10, 20, 30, 40, 100])
    weighted = Counter(k.video for k in VideoSampler(5, 20000, seed=1, weights=lengths))
    frequency = np.array([weighted[i] for i in range(5)]) / 20000
    np.testing.assert_allclose(frequency, lengths / lengths.sum(), atol=0.015)


def test_too_short_clips_warn_with_a_count_or_raise(synthetic_root):
    lengths = [r["num_frames"] for r in read_labels(synthetic_root)]
    short = sum(n < 20 for n in lengths)
    assert 0 < short < len(lengths)
    with pytest.warns(UserWarning, match=rf"{short} of {len(lengths)} clips are shorter than the 20"):
        dm = _dm(synthetic_root, sampler=ConsecutiveFrames(n=20))
    assert len(dm.index()) == len(lengths) - short and all(r.num_frames >= 20 for r in dm.index())
    with pytest.raises(ValueError, match="shorter than the 20 frames"):
        _dm(synthetic_root, sampler=ConsecutiveFrames(n=20), strict=True)


class _WithoutFirstActor(SyntheticDataModule):
    def build_index(self):
        return [r for r in super().build_index() if r.labels["actor"] != "actor00"]


def test_label_maps_sorted_and_restored_from_a_checkpoint(synthetic_root):
    full = _dm(synthetic_root)
    assert full.label_maps == {
        "action": {"nod": 0, "smile": 1, "talk": 2},
        "actor": {"actor00": 0, "actor01": 1, "actor02": 2},
    }
    assert full.num_classes("actor") == 3
    with pytest.raises(KeyError, match="unknown label 'emotion'"):
        full.num_classes("emotion")
    state = full.state_dict()
    alone = _WithoutFirstActor.from_root(synthetic_root)
    assert alone.label_maps["actor"] == {"actor01": 0, "actor02": 1}  # its own data alone
    restored = _WithoutFirstActor.from_root(synthetic_root)
    restored.load_state_dict(state)  # before setup, as when resuming
    restored.setup("fit")
    assert restored.label_maps == state["label_maps"]
    restored.batch_size = 6
    batch = next(iter(restored.train_dataloader()))
    for video_id, actor in zip(batch["video_id"], batch["actor"], strict=True):
        assert state["label_maps"]["actor"][video_id.split("/")[0]] == actor
    newer = _dm(synthetic_root)
    with pytest.warns(UserWarning, match="values the checkpoint did not know: \\['actor00'\\]"):
        newer.load_state_dict(alone.state_dict())  # after setup: new values get new ids
    assert newer.label_maps["actor"] == {"actor01": 0, "actor02": 1, "actor00": 2}


def test_missing_empty_or_foreign_root_names_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere does not exist \\(expected the synthetic"):
        SyntheticDataModule(root=str(tmp_path / "nowhere")).setup("fit")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty is empty \\(expected the synthetic"):
        SyntheticDataModule(root=str(tmp_path / "empty")).setup("fit")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "video.mp4").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no complete synthetic dataset \\(expected"):
        SyntheticDataModule(root=str(tmp_path / "other")).setup("fit")


def _with_broken_clip(root, tmp_path, **kwargs):
    broken = tmp_path / "broken.mp4"
    data = (root / "actor00" / "talk" / "000.mp4").read_bytes()
    broken.write_bytes(data[: len(data) // 2])

    class Broken(SyntheticDataModule):
        def build_index(self):
            records = super().build_index()
            records[0].path = broken
            return records

    dm = Broken.from_root(root, **kwargs)
    dm.setup("fit")
    return dm, broken


def test_uncounted_clips_are_counted_and_unreadable_ones_left_out(synthetic_root, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 64)

    class Uncounted(SyntheticDataModule):
        def build_index(self):
            records = super().build_index()
            for r in records:
                r.num_frames = None
            records[0].path = broken
            return records

    with pytest.warns(UserWarning, match="leaving out unreadable clip: .*broken.mp4"):
        dm = Uncounted.from_root(synthetic_root)
        records = dm.index()
    expected = {r["path"].removesuffix(".mp4"): r["num_frames"] for r in read_labels(synthetic_root)}
    assert len(records) == len(expected) - 1
    assert all(r.num_frames == expected[r.video_id] for r in records)
    with pytest.raises(VideoReadError, match="broken.mp4"):
        Uncounted.from_root(synthetic_root, strict=True).index()


def test_unreadable_clip_is_skipped_counted_and_replaced_deterministically(synthetic_root, tmp_path):
    dm, broken = _with_broken_clip(synthetic_root, tmp_path)
    dataset = dm.dataset(dm.records("train"))
    assert dataset.records[0].path == broken
    with pytest.warns(UserWarning, match="skipping clip .*broken.mp4.*1 failed"):
        item = dataset[0]
    with pytest.warns(UserWarning, match="2 failed"):
        again = dataset[0]
    assert item["video_id"] != dataset.records[0].video_id and dataset.num_failed == 2
    assert item["video_id"] == again["video_id"] and torch.equal(item["frames"], again["frames"])
    strict, _ = _with_broken_clip(synthetic_root, tmp_path, strict=True)
    with pytest.raises(VideoReadError, match="broken.mp4"):
        strict.dataset(strict.records("train"))[0]


def test_clip_dataloader_gives_exactly_num_frames_consecutive_and_skips_short(synthetic_root):
    dm = _dm(synthetic_root, batch_size=4, resolution=32)
    long_enough = {r.video_id for r in dm.records("val") if r.num_frames >= 16}
    assert 0 < len(long_enough) < len(dm.records("val"))  # some val videos are too short
    batches = _batches(dm.clip_dataloader(16))
    assert {v for b in batches for v in b["video_id"]} == long_enough
    for batch in batches:
        assert batch["frames"].shape[1:] == (16, 3, 32, 32)
        assert torch.all(batch["t"].diff(dim=1) == 1)
    record = next(r for r in dm.records("val") if r.video_id == batches[0]["video_id"][0])
    expected = frames_to_tensor(read_frames(record.path, batches[0]["t"][0].long()))
    assert torch.equal(batches[0]["frames"][0], expected)
    _assert_same_batches(batches, _batches(dm.clip_dataloader(16)))  # deterministic
    assert sum(len(b["video_id"]) for b in dm.clip_dataloader(12, max_clips=2)) == 2
    several = [b for b in dm.clip_dataloader(16, clips_per_video=3)]
    ids = Counter(v for b in several for v in b["video_id"])
    assert set(ids) == long_enough and set(ids.values()) == {3}
    starts = {(v, int(t[0])) for b in several for v, t in zip(b["video_id"], b["t"], strict=True)}
    assert len(starts) > len(long_enough)  # the clips of one video start at different frames
    with pytest.raises(ValueError, match="has 100 frames"):
        dm.clip_dataloader(100)


def test_validation_subset_is_deterministic_and_sized(synthetic_root):
    dm = _dm(synthetic_root, sampler=SPARSE, val_videos=4, batch_size=3)
    first, second = _batches(dm.val_dataloader()), _batches(dm.val_dataloader())
    assert sum(len(b["video_id"]) for b in first) == 4
    _assert_same_batches(first, second)


def test_frame_folder_clips_go_through_the_same_path(synthetic_root, tmp_path):
    """A clip stored as a folder of frames gives the same items as the mp4 it came from."""
    from PIL import Image

    dm = _dm(synthetic_root, sampler=ConsecutiveFrames(n=4))
    record = dm.records("train")[0]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(read_frames(record.path, range(record.num_frames)).numpy()):
        Image.fromarray(frame).save(folder / f"{i}.png")
    dataset = dm.dataset([record])
    from_mp4 = dataset[0]
    from_folder = dm.dataset([dataclasses.replace(record, path=folder)])[0]
    assert torch.equal(from_mp4["frames"], from_folder["frames"])


def test_mirror_doubles_the_training_set_with_flipped_videos_and_keeps_their_labels(synthetic_root):
    """StyleGAN2-ADA's / StyleInV's ``mirror``: every training video also served flipped
    horizontally, one flip for all its frames (and its keypoints); val/test untouched."""
    dm = _dm(synthetic_root, sampler=ConsecutiveFrames(n=5), resolution=(24, 32), mirror=True, return_mouth=True)
    train, doubled = dm.records("train"), dm.train_records()
    n = len(train)
    assert len(doubled) == 2 * n and len(dm.train_dataloader().sampler) == 2 * n
    assert [r.mirrored for r in doubled] == [False] * n + [True] * n
    assert [(r.path, r.labels, r.video_id) for r in doubled[n:]] == [(r.path, r.labels, r.video_id) for r in train]
    dataset = dm.dataset(doubled)
    for video in (0, 3):
        plain, flipped = dataset[ClipKey(video, 2, 9)], dataset[ClipKey(n + video, 2, 9)]
        indices, _ = dm.sampler(train[video].num_frames, item_rng(dm.seed, 2, 9))
        decoded = read_frames(train[video].path, indices).numpy()
        reference = frames_to_tensor(torch.from_numpy(decoded[:, :, ::-1].copy()), (24, 32))
        assert torch.equal(flipped["frames"], reference) and torch.equal(plain["t"], flipped["t"])
        assert flipped["index"] == n + video and flipped["actor"] == plain["actor"]
        x, y = plain["mouth"].unbind(-1)
        assert torch.allclose(flipped["mouth"], torch.stack([32 - x, y], -1), atol=1e-5)  # x -> W - x
    assert not any(r.mirrored for r in dm.records("val"))
    assert len(_dm(synthetic_root, sampler=ConsecutiveFrames(n=5)).train_records()) == n
