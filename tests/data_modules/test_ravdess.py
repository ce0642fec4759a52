"""RAVDESSDataModule: file names, one clip per recording, both papers' splits, and actor texts."""

from __future__ import annotations

import csv

import pytest

from stylevideo.data_modules.ravdess import RAVDESSDataModule, main, read_descriptions

ACTORS = ("01", "02", "21", "22")
#: modality-channel-emotion-intensity-statement-repetition: the AV and video-only copies of a
#: neutral recording, happy strong, sad normal (statement 2, repetition 2), a sung happy one.
NAMES = ("01-01-01-01-01-01", "02-01-01-01-01-01", "02-01-03-02-01-01", "02-01-04-01-02-02",
         "02-02-03-01-01-01")  # fmt: skip


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    """Actor_01/02 as published (mp4), Actor_21/22 as onestyle's frame folders; audio beside."""
    root = tmp_path_factory.mktemp("ravdess")
    for actor in ACTORS:
        for name in NAMES:
            if actor in ("01", "02"):
                clips.place("video", root / f"Actor_{actor}" / f"{name}-{actor}.mp4")
            else:
                clips.place("frames", root / f"Actor_{actor}" / f"{name}-{actor}")
        (root / f"Actor_{actor}" / f"03-01-01-01-01-01-{actor}.wav").write_bytes(b"RIFF")
    return root


def test_names_parse_to_labels_with_one_clip_per_recording(root, cache_dir):
    dm = RAVDESSDataModule(str(root), cache_dir=cache_dir)
    assert len(dm.index()) == 4 * 3  # speech only; the AV copy and the audio left out
    assert {r.video_id for r in dm.index() if r.labels["emotion"] == "neutral"} == {
        f"Actor_{a}/02-01-01-01-01-01-{a}" for a in ACTORS
    }
    assert dm.label_maps == {
        "actor": {f"Actor_{a}": i for i, a in enumerate(ACTORS)},
        "emotion": {"happy": 0, "neutral": 1, "sad": 2},
        "intensity": {"normal": 0, "strong": 1},
        "statement": {"dogs": 0, "kids": 1},
    }
    sad = next(r for r in dm.index() if r.labels["emotion"] == "sad")
    assert (sad.labels["intensity"], sad.labels["statement"]) == ("normal", "dogs")
    both = RAVDESSDataModule(str(root), channels=["speech", "song"], cache_dir=cache_dir)
    assert len(both.index()) == 4 * 4


def test_onestyle_split_holds_out_seven_emotions_of_four_actors(root, cache_dir):
    dm = RAVDESSDataModule(str(root), test_actors=[21, 22], cache_dir=cache_dir)
    test = {(r.labels["actor"], r.labels["emotion"]) for r in dm.records("test")}
    assert test == {(f"Actor_{a}", e) for a in ("21", "22") for e in ("happy", "sad")}
    assert {r.labels["actor"] for r in dm.records("train")} == {f"Actor_{a}" for a in ACTORS}
    default = RAVDESSDataModule(str(root), cache_dir=cache_dir)  # test actors 21-24
    assert {r.labels["actor"] for r in default.records("test")} == {"Actor_21", "Actor_22"}
    with pytest.raises(ValueError, match="train_emotion must be one of"):
        RAVDESSDataModule(str(root), train_emotion="bored")


def test_vidstyleode_split_is_a_seeded_20_percent_of_every_actor(root, cache_dir):
    kwargs = dict(split_protocol="vidstyleode", channels=["speech", "song"], cache_dir=cache_dir)
    dm = RAVDESSDataModule(str(root), **kwargs)
    test = dm.records("test")
    assert sorted(r.labels["actor"] for r in test) == [f"Actor_{a}" for a in ACTORS]  # 1 of 4 each
    again = RAVDESSDataModule(str(root), **kwargs)
    assert [r.video_id for r in again.records("test")] == [r.video_id for r in test]
    other = [RAVDESSDataModule(str(root), split_seed=s, **kwargs) for s in (1, 2, 3)]
    assert any([r.video_id for r in o.records("test")] != [r.video_id for r in test] for o in other)


def test_descriptions_template_annotation_and_text_in_batches(root, tmp_path, cache_dir, capsys):
    out = tmp_path / "descriptions.csv"
    main([str(root), str(out)])
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["actor"], r["gender"]) for r in rows] == [
        ("Actor_01", "man"), ("Actor_02", "woman"), ("Actor_21", "man"), ("Actor_22", "woman"),
    ]  # fmt: skip
    kwargs = dict(split_protocol="vidstyleode", descriptions_file=str(out), cache_dir=cache_dir)
    with pytest.raises(ValueError, match="line 2: Actor_01 has no hair_style, hair_color, eye_color"):
        RAVDESSDataModule(str(root), **kwargs).index()
    looks = {"Actor_01": ("short", "black", "brown"), "Actor_02": ("long", "blond", "green")}
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["actor", "gender", "hair_style", "hair_color", "eye_color", "description"])
        for row in rows:
            style, color, eyes = looks.get(row["actor"], ("", "", ""))
            text = "" if row["actor"] in looks else f"{row['actor']} as written"
            writer.writerow([row["actor"], row["gender"], style, color, eyes, text])
    assert read_descriptions(out)["Actor_02"] == "a woman with long blond hair and green eyes"
    dm = RAVDESSDataModule(str(root), batch_size=4, **kwargs)
    batch = next(iter(dm.train_dataloader()))
    names = {i: a for a, i in dm.label_maps["actor"].items()}
    expected = {
        "Actor_01": "a man with short black hair and brown eyes",
        "Actor_02": "a woman with long blond hair and green eyes",
        "Actor_21": "Actor_21 as written",
        "Actor_22": "Actor_22 as written",
    }
    assert batch["text"] == [expected[names[int(i)]] for i in batch["actor"]]
    (tmp_path / "partial.csv").write_text("actor,description\nActor_01,someone\n")
    with pytest.raises(ValueError, match="describes no Actor_02, Actor_21, Actor_22"):
        RAVDESSDataModule(str(root), descriptions_file=str(tmp_path / "partial.csv"),
                          cache_dir=cache_dir).index()  # fmt: skip


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(RAVDESSDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_wrong_layouts_name_what_was_expected(clips, tmp_path, cache_dir):
    clips.place("video", tmp_path / "Actor01" / "02-01-01-01-01-01-01.mp4")
    with pytest.raises(FileNotFoundError, match="no Actor_XX folder .*expected RAVDESS"):
        RAVDESSDataModule(str(tmp_path), cache_dir=cache_dir).index()
    clips.place("video", tmp_path / "Actor_01" / "happy_kids_01.mp4")
    with pytest.raises(ValueError, match="happy_kids_01.mp4: the name does not parse"):
        RAVDESSDataModule(str(tmp_path), cache_dir=cache_dir).index()
    (tmp_path / "Actor_01" / "happy_kids_01.mp4").unlink()
    clips.place("video", tmp_path / "Actor_01" / "02-01-01-01-01-01-02.mp4")
    with pytest.raises(ValueError, match="actor 02 in the folder of Actor_01"):
        RAVDESSDataModule(str(tmp_path), cache_dir=cache_dir).index()
