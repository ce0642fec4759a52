"""FashionVideoDataModule: VidStyleODE's and DiCoMoGAN's forms of the text, the random 80/20
split or given split lists, and the text in batches."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from stylevideo.data_modules.fashion import FashionVideoDataModule
from stylevideo.video.io import frames_to_tensor, read_frames
from stylevideo.video.sampling import ConsecutiveFrames

VIDEOS = ("2c108113", "2c108787", "2c113876", "8c112803", "8c116019")
TEXT = {v: f"a photo of a woman wearing a {c} dress" for v, c in zip(VIDEOS, ("red", "blue",
        "green", "pink", "gray"), strict=True)}  # fmt: skip


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    """VidStyleODE's form: frame folders with text_descriptions.txt (one a video + .txt)."""
    root = tmp_path_factory.mktemp("fashion")
    for video in VIDEOS[:-1]:
        clips.place("frames", root / video, frame_name="{:03d}.png")
        (root / video / "text_descriptions.txt").write_text(TEXT[video] + "\n")
    clips.place("video", root / f"{VIDEOS[-1]}.mp4")
    (root / f"{VIDEOS[-1]}.txt").write_text(TEXT[VIDEOS[-1]])
    return root


@pytest.fixture(scope="module")
def release(clips, tmp_path_factory):
    """DiCoMoGAN's release: frame folders and line-aligned video / description lists."""
    root = tmp_path_factory.mktemp("dicomogan")
    for video in VIDEOS:
        clips.place("frames", root / video, frame_name="{:03d}.png")
    for split, videos in (("train", VIDEOS[:4]), ("test", VIDEOS[4:])):
        (root / f"{split}_videos.txt").write_text("".join(f"{v}/\n" for v in videos))
        (root / f"{split}_videos_descriptions.txt").write_text("".join(f"{TEXT[v]}\n" for v in videos))
    return root


def test_random_80_20_split_and_text_in_batches(root, cache_dir):
    dm = FashionVideoDataModule(str(root), cache_dir=cache_dir, resolution=(32, 24), batch_size=4)
    assert len(dm.records("test")) == 1 and len(dm.records("train")) == 4
    assert dm.texts == TEXT and dm.label_maps == {}
    batch = next(iter(dm.train_dataloader()))
    assert batch["frames"].shape[-2:] == (32, 24)
    assert batch["text"] == [TEXT[v] for v in batch["video_id"]]
    other = [FashionVideoDataModule(str(root), split_seed=s, cache_dir=cache_dir) for s in (1, 2, 3)]
    assert len({o.records("test")[0].video_id for o in other} | {dm.records("test")[0].video_id}) > 1


def test_release_lists_as_text_and_split(release, tmp_path, cache_dir):
    lists = ["train_videos.txt", "test_videos.txt"]
    dm = FashionVideoDataModule(str(release), split_lists=lists, cache_dir=cache_dir)
    assert [r.video_id for r in dm.records("test")] == [VIDEOS[4]] and dm.texts == TEXT
    csv = tmp_path / "texts.csv"
    csv.write_text(f"video,description\n{VIDEOS[0]},a yellow coat\n")
    dm = FashionVideoDataModule(str(release), descriptions_file=str(csv), cache_dir=cache_dir)
    assert dm.texts[VIDEOS[0]] == "a yellow coat" and dm.texts[VIDEOS[1]] == TEXT[VIDEOS[1]]
    (tmp_path / "train.txt").write_text(f"{VIDEOS[0]}\n{VIDEOS[1]}\nmissing\n")
    (tmp_path / "test.txt").write_text(f"{VIDEOS[2]}\n")
    with pytest.warns(UserWarning, match="2 videos .* in neither split list and left out; 1 listed"):
        dm = FashionVideoDataModule(
            str(release), split_lists=[str(tmp_path / "train.txt"), str(tmp_path / "test.txt")],
            cache_dir=cache_dir,
        )  # fmt: skip
        assert [r.video_id for r in dm.index()] == list(VIDEOS[:3])


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(FashionVideoDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_missing_text_and_wrong_layouts_name_what_was_expected(clips, tmp_path, cache_dir):
    clips.place("frames", tmp_path / VIDEOS[0])
    with pytest.raises(FileNotFoundError, match=r"1 of 1 videos have no description .*2c108113.*"
                                                r"expected Fashion videos"):  # fmt: skip
        FashionVideoDataModule(str(tmp_path), cache_dir=cache_dir).index()
    (tmp_path / "train_videos.txt").write_text(f"{VIDEOS[0]}\n")
    (tmp_path / "train_videos_descriptions.txt").write_text("one\ntwo\n")
    with pytest.raises(ValueError, match="lists 1 videos but train_videos_descriptions.txt has 2"):
        FashionVideoDataModule(str(tmp_path), cache_dir=cache_dir).index()
    (tmp_path / "train_videos_descriptions.txt").write_text("one\n")
    with pytest.raises(FileNotFoundError, match="split list .*nope.txt does not exist"):
        FashionVideoDataModule(str(tmp_path), split_lists=["nope.txt", "x.txt"], cache_dir=cache_dir).index()
    with pytest.raises(ValueError, match=r"split_lists must be \[train list, test list\]"):
        FashionVideoDataModule(str(tmp_path), split_lists=["a.txt"])


def test_w_plus_codes_of_the_sampled_frames_and_skip_frames(clips, tmp_path, cache_dir):
    """VidStyleODE's Fashion loader: <inversion_root>/<video>/<frame stem>.pt per frame ([1, L, D]
    or [L, D]), the first ``skip_frames`` frames of every video left out, times from the first kept."""
    root, codes = tmp_path / "frames", tmp_path / "PTI"
    for n, video in enumerate(VIDEOS[:2]):
        clips.place("frames", root / video, frame_name="{:03d}.png")  # 8 frames
        (root / video / "text_descriptions.txt").write_text(TEXT[video] + "\n")
        (codes / video).mkdir(parents=True)
        for i in range(8):  # code value = 100 * video + frame number: says which frame it belongs to
            code = torch.full((1, 6, 4), 100.0 * n + i) if i % 2 else torch.full((6, 4), 100.0 * n + i)
            torch.save(code, codes / video / f"{i:03d}.pt")
    dm = FashionVideoDataModule(
        str(root), inversion_root=str(codes), skip_frames=5, sampler=ConsecutiveFrames(3),
        cache_dir=cache_dir, resolution=(32, 24), batch_size=2, test_fraction=0.5,
    )  # fmt: skip
    assert [r.num_frames for r in dm.index()] == [3, 3]  # 8 - 5
    item = dm.dataset(dm.index()).load(0, np.random.default_rng(0))
    assert item["inversion"].shape == (3, 6, 4) and item["t"].tolist() == [0.0, 1.0, 2.0]
    assert item["inversion"][:, 0, 0].tolist() == [5.0, 6.0, 7.0]  # frames 5, 6, 7
    frames = read_frames(root / VIDEOS[0], [5, 6, 7])
    assert torch.equal(item["frames"], frames_to_tensor(frames, (32, 24)))
    batch = next(iter(dm.val_dataloader()))
    assert batch["inversion"].shape == (1, 3, 6, 4)
    (codes / VIDEOS[1] / "006.pt").unlink()
    with pytest.raises(FileNotFoundError, match=r"no W\+ code .*006.pt"):
        dm.dataset(dm.index(), ConsecutiveFrames(2)).load(1, np.random.default_rng(3))
    shutil.rmtree(codes / VIDEOS[1])
    with pytest.raises(FileNotFoundError, match=f"1 videos have no W\\+ codes .*{VIDEOS[1]}"):
        FashionVideoDataModule(str(root), inversion_root=str(codes), cache_dir=cache_dir).index()
