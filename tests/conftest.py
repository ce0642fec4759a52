"""Shared test set-up: offline W&B, no downloads, deterministic CPU, the real clips.

Every test starts from the same state and leaves none behind: fixed seeds (torch, numpy,
random) and torch thread count before it; environment variables and the weight registry
restored after it.
"""

from __future__ import annotations

import os
from pathlib import Path

import av  # noqa: F401  (PyAV's FFmpeg loads before decord's: see stylevideo.video.io)
import pytest
from fixed_state import fixed_start_and_no_leftovers

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("WANDB_DISABLE_GIT", "true")

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(autouse=True)
def _fixed_start():
    with fixed_start_and_no_leftovers():
        yield


@pytest.fixture(autouse=True)
def _isolated_weights(tmp_path, monkeypatch):
    """Point the weight cache at an empty folder: a test never sees a real cache."""
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(tmp_path / "weights"))


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path, monkeypatch):
    """Run every test in its own folder: nothing a test writes lands in the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """../shared/data/real (real talking-head, Tai Chi and TED clips)."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real clips not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A tiny synthetic dataset, generated once per session: 3 actors x (talk, nod, smile) x
    3 clips of 12-24 frames at 32x32, 25 fps, seed 0 (read-only for tests)."""
    from stylevideo.video.synthetic import generate_synthetic_dataset

    return generate_synthetic_dataset(
        tmp_path_factory.mktemp("synthetic"),
        num_actors=3,
        actions=("talk", "nod", "smile"),
        clips_per_pair=3,
        min_frames=12,
        max_frames=24,
        resolution=32,
        fps=25,
        seed=0,
    )
