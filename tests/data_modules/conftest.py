"""Fixtures for the dataset-module tests: tiny clips to lay out in each dataset's real naming.

``clips.place(kind, dest)`` puts a clip at ``dest``: ``"video"`` (a 12-frame 32x32 mp4 of the
synthetic generator), ``"frames"`` (a folder of its first 8 frames as png), ``"short"`` (a
3-frame folder) or ``"corrupt"`` (an mp4 of garbage bytes). ``check_samplers`` runs every
sampler the methods use over a module in strict mode, where a frame index past the end of a
clip raises instead of being skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylevideo.video.io import count_frames, read_frames
from stylevideo.video.sampling import (
    ConsecutiveFrames,
    IrregularFrames,
    RandomFrames,
    SourceDriving,
    SparseFrames,
)
from stylevideo.video.synthetic import generate_synthetic_dataset

#: One sampler of each kind (onestyle pairs / triplets, styleinv FFA-ST, lia source/driving,
#: vidstyleode irregular timestamps, an 8-frame metric clip at this scale), all <= 8 frames.
SAMPLERS = (
    RandomFrames(2),
    ConsecutiveFrames(2),
    ConsecutiveFrames(3),
    SparseFrames(n=3, max_distance=8, clip_length=8),
    SourceDriving(),
    IrregularFrames(k=3),
    ConsecutiveFrames(8),
)


class ClipBank:
    def __init__(self, folder: Path):
        root = generate_synthetic_dataset(
            folder / "synthetic", num_actors=1, actions=("talk",), clips_per_pair=1,
            min_frames=12, max_frames=12, resolution=32, fps=25, seed=0,
        )  # fmt: skip
        self.video = root / "actor00" / "talk" / "000.mp4"
        frames = read_frames(self.video, range(8)).numpy()
        self.frames = folder / "frames"
        self.short = folder / "short"
        for target, n in ((self.frames, 8), (self.short, 3)):
            target.mkdir()
            for i in range(n):
                Image.fromarray(frames[i]).save(target / f"frame{i:04d}.png")
        self.corrupt = folder / "corrupt.mp4"
        self.corrupt.write_bytes(np.random.default_rng(0).bytes(2048))
        self.lengths = {"video": 12, "frames": 8, "short": 3, "corrupt": None}

    def place(self, kind: str, dest: Path, frame_name: str = "frame{:04d}.png") -> Path:
        """Put a clip of ``kind`` at ``dest`` (a file, or a folder of frames named
        ``frame_name.format(i)``); returns ``dest``."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        source = getattr(self, kind)
        if source.is_dir():
            dest.mkdir()
            for i, frame in enumerate(sorted(source.iterdir())):
                shutil.copyfile(frame, dest / frame_name.format(i))
        else:
            shutil.copyfile(source, dest)
        return dest


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> ClipBank:
    return ClipBank(tmp_path_factory.mktemp("clip_bank"))


@pytest.fixture
def cache_dir(tmp_path) -> str:
    """An empty index-cache folder (tests never touch ~/.cache)."""
    return str(tmp_path / "index_cache")


def _check_samplers(dm, max_items: int = 6) -> None:
    """Every sampler loads up to ``max_items`` clips of ``dm`` (built with ``strict=True``, so a
    frame index past the end raises); the indexed lengths are the true ones."""
    assert dm.strict
    records = dm.index()
    assert all(r.num_frames == count_frames(r.path) for r in records)
    for sampler in SAMPLERS:
        assert all(r.num_frames >= sampler.min_frames for r in records)
        dataset = dm.dataset(records, sampler)
        for i in np.linspace(0, len(records) - 1, min(max_items, len(records))).astype(int):
            item = dataset[int(i)]
            assert item["frames"].shape[:2] == (sampler.num_samples, 3)


@pytest.fixture(scope="session")
def check_samplers():
    return _check_samplers
