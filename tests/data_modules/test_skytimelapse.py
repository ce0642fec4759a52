"""SkyTimelapseDataModule: StyleGAN-V's flat release and MDGAN's sky_train/sky_test, with
class-aware sampling by default."""

from __future__ import annotations

from collections import Counter

import pytest

from stylevideo.data_modules.skytimelapse import SkyTimelapseDataModule


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    """StyleGAN-V's form: one frame folder per video (and a video file)."""
    root = tmp_path_factory.mktemp("sky")
    for name in ("07U1fSrk9oI_1", "07U1fSrk9oI_2", "0CEtYJ7Whvk_1"):
        clips.place("frames", root / name, frame_name="{:06d}.jpg")
    clips.place("video", root / "0CEtYJ7Whvk_2.mp4")
    return root


def test_stylegan_v_release_trains_class_aware_and_evaluates_on_training_videos(root, cache_dir):
    dm = SkyTimelapseDataModule(str(root), cache_dir=cache_dir, batch_size=2, samples_per_epoch=8)
    assert len(dm.records("train")) == 4 and dm.class_aware
    videos = dm.train_dataloader().batch_sampler.sampler  # the VideoSampler
    assert videos.p is None  # every video equally likely, whatever its length
    assert set(Counter(key.video for key in videos).values()) == {2}
    assert len(dm.clip_dataloader(8).dataset) == 4  # one clip per video for the metrics


def test_mdgan_layout_keeps_its_split(clips, tmp_path, cache_dir):
    for split, video, clip in (("train", "07U1fSrk9oI", 1), ("train", "07U1fSrk9oI", 2),
                               ("test", "0CEtYJ7Whvk", 1)):  # fmt: skip
        name = f"{video}_{clip}"
        clips.place("frames", tmp_path / f"sky_{split}" / video / name, f"{video}_frames_{{:08d}}.jpg")
    dm = SkyTimelapseDataModule(str(tmp_path), cache_dir=cache_dir)
    assert [r.video_id for r in dm.records("train")] == [
        "sky_train/07U1fSrk9oI/07U1fSrk9oI_1", "sky_train/07U1fSrk9oI/07U1fSrk9oI_2",
    ]  # fmt: skip
    assert [r.video_id for r in dm.records("test")] == ["sky_test/0CEtYJ7Whvk/0CEtYJ7Whvk_1"]
    (tmp_path / "sky_train" / "empty_video").mkdir()
    with pytest.raises(FileNotFoundError, match="sky_train/empty_video/ holds no clip folders"):
        SkyTimelapseDataModule(str(tmp_path), cache_dir=cache_dir).index()


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(SkyTimelapseDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_wrong_layouts_name_what_was_expected(tmp_path, cache_dir):
    (tmp_path / "sky_timelapse.zip").write_bytes(b"PK")
    with pytest.raises(FileNotFoundError, match="found no clips .*StyleGAN-V's release"):
        SkyTimelapseDataModule(str(tmp_path), cache_dir=cache_dir).index()
