"""MEADDataModule: the published tree and onestyle's frame folders, front camera, labels, and
the held-out sentences 006-011 of the authors' training list."""

from __future__ import annotations

from pathlib import Path

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


def test_onestyles_60_to_170_frame_selection_applies_to_the_training_clips(root, cache_dir):
    """Training clips outside ``frame_range`` are left out (the fixture's mp4 clips have 12
    frames, its frame folders 8); held-out test clips stay."""
    dm = MEADDataModule(str(root), frame_range=(10, 20), cache_dir=cache_dir)
    assert {r.num_frames for r in dm.records("train")} == {12}
    assert {r.num_frames for r in dm.records("test")} == {12, 8}
    short = MEADDataModule(str(root), frame_range=(5, 9), cache_dir=cache_dir)
    assert {r.num_frames for r in short.records("train")} == {8}
    with pytest.raises(ValueError, match="frame_range"):
        MEADDataModule(str(root), frame_range=(20, 10))


#: Person ids of the authors' training list (datasets/mead_train.csv, column ``person``).
AUTHORS_IDS = dict(M003=0, M012=4, M013=5, M019=6, M022=7, M023=8, M026=9, M028=10, M029=11, M030=12, M033=13,
                   M040=14, W014=17, W015=18, W016=19, W018=20, W019=21, W023=22, W025=23, W026=24, W029=25,
                   W033=26, W036=27, W037=28, W040=29)  # fmt: skip


def test_the_pinned_30_actors_give_the_authors_ids_to_their_25():
    import yaml

    from stylevideo.data_modules.mead import ONESTYLE_30_ACTORS

    repo = Path(__file__).resolve().parents[2]
    for name in ("onestyle_mead", "onestyle_mead_uncond"):
        config = yaml.safe_load((repo / "experiments" / f"{name}.yaml").read_text())
        data = config["data"]["init_args"]
        assert tuple(data["actors"]) == ONESTYLE_30_ACTORS and data["frame_range"] == [60, 170]
    assert len(set(ONESTYLE_30_ACTORS)) == 30 == yaml.safe_load(
        (repo / "experiments" / "onestyle_mead.yaml").read_text()
    )["model"]["init_args"]["num_actors"]
    ids = {actor: i for i, actor in enumerate(sorted(ONESTYLE_30_ACTORS))}  # the data layer's sorted label ids
    assert {a: ids[a] for a in AUTHORS_IDS} == AUTHORS_IDS
    assert sum(a.startswith("M") for a in ONESTYLE_30_ACTORS) == 15  # "15M15F"
