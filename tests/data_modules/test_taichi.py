"""TaiChiDataModule: FOMM's train/test layout (videos and `.mp4` frame folders), both splits."""

from __future__ import annotations

import pytest

from stylevideo.data_modules.taichi import TaiChiDataModule
from stylevideo.video.sampling import SourceDriving

TRAIN = ["u6rJiF-gPx8#000080#000300", "u6rJiF-gPx8#000575#000717", "-_6BRs3fZi8#000010#000200"]
TEST = ["2X9Bx3oC5dM#000040#000190", "aBc_dEf-123#000000#000120"]


@pytest.fixture(scope="module")
def root(clips, tmp_path_factory):
    """FOMM's naming: the .mp4 form for some clips, the default .png frame folders for others."""
    root = tmp_path_factory.mktemp("taichi")
    for i, name in enumerate(TRAIN + TEST):
        split = "train" if name in TRAIN else "test"
        kind = "video" if i % 2 else "frames"
        clips.place(kind, root / split / f"{name}.mp4", frame_name="{:07d}.png")
    return root


def test_fomm_layout_and_lia_split(root, cache_dir):
    dm = TaiChiDataModule(str(root), cache_dir=cache_dir)
    assert sorted(r.video_id for r in dm.records("train")) == sorted(f"train/{n}" for n in TRAIN)
    assert sorted(r.video_id for r in dm.records("test")) == sorted(f"test/{n}" for n in TEST)
    assert sorted(r.num_frames for r in dm.records("train")) == [8, 8, 12]
    assert dm.label_maps == {}
    val = [v for batch in dm.val_dataloader() for v in batch["video_id"]]
    assert sorted(val) == sorted(f"test/{n}" for n in TEST)  # no val split: LIA validates on test


def test_styleinv_protocol_trains_and_evaluates_on_every_video(root, cache_dir):
    dm = TaiChiDataModule(str(root), split_protocol="styleinv", cache_dir=cache_dir, batch_size=2)
    assert len(dm.records("train")) == 5 and dm.records("test") == []
    loader = dm.clip_dataloader(8, split="val")
    assert sum(len(b["video_id"]) for b in loader) == 5  # FVD reals from the training videos
    with pytest.raises(ValueError, match="split_protocol must be one of"):
        TaiChiDataModule(str(root), split_protocol="fomm")


def test_every_sampler_stays_inside_every_clip(root, cache_dir, check_samplers):
    check_samplers(TaiChiDataModule(str(root), cache_dir=cache_dir, strict=True, resolution=32))


def test_a_real_tai_chi_clip(real_data, tmp_path, cache_dir):
    for split in ("train", "test"):
        (tmp_path / split).mkdir()
        (tmp_path / split / "real#000000#000458.mp4").symlink_to(real_data / "taichi/taichi_a.mp4")
    dm = TaiChiDataModule(str(tmp_path), sampler=SourceDriving(), resolution=64, cache_dir=cache_dir)
    assert [r.num_frames for r in dm.index()] == [458, 458]
    item = dm.dataset(dm.records("train"))[0]
    assert item["frames"].shape == (2, 3, 64, 64) and item["t"][0] != item["t"][1]


def test_wrong_layouts_name_what_was_expected(root, clips, tmp_path, cache_dir):
    with pytest.raises(FileNotFoundError, match="does not exist .*expected TaiChi-HD"):
        TaiChiDataModule(str(tmp_path / "missing"), cache_dir=cache_dir).index()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="is empty .*train/ and <root>/test/"):
        TaiChiDataModule(str(tmp_path / "empty"), cache_dir=cache_dir).index()
    flat = tmp_path / "flat"
    clips.place("video", flat / "a.mp4")  # videos without train/ and test/
    with pytest.raises(FileNotFoundError, match="no train/ folder .*expected TaiChi-HD"):
        TaiChiDataModule(str(flat), cache_dir=cache_dir).index()
    clips.place("video", flat / "train" / "a.mp4")
    with pytest.raises(FileNotFoundError, match="no test/ folder"):
        TaiChiDataModule(str(flat), cache_dir=cache_dir).index()
    assert len(TaiChiDataModule(str(flat), "styleinv", cache_dir=cache_dir).index()) == 1
    (flat / "test").mkdir()
    (flat / "test" / "notes.txt").write_text("not a clip")
    with pytest.raises(FileNotFoundError, match="test/ holds no videos or frame folders"):
        TaiChiDataModule(str(flat), cache_dir=cache_dir).index()
