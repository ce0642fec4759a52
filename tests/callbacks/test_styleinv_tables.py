"""styleinv Tables 1, 2 and 6 through ``lightning test`` with experiments/eval/styleinv_table1.yaml
at tiny size: which frames and clips feed FVD16 / FVD128 / FID (StyleInV's metric code), a
generator returning the real clips scores FVD128 = 0, and the tables have the paper's layout."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
import yaml
from table_helpers import EVAL, REPO, SYNTHETIC, frechet_distance, read_markdown, tiny_eval_config, uint8

from stylevideo.cli import StyleVideoCLI, expand_config_bases
from stylevideo.data_modules.synthetic import SyntheticDataModule

N, SHORT, LONG, FID = 9, 4, 12, 36  # stand-ins for 2048 videos, 16 and 128 frames, 50k frames


def test_the_config_is_the_papers_protocol():
    """styleinv 4: 2048 clips of 128 frames, FVD16 on their first 16, FID on 50k frames."""
    video, frame, *writers = yaml.safe_load((EVAL / "styleinv_table1.yaml").read_text())["trainer"]["callbacks"]
    assert video["init_args"]["metrics"] == ["fvd2048_16f", "fvd2048_128f"]
    assert [frame["init_args"][k] for k in ("metrics", "num_videos", "num_frames")] == [["fid50k"], 2048, 128]
    same = ("seed", "batch_size", "split")  # FID's frames come from the same generated videos
    assert [video["init_args"][k] for k in same] == [frame["init_args"][k] for k in same]
    assert [w["init_args"]["table"] for w in writers] == ["table1", "table2", "table6"]


def _run(tmp_path, synthetic_root):
    maps = {i: yaml.safe_load((EVAL / "styleinv_table1.yaml").read_text())["trainer"]["callbacks"][i] for i in (2, 4)}
    names = {"fvd2048_16f": f"fvd{N}_{SHORT}f", "fvd2048_128f": f"fvd{N}_{LONG}f", "fid50k": f"fid{FID}"}
    tiny = tiny_eval_config(
        "styleinv_table1",
        {
            0: {"metrics": list(names.values())[:2], "batch_size": 3},
            1: {"metrics": [f"fid{FID}"], "num_videos": N, "num_frames": LONG, "batch_size": 3},
            2: {"groups": {"SyntheticDataModule": ["TaiChi"]}, "metric_names": names},
            4: {"groups": {"SyntheticDataModule": ["SkyTimelapse"]}, "metric_names": names},
        },
        tmp_path / "tiny.yaml",
        model={"class_path": "table_helpers.PerfectVideos", "init_args": {"batch_size": 3, "noise_mode": "none"}},
        data={"init_args": {"root": str(synthetic_root), "resolution": 32, "batch_size": 3, **SYNTHETIC}},
        trainer={"logger": False, "accelerator": "cpu", "devices": 1, "enable_progress_bar": False},
    )
    config = yaml.safe_load(tiny.read_text())
    for i in (0, 1):  # stand-in detectors with the real interfaces, recording what they are fed
        key = "i3d" if i == 0 else "inception_fid"
        stand_in = "RecordingI3D" if i == 0 else "RecordingFeatures"
        config["trainer"]["callbacks"][i]["init_args"]["extractors"] = {
            key: {"class_path": f"table_helpers.{stand_in}"}
        }
    config["data"]["init_args"]["sampler"] = {
        "class_path": "stylevideo.video.sampling.ConsecutiveFrames",
        "init_args": {"n": 2},
    }
    tiny.write_text(yaml.safe_dump(config, sort_keys=False))
    assert maps[2]["init_args"]["groups"]["TaiChiDataModule"] == ["TaiChi"]
    argv = ["test", "--config", str(REPO / "experiments" / "styleinv_synthetic.yaml")]
    argv += ["--config", str(EVAL / "styleinv_table1.yaml"), "--config", str(tiny), "--run_dir", str(tmp_path / "run")]
    return StyleVideoCLI(args=expand_config_bases(argv))


def _window(videos: list[torch.Tensor], clip: torch.Tensor) -> tuple[int, int]:
    """(video, start) of the consecutive frames ``clip`` ``[T, 3, H, W]`` in ``videos``."""
    found = [
        (v, s)
        for v, video in enumerate(videos)
        for s in range(len(video) - len(clip) + 1)
        if torch.equal(video[s : s + len(clip)], clip)
    ]
    assert found, "a fed clip is no window of a training video"
    return found[0]


def _counts(frames: torch.Tensor) -> dict[bytes, int]:
    """How often each distinct frame occurs in ``frames`` (synthetic videos repeat frames)."""
    out: dict[bytes, int] = {}
    for f in frames:
        out[f.numpy().tobytes()] = out.get(f.numpy().tobytes(), 0) + 1
    return out


def test_table1_protocol_and_layout_through_lightning_test(tmp_path, synthetic_root):
    cli = _run(tmp_path, synthetic_root)
    video_cb, frame_cb = cli.trainer.callbacks[:2]
    dm = SyntheticDataModule.from_root(str(synthetic_root), resolution=32)
    train = [uint8(b["frames"][0]) for b in dm.video_dataloader("train")]
    assert len(train) == N

    # FVD: real clips, one per training video (4 and 12 consecutive frames), then the generated
    # clips: FVD16 is the first 4 frames of the same generated 12-frame videos.
    i3d = video_cb.scores[f"fvd{N}_{SHORT}f"].detector
    fed = [x.permute(0, 2, 1, 3, 4) for x in i3d.seen]  # uint8 [B, T, 3, H, W]
    real = {t: torch.cat([x for x in fed[:6] if x.shape[1] == t]) for t in (SHORT, LONG)}
    fake = {t: torch.cat([x for x in fed[6:] if x.shape[1] == t]) for t in (SHORT, LONG)}
    assert [len(real[SHORT]), len(real[LONG]), len(fake[SHORT]), len(fake[LONG])] == [N] * 4
    assert sorted(_window(train, c)[0] for c in real[SHORT]) == list(range(N))  # one clip per video
    assert torch.equal(fake[SHORT], fake[LONG][:, :SHORT])
    assert torch.equal(fake[LONG], real[LONG])  # the perfect generator's videos are the real clips

    def fvd(a, b):
        return frechet_distance(
            i3d.embed(a.permute(0, 2, 1, 3, 4)).detach(), i3d.embed(b.permute(0, 2, 1, 3, 4)).detach()
        )

    # FID: real frames over whole videos, every video equally often (StyleInV's fid50k); the
    # generated frames distinct frames of the same N videos of 12 frames.
    net = frame_cb.scores[f"fid{FID}"].inception
    seen = torch.cat(net.seen)  # the real frames first, then the generated ones
    assert len(seen) == 2 * FID
    real_frames, fake_frames = seen[:FID], seen[FID:]
    owners = [_window(train, f[None])[0] for f in real_frames]
    assert np.bincount(owners).tolist() == [FID // N] * N
    pool = _counts(uint8(cli.model.real_clips(LONG)).flatten(0, 1))  # every frame of the N videos
    drawn = _counts(fake_frames)
    assert all(drawn[k] <= pool.get(k, 0) for k in drawn)  # drawn from them without replacement

    with open(tmp_path / "run" / "table1.csv", newline="") as f:
        ours = dict(zip(*[row for row in csv.reader(f)][::6], strict=True))  # header, our row
    fvd16, fid = float(ours["TaiChi FVD16"]), float(ours["TaiChi FID"])
    assert float(ours["TaiChi FVD128"]) == pytest.approx(0, abs=1e-4 * fvd16)  # 9 clips, 16 features: singular
    assert fvd16 == pytest.approx(fvd(real[SHORT], fake[SHORT]), rel=1e-4)
    assert fid == pytest.approx(
        frechet_distance(net.embed(real_frames).detach(), net.embed(fake_frames).detach()), rel=1e-4
    )

    grid = read_markdown(tmp_path / "run" / "table1.md")
    datasets = ("DeeperForensics", "FaceForensics", "TaiChi", "SkyTimelapse")
    assert grid[0] == ["Method", *[f"{d} {c}" for d in datasets for c in ("FID", "FVD16", "FVD128")]]
    assert [r[0] for r in grid[1:]] == [
        "MoCoGAN-HD",
        "DIGAN",
        "StyleGAN-V",
        "Long-Video-GAN",
        "StyleInV (ours)",
        "ours: PerfectVideos (no checkpoint)",
    ]
    assert grid[5][7:10] == ["41.55", "185.72", "328.90"]
    assert grid[6][1:7] == [""] * 6 and grid[6][10:] == [""] * 3 and float(grid[6][9]) == 0
    text = (tmp_path / "run" / "table1.md").read_text()
    (video_line,) = [line for line in text.splitlines() if line.startswith("- VideoMetrics: ")]
    assert f"metrics=['fvd{N}_{SHORT}f', 'fvd{N}_{LONG}f']" in video_line and "split=train" in video_line
    assert f"- FrameMetrics: metrics=['fid{FID}'], num_frames={LONG}, frames_per_video=1, num_videos={N}" in text
    assert "Deviation: real FVD clips start at a seeded random frame" in text
    assert "extractor 'i3d' is a stand-in" in text and "extractor 'inception_fid' is a stand-in" in text

    # Table 6 from the same numbers (our row named by the model's noise mode); no Table 2 here
    six = read_markdown(tmp_path / "run" / "table6.md")
    assert six[0][5:] == ["SkyTimelapse FVD16", "SkyTimelapse FVD128"]
    assert six[-1][0] == "ours: PerfectVideos noise_mode=none (no checkpoint)"
    assert six[-1][1:5] == [""] * 4 and six[-1][5:] == grid[6][8:10]
    assert not (tmp_path / "run" / "table2.md").exists()
