"""FaceForensicsDataModule: cropped frame folders (StyleGAN-V's form) or videos, all training,
evaluated on the training videos; the uncropped release is refused with the crop command."""

from __future__ import annotations

import pytest

from stylevideo.data_modules.faceforensics import FaceForensicsDataModule

NAMES = (
    "-2Bw_5HObVM_0_TGuGhRZmWnE_0",
    "0bxRmdr7vOw_0_e8G2t4ePZbo_0",
    "zzqW8ihkXNg_0_3wkNWeC5e5c_1",
)


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    root = tmp_path_factory.mktemp("ffs")
    clips.place("frames", root / NAMES[0], frame_name="{:06d}.jpg")
    clips.place("frames", root / NAMES[1], frame_name="{:06d}.jpg")
    clips.place("video", root / f"{NAMES[2]}.mp4")
    return root


def test_cropped_videos_all_train_and_evaluation_uses_them(root, cache_dir):
    dm = FaceForensicsDataModule(str(root), cache_dir=cache_dir, batch_size=3)
    assert [r.video_id for r in dm.records("train")] == list(NAMES)
    assert [r.num_frames for r in dm.index()] == [8, 8, 12] and dm.label_maps == {}
    assert sorted(v for b in dm.val_dataloader() for v in b["video_id"]) == sorted(NAMES)
    assert sorted(v for b in dm.clip_dataloader(8) for v in b["video_id"]) == sorted(NAMES)


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(FaceForensicsDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_the_uncropped_release_and_other_layouts_are_refused(clips, tmp_path, cache_dir):
    raw = tmp_path / "FaceForensics_compressed"
    clips.place("video", raw / "train" / "original" / f"{NAMES[0]}.avi")
    clips.place("video", raw / "train" / "mask" / f"{NAMES[0]}.avi")
    expected = r"uncropped release \(train/original/\); crop it first: python -m .*mask_crop"
    with pytest.raises(FileNotFoundError, match=expected):
        FaceForensicsDataModule(str(raw), cache_dir=cache_dir).index()
    (tmp_path / "nested" / "a" / "b").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="found no clips .*expected FaceForensics cropped"):
        FaceForensicsDataModule(str(tmp_path / "nested"), cache_dir=cache_dir).index()
