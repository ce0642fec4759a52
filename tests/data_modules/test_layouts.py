"""What every dataset module shares: the index cache and its invalidation, unreadable and short
clips, clip discovery, seeded splits, and configuration from an experiment YAML."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from lightning.pytorch import LightningDataModule
from lightning.pytorch.cli import LightningArgumentParser

from stylevideo.data_modules import layouts
from stylevideo.data_modules.layouts import find_named_clips, random_split
from stylevideo.data_modules.taichi import TaiChiDataModule
from stylevideo.video.io import VideoReadError, count_frames
from stylevideo.video.sampling import ConsecutiveFrames, IrregularFrames


@pytest.fixture
def root(clips, tmp_path):
    root = tmp_path / "taichi"
    clips.place("video", root / "train" / "a.mp4")
    clips.place("frames", root / "train" / "b.mp4")  # FOMM's frame folder named like a file
    clips.place("video", root / "test" / "c.mp4")
    return root


def _counting(monkeypatch):
    """Record the clips whose frames are counted (not taken from the cache)."""
    counted = []

    def count(path):
        counted.append(path.name)
        return count_frames(path)

    monkeypatch.setattr(layouts, "count_frames", count)
    return counted


def test_counts_are_cached_per_root_and_recounted_when_a_clip_changes(root, clips, cache_dir, monkeypatch):
    counted = _counting(monkeypatch)
    first = TaiChiDataModule(str(root), cache_dir=cache_dir)
    assert sorted(r.num_frames for r in first.index()) == [8, 12, 12]
    assert sorted(counted) == ["a.mp4", "b.mp4", "c.mp4"]
    files = list((tmp := first.cache_file()).parent.iterdir())
    assert files == [tmp] and json.loads(tmp.read_text())["root"] == str(root.resolve())

    counted.clear()
    assert sorted(r.num_frames for r in TaiChiDataModule(str(root), cache_dir=cache_dir).index()) == [8, 12, 12]
    assert counted == []  # everything from the cache

    shutil.copyfile(root / "train" / "b.mp4" / "frame0000.png", root / "train" / "b.mp4" / "frame0008.png")
    clips.place("frames", root / "train" / "a.mp4.new")  # replace a video by a frame folder
    (root / "train" / "a.mp4").unlink()
    (root / "train" / "a.mp4.new").rename(root / "train" / "a.mp4")
    dm = TaiChiDataModule(str(root), cache_dir=cache_dir)
    lengths = {r.video_id: r.num_frames for r in dm.index()}
    assert sorted(counted) == ["a.mp4", "b.mp4"]  # only the changed clips
    assert lengths == {"train/a": 8, "train/b": 9, "test/c": 12}

    other = root.parent / "copy"
    shutil.copytree(root, other)
    assert TaiChiDataModule(str(other), cache_dir=cache_dir).cache_file() != dm.cache_file()


def test_unreadable_clips_are_left_out_with_a_counted_warning_naming_them(root, clips, cache_dir):
    clips.place("corrupt", root / "train" / "broken.mp4")
    with pytest.warns(UserWarning, match=r"1 of 4 clips under .* are unreadable and left out: "
                                         r"cannot decode video .*broken\.mp4"):  # fmt: skip
        dm = TaiChiDataModule(str(root), cache_dir=cache_dir)
        assert [r.video_id for r in dm.records("train")] == ["train/a", "train/b"]
    with pytest.warns(UserWarning, match="unreadable"):  # not cached: still reported next time
        TaiChiDataModule(str(root), cache_dir=cache_dir).index()
    with pytest.raises(VideoReadError, match=r"1 of 4 clips .* unreadable: .*broken\.mp4"):
        TaiChiDataModule(str(root), cache_dir=cache_dir, strict=True).index()


def test_too_short_clips_are_skipped_with_a_count_or_raise(root, clips, cache_dir):
    clips.place("short", root / "train" / "short.mp4")
    with pytest.warns(UserWarning, match=r"1 of 4 clips are shorter than the 8 frames"):
        dm = TaiChiDataModule(str(root), sampler=ConsecutiveFrames(8), cache_dir=cache_dir)
        assert "train/short" not in [r.video_id for r in dm.index()]
    with pytest.raises(ValueError, match="shorter than the 8 frames"):
        TaiChiDataModule(str(root), sampler=ConsecutiveFrames(8), strict=True, cache_dir=cache_dir).index()


def test_find_named_clips_at_any_depth_without_listing_frame_folders(clips, tmp_path):
    clips.place("video", tmp_path / "x" / "y" / "a1_s1_t1_color.avi")
    clips.place("frames", tmp_path / "a2_s1_t1_color")
    clips.place("frames", tmp_path / "z" / "a2_s1_t1_color" / "a3_s1_t1_color")  # not a clip
    clips.place("video", tmp_path / "x" / "notes.avi")
    (tmp_path / "x" / "a4_s1_t1_color.txt").write_text("not a clip")
    found = find_named_clips(tmp_path, re.compile(r"a(\d+)_s(\d+)_t(\d+)_color"))
    assert [p.relative_to(tmp_path).as_posix() for p, _ in found] == [
        "a2_s1_t1_color", "x/y/a1_s1_t1_color.avi",
    ]  # fmt: skip
    assert [m.group(1) for _, m in found] == ["2", "1"]


def test_random_split_is_seeded_exact_and_per_group():
    keys = [f"v{i:03d}" for i in range(50)]
    test = random_split(keys, 0.2, seed=0)
    assert len(test) == 10 and test == random_split(reversed(keys), 0.2, seed=0)
    assert test != random_split(keys, 0.2, seed=1)
    group = {k: "a" if int(k[1:]) < 10 else "b" for k in keys}
    grouped = random_split(keys, 0.2, seed=0, group=group)
    assert sum(group[k] == "a" for k in grouped) == 2 and len(grouped) == 10
    with pytest.raises(ValueError, match="test_fraction"):
        random_split(keys, 1.0, seed=0)


@pytest.mark.parametrize(
    "class_path, args, stored",
    [
        ("mead.MEADDataModule", {"test_sentences": [6, 7]}, {"test_sentences": {6, 7}}),
        (
            "ravdess.RAVDESSDataModule",
            {"split_protocol": "vidstyleode", "channels": ["speech", "song"]},
            {"split_protocol": "vidstyleode", "channels": ("speech", "song")},
        ),
        ("utdmhad.UTDMHADDataModule", {"test_subjects": [2] * 27}, {"test_subjects": (2,) * 27}),
        ("faceforensics.FaceForensicsDataModule", {}, {}),
        ("deeperforensics.DeeperForensicsDataModule", {"light": "up"}, {"light": "up"}),
        ("skytimelapse.SkyTimelapseDataModule", {}, {"class_aware": True}),
        ("taichi.TaiChiDataModule", {"split_protocol": "styleinv"}, {"split_protocol": "styleinv"}),
        ("voxceleb.VoxCelebDataModule", {}, {}),
        ("ted.TEDTalkDataModule", {}, {}),
        (
            "fashion.FashionVideoDataModule",
            {"split_lists": ["a", "b"]},
            {"split_lists": ["a", "b"]},
        ),
    ],
)
def test_configurable_like_an_experiment_yaml(class_path, args, stored, tmp_path):
    parser = LightningArgumentParser()
    parser.add_lightning_class_args(LightningDataModule, "data", subclass_mode=True)
    sampler = {"class_path": "stylevideo.video.sampling.IrregularFrames", "init_args": {"k": 8}}
    init = {"root": str(tmp_path), "resolution": [128, 96], "batch_size": 2, "sampler": sampler}
    config = parser.parse_object(
        {"data": {"class_path": f"stylevideo.data_modules.{class_path}", "init_args": init | args}}
    )
    dm = parser.instantiate(config).data
    assert type(dm).__name__ == class_path.split(".")[1] and dm.resolution == (128, 96)
    assert dm.batch_size == 2 and dm.sampler == IrregularFrames(k=8)
    assert {k: getattr(dm, k) for k in stored} == stored
