"""MEADDataModule: the published tree and onestyle's frame folders, front camera, labels, and
the held-out sentences 006-011 of the authors' training list."""

from __future__ import annotations

import pytest

from stylevideo.data_modules.mead import MEADDataModule

CLIPS = [("angry", 1, "001"), ("angry", 1, "007"), ("angry", 3, "012"), ("neutral", 1, "001"),
         ("neutral", 1, "011")]  # fmt: skip


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    """M003 as published (video/<view>/... mp4), W009 in onestyle's <actor>_front frame folders;
    other cameras beside them."""
    root = tmp_path_factory.mktemp("mead")
    for emotion, level, sentence in CLIPS:
        clips.place("video", root / f"M003/video/front/{emotion}/level_{level}/{sentence}.mp4")
        clips.place("frames", root / f"W009_front/{emotion}/level_{level}/{sentence}")
    clips.place("video", root / "M003/video/left_30/angry/level_1/002.mp4")
    clips.place("frames", root / "W009_left_30/angry/level_1/002")
    (root / "M003" / "audio").mkdir()
    return root


def test_both_forms_labels_and_the_held_out_sentences(root, cache_dir):
    dm = MEADDataModule(str(root), cache_dir=cache_dir)
    assert dm.label_maps == {
        "actor": {"M003": 0, "W009": 1},
        "emotion": {"angry": 0, "neutral": 1},
        "level": {"1": 0, "3": 1},
    }
    assert sorted(r.video_id for r in dm.records("test")) == [
        "M003/video/front/angry/level_1/007", "M003/video/front/neutral/level_1/011",
        "W009_front/angry/level_1/007", "W009_front/neutral/level_1/011",
    ]  # fmt: skip
    train = {(r.labels["actor"], r.labels["emotion"], r.labels["level"], r.video_id[-3:])
             for r in dm.records("train")}  # fmt: skip
    assert train == {(a, e, str(lv), s) for a in ("M003", "W009") for e, lv, s in CLIPS
                     if s not in ("007", "011")}  # fmt: skip
    assert {r.num_frames for r in dm.index() if r.labels["actor"] == "W009"} == {8}


def test_actor_view_and_sentence_choices(root, cache_dir):
    dm = MEADDataModule(str(root), actors=["W009"], test_sentences=[1], cache_dir=cache_dir)
    assert {r.labels["actor"] for r in dm.index()} == {"W009"}
    assert {r.video_id[-3:] for r in dm.records("test")} == {"001"}
    side = MEADDataModule(str(root), view="left_30", cache_dir=cache_dir)
    assert sorted(r.video_id for r in side.index()) == [
        "M003/video/left_30/angry/level_1/002", "W009_left_30/angry/level_1/002",
    ]  # fmt: skip
    with pytest.raises(FileNotFoundError, match=r"actors \['M005'\] not found"):
        MEADDataModule(str(root), actors=["M005"], cache_dir=cache_dir).index()
    with pytest.raises(ValueError, match="view must be one of"):
        MEADDataModule(str(root), view="back")


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(MEADDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_wrong_layouts_name_what_was_expected(clips, tmp_path, cache_dir):
    (tmp_path / "M003" / "audio" / "front").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no actor folder with 'front' camera .*expected MEAD"):
        MEADDataModule(str(tmp_path), cache_dir=cache_dir).index()
    clips.place("video", tmp_path / "M003/video/front/happiness/level_1/001.mp4")
    with pytest.raises(ValueError, match="unknown emotion 'happiness' .*angry, contempt"):
        MEADDataModule(str(tmp_path), cache_dir=cache_dir).index()
    clips.place("video", tmp_path / "W011_front/sad/1/001.mp4")
    with pytest.raises(ValueError, match=r"sad/1: expected a folder named level_<n>"):
        MEADDataModule(str(tmp_path), actors=["W011"], cache_dir=cache_dir).index()
