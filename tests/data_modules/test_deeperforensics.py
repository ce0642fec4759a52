"""DeeperForensicsDataModule: aligned source videos by name at any depth, uniform light and
front camera only, labels, all training; the raw release is refused with the align command."""

from __future__ import annotations

import pytest

from stylevideo.data_modules.deeperforensics import DeeperForensicsDataModule

CLIPS = [("M004", "uniform", "happy", "front"), ("M004", "uniform", "angry", "front"),
         ("W101", "uniform", "happy", "front"), ("W101", "uniform", "contempt", "front"),
         ("M004", "left", "happy", "front"), ("W101", "uniform", "happy", "leftfront")]  # fmt: skip


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    """face_align's output of source_videos/<ID>/<emotion>/...: the release's folders and names."""
    root = tmp_path_factory.mktemp("deeperforensics")
    for i, (actor, light, emotion, camera) in enumerate(CLIPS):
        name = f"{actor}_light_{light}_{emotion}_camera_{camera}"
        folder = root / actor / emotion / f"light_{light}" / f"camera_{camera}"
        if i % 2:
            clips.place("video", folder / f"{name}.mp4")
        else:
            clips.place("frames", folder / name)
    clips.place("video", root / "M004" / "BlendShape" / "M004_BlendShape_camera_front.mp4")
    return root


def test_uniform_front_clips_with_actor_and_emotion_labels(root, cache_dir):
    dm = DeeperForensicsDataModule(str(root), cache_dir=cache_dir)
    labels = sorted((r.labels["actor"], r.labels["emotion"]) for r in dm.records("train"))
    assert labels == [("M004", "angry"), ("M004", "happy"), ("W101", "contempt"), ("W101", "happy")]
    assert len(dm.index()) == 4 and {r.split for r in dm.index()} == {"train"}
    assert dm.label_maps["emotion"] == {"angry": 0, "contempt": 1, "happy": 2}
    assert len(dm._eval_records("val")) == 4  # FVD reals: the training videos
    side = DeeperForensicsDataModule(str(root), light="left", cache_dir=cache_dir)
    assert [r.video_id.split("/")[-1] for r in side.index()] == ["M004_light_left_happy_camera_front"]


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(DeeperForensicsDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_the_raw_release_and_other_layouts_are_refused(clips, tmp_path, cache_dir):
    raw = tmp_path / "DeeperForensics-1.0"
    clips.place("video", raw / "source_videos" / "M004" / "M004_light_uniform_happy_camera_front.mp4")
    expected = "raw release; align the source videos first: python -m .*preprocess.face_align"
    with pytest.raises(FileNotFoundError, match=expected):
        DeeperForensicsDataModule(str(raw), cache_dir=cache_dir).index()
    clips.place("video", tmp_path / "other" / "M004_light_left_happy_camera_front.mp4")
    with pytest.raises(FileNotFoundError, match="no clip with light 'uniform' and camera 'front'"):
        DeeperForensicsDataModule(str(tmp_path / "other"), cache_dir=cache_dir).index()
    clips.place("video", tmp_path / "other" / "M004_light_uniform_bored_camera_front.mp4")
    with pytest.raises(ValueError, match="unknown emotion 'bored'"):
        DeeperForensicsDataModule(str(tmp_path / "other"), cache_dir=cache_dir).index()
    with pytest.raises(ValueError, match="light must be one of"):
        DeeperForensicsDataModule(str(raw), light="dim")
