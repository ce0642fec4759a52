"""TEDTalkDataModule: MRAA's train/test folders of videos or frame folders, a real TED clip."""

from __future__ import annotations

import pytest

from stylevideo.data_modules.ted import TEDTalkDataModule

TRAIN = ("-0S-QlT9e7Q#000297#000430", "-5Vl5Hrh2uM#000871#001010")
TEST = ("0pqsR-s0u-M#000176#000301",)


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    root = tmp_path_factory.mktemp("ted")
    clips.place("video", root / "train" / f"{TRAIN[0]}.mp4")
    clips.place("frames", root / "train" / f"{TRAIN[1]}.mp4", frame_name="{:07d}.png")
    clips.place("video", root / "test" / f"{TEST[0]}.mp4")
    return root


def test_split_is_the_two_folders(root, cache_dir):
    dm = TEDTalkDataModule(str(root), cache_dir=cache_dir)
    assert [r.video_id for r in dm.records("train")] == [f"train/{n}" for n in TRAIN]
    assert [r.video_id for r in dm.records("test")] == [f"test/{TEST[0]}"]
    assert [r.num_frames for r in dm.index()] == [12, 8, 12] and dm.label_maps == {}


def test_a_real_ted_clip_for_the_metrics(real_data, tmp_path, cache_dir):
    for split in ("train", "test"):
        (tmp_path / split).mkdir()
        (tmp_path / split / "ted_a.mp4").symlink_to(real_data / "ted" / "ted_a.mp4")
    dm = TEDTalkDataModule(str(tmp_path), resolution=64, cache_dir=cache_dir)
    loader = dm.clip_dataloader(128, split="test")
    batch = next(iter(loader))
    assert batch["frames"].shape == (1, 128, 3, 64, 64)
    assert batch["t"][0, -1] <= 159 and (batch["t"].diff(dim=1) == 1).all()
    with pytest.raises(ValueError, match="has 161 frames"):
        dm.clip_dataloader(161, split="test")
    assert dm.index()[0].num_frames == 160


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(TEDTalkDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_wrong_layouts_name_what_was_expected(clips, tmp_path, cache_dir):
    clips.place("video", tmp_path / "train" / "a.mp4")
    with pytest.raises(FileNotFoundError, match="no test/ folder .*expected TED-talk"):
        TEDTalkDataModule(str(tmp_path), cache_dir=cache_dir).index()
