"""Shared settings of the synthetic-benchmark and learning tests."""

from __future__ import annotations

from stylevideo.data_modules.synthetic import SyntheticDataModule

#: 3 actors x (talk, nod, smile) x 4 clips (2 train, 1 val, 1 test) of 20-28 frames at 32x32.
BENCH_DATA = dict(
    num_actors=3,
    actions=("talk", "nod", "smile"),
    clips_per_pair=4,
    min_frames=20,
    max_frames=28,
    resolution=32,
    fps=25,
    seed=0,
)
JUDGE_STEPS = 200


def bench_data(root, **kwargs) -> SyntheticDataModule:
    """A data module over ``root`` (set up) with the fixture's resolution."""
    dm = SyntheticDataModule.from_root(str(root), resolution=32, **kwargs)
    dm.setup()
    return dm
