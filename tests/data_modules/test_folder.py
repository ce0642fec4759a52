"""VideoFolderDataModule: the videos directly inside a folder, all of one split (lia Table 2's
GermanPublicTV sources)."""

from __future__ import annotations

import pytest

from stylevideo.data_modules.folder import VideoFolderDataModule


def test_every_video_and_frame_folder_inside_the_root_is_one_test_clip(clips, tmp_path, cache_dir):
    clips.place("video", tmp_path / "b_speaker.mp4")
    clips.place("frames", tmp_path / "a_speaker")
    clips.place("video", tmp_path / "nested" / "deeper" / "c.mp4")  # not directly inside: not a clip
    (tmp_path / "notes.txt").write_text("not a video")
    dm = VideoFolderDataModule(str(tmp_path), cache_dir=cache_dir)
    assert [(r.video_id, r.split, r.num_frames) for r in dm.index()] == [
        ("a_speaker", "test", 8),
        ("b_speaker", "test", 12),
    ]
    assert dm.records("train") == [] and dm.label_maps == {}
    assert str(dm) == f"VideoFolderDataModule(root={tmp_path}, split=test)"  # as the tables' protocol prints it
    assert [r.split for r in VideoFolderDataModule(str(tmp_path), split="val", cache_dir=cache_dir).index()] == [
        "val"
    ] * 2


def test_a_missing_or_empty_folder_names_the_layout(tmp_path, cache_dir):
    with pytest.raises(FileNotFoundError, match="nowhere does not exist .*a folder holding video files"):
        VideoFolderDataModule(str(tmp_path / "nowhere"), cache_dir=cache_dir).index()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "sub").mkdir()
    with pytest.raises(FileNotFoundError, match="found no clips"):
        VideoFolderDataModule(str(tmp_path / "empty"), cache_dir=cache_dir).index()
