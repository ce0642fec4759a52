"""UTDMHADDataModule: the RGB release and onestyle's train/val folders, labels, and the unseen
actor-action test split."""

from __future__ import annotations

import pytest

from stylevideo.data_modules.utdmhad import UTDMHADDataModule

PAIRS = [(1, 1), (1, 2), (2, 1), (2, 2), (9, 1), (9, 2), (27, 3)]  # (action, subject)


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    """RGB.zip extracted: <root>/RGB/a<k>_s<j>_t<i>_color.avi, two trials per pair."""
    root = tmp_path_factory.mktemp("utd")
    for action, subject in PAIRS:
        for trial in (1, 2):
            clips.place("video", root / "RGB" / f"a{action}_s{subject}_t{trial}_color.avi")
    return root


def test_labels_and_the_rotating_target_subject(root, cache_dir):
    dm = UTDMHADDataModule(str(root), cache_dir=cache_dir)
    assert dm.label_maps["action"] == {"a01": 0, "a02": 1, "a09": 2, "a27": 3}
    assert dm.label_maps["actor"] == {"s1": 0, "s2": 1, "s3": 2}
    test = {(r.labels["action"], r.labels["actor"]) for r in dm.records("test")}
    assert test == {("a01", "s1"), ("a02", "s2"), ("a09", "s1"), ("a27", "s3")}
    assert len(dm.records("test")) == 8 and len(dm.records("train")) == 6
    train = {(r.labels["action"], r.labels["actor"]) for r in dm.records("train")}
    assert not train & test  # every test pair of actor and action is unseen in training
    assert {r.labels["actor"] for r in dm.records("train")} >= {"s1", "s2"}


def test_chosen_target_subjects_and_the_rgb_folder_as_root(root, cache_dir):
    dm = UTDMHADDataModule(str(root / "RGB"), test_subjects=[2] * 27, cache_dir=cache_dir)
    assert {r.labels["actor"] for r in dm.records("test")} == {"s2"}
    assert dm.records("test")[0].video_id == "a1_s2_t1_color"
    with pytest.raises(ValueError, match="one subject .* per action"):
        UTDMHADDataModule(str(root), test_subjects=[1, 2])


def test_onestyle_frame_folders_keep_their_split(clips, tmp_path, cache_dir):
    clips.place("frames", tmp_path / "train" / "a1" / "a1_s2_t1_color")
    clips.place("frames", tmp_path / "train" / "a2" / "a2_s1_t1_color")  # s1 would be a target
    clips.place("frames", tmp_path / "val" / "a1_s1_t1_color")
    dm = UTDMHADDataModule(str(tmp_path), cache_dir=cache_dir)
    assert [r.video_id for r in dm.records("test")] == ["val/a1_s1_t1_color"]
    assert len(dm.records("train")) == 2


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(UTDMHADDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_wrong_layouts_name_what_was_expected(clips, tmp_path, cache_dir):
    clips.place("video", tmp_path / "RGB" / "swipe_left_subject1.avi")
    with pytest.raises(FileNotFoundError, match="found no clips .*a<action>_s<subject>_t<trial>"):
        UTDMHADDataModule(str(tmp_path), cache_dir=cache_dir).index()
    clips.place("video", tmp_path / "RGB" / "a28_s1_t1_color.avi")
    with pytest.raises(ValueError, match="action 28 / subject 1 out of range"):
        UTDMHADDataModule(str(tmp_path), cache_dir=cache_dir).index()
