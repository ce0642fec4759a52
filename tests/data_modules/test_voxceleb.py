"""VoxCelebDataModule: FOMM's train/test folders, the person id label, real talking heads."""

from __future__ import annotations

import pytest

from stylevideo.data_modules.voxceleb import VoxCelebDataModule
from stylevideo.video.sampling import IrregularFrames

TRAIN = ("id10001#7w0IBEWc9Qw#000993#001143", "id10001#Y8hIVOBuels#001436#001563",
         "id10009#AtavJVP4bCk#012568#012852")  # fmt: skip
TEST = ("id10280#NXjT3732Ekg#001093#001192", "id10283#Mz6f4sXzzFw#000000#000164")


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    root = tmp_path_factory.mktemp("vox")
    for i, name in enumerate(TRAIN + TEST):
        split = "train" if name in TRAIN else "test"
        kind = "frames" if i % 2 else "video"
        clips.place(kind, root / split / f"{name}.mp4", frame_name="{:07d}.png")
    return root


def test_split_and_person_labels(root, cache_dir):
    dm = VoxCelebDataModule(str(root), cache_dir=cache_dir)
    assert sorted(r.video_id for r in dm.records("train")) == sorted(f"train/{n}" for n in TRAIN)
    assert sorted(r.video_id for r in dm.records("test")) == sorted(f"test/{n}" for n in TEST)
    assert dm.label_maps == {"actor": {"id10001": 0, "id10009": 1, "id10280": 2, "id10283": 3}}


def test_real_talking_heads(real_data, tmp_path, cache_dir):
    for split, clip in (("train", "talking_a"), ("test", "talking_b")):
        (tmp_path / split).mkdir()
        (tmp_path / split / f"{clip}.mp4").symlink_to(real_data / "voxceleb" / f"{clip}.mp4")
    dm = VoxCelebDataModule(str(tmp_path), sampler=IrregularFrames(k=5), resolution=128,
                            cache_dir=cache_dir)  # fmt: skip
    assert [r.num_frames for r in dm.index()] == [652, 221]
    assert dm.label_maps["actor"] == {"talking_a": 0, "talking_b": 1}  # names without '#'
    batch = next(iter(dm.test_dataloader()))
    assert batch["frames"].shape == (1, 5, 3, 128, 128) and batch["t"][0, 0] == 0


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(VoxCelebDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_wrong_layouts_name_what_was_expected(clips, tmp_path, cache_dir):
    clips.place("video", tmp_path / "id10001" / "7w0IBEWc9Qw" / "00001.mp4")  # VoxCeleb's raw tree
    with pytest.raises(FileNotFoundError, match="no train/ folder .*expected VoxCeleb from FOMM"):
        VoxCelebDataModule(str(tmp_path), cache_dir=cache_dir).index()
