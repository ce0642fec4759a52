"""lia Table 1 (whole videos, first frame as source, in chunks) and Table 2 (seeded, saved
cross-video pairs, relative transfer) on the synthetic data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.metrics.animation import PixelL1
from stylevideo.metrics.animation_protocol import animate_in_chunks, pair_batches, pair_list
from stylevideo.video.io import frames_to_tensor, read_frames


@pytest.fixture(scope="module")
def datamodule(synthetic_root):
    dm = SyntheticDataModule.from_root(str(synthetic_root), resolution=16, batch_size=4)
    dm.setup()
    return dm


def decoded(record, n=None):
    """A video decoded independently of the data module: its first ``n`` frames at 16px."""
    return frames_to_tensor(read_frames(record.path, np.arange(n or record.num_frames)), 16)


class PerfectAnimator:
    """Returns the driving frames (a perfect reconstruction) and records every call."""

    def __init__(self):
        self.calls = []

    def animate(self, source, driving, *, relative=True):
        self.calls.append((source.clone(), driving.clone(), relative))
        return driving.clone()


def test_every_frame_of_every_test_video_goes_in_with_the_first_as_source(datamodule):
    records = {r.video_id: r for r in datamodule.records("test")}
    assert len({r.num_frames for r in records.values()}) > 1  # videos of several lengths
    l1, seen = PixelL1(), {}
    for batch in datamodule.video_dataloader("test"):
        video, (video_id,) = batch["frames"], batch["video_id"]
        model, parts = PerfectAnimator(), []
        for part, out in animate_in_chunks(model.animate, video[:, 0], video, chunk=5):
            l1.update(out, part)
            parts.append(part)
        expected = decoded(records[video_id])
        assert torch.equal(torch.cat(parts, dim=1)[0], expected)  # every frame, in order
        assert all(torch.equal(source[0], expected[0]) and not rel for source, _, rel in model.calls)
        assert [d.shape[1] for _, d, _ in model.calls] == [
            min(5, len(expected) - s) for s in range(0, len(expected), 5)
        ]
        seen[video_id] = int(batch["index"])
    assert set(seen) == set(records)  # no video left out for its length
    assert float(l1.compute()) == 0.0  # a perfect model gets L1 = 0
    shards = [[int(b["index"]) for b in datamodule.video_dataloader("test", rank=r, world_size=2)] for r in (0, 1)]
    assert sorted(shards[0] + shards[1]) == sorted(seen.values()) and not set(shards[0]) & set(shards[1])


def relative_animate(source, driving, *, relative=True):
    """A frame-wise relative animator (Eq. 12's form): the source moved by x_t - x_1."""
    assert relative
    return source[:, None] + driving - driving[:, :1]


def test_relative_chunks_equal_the_whole_video_animation():
    """Eq. 12 in chunks: every part is anchored at the video's first driving frame."""
    g = torch.Generator().manual_seed(1)
    source, driving = torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 7, 3, 8, 8, generator=g)
    parts = [out for _, out in animate_in_chunks(relative_animate, source, driving, chunk=3, relative=True)]
    assert [p.shape[1] for p in parts] == [3, 3, 1]
    assert torch.equal(torch.cat(parts, dim=1), relative_animate(source, driving))
    model = PerfectAnimator()
    list(animate_in_chunks(model.animate, source, driving, chunk=3, relative=True))
    assert all(torch.equal(d[:, 0], driving[:, 0]) and rel for _, d, rel in model.calls)


def test_cross_video_pairs_are_seeded_saved_and_reloaded(datamodule, tmp_path):
    records = {r.video_id: r for r in datamodule.records("test")}
    pairs, path = pair_list(datamodule, "test", seed=0, path=None, folder=tmp_path)
    assert path == tmp_path / "pairs_test.csv" and path.read_text().splitlines()[0] == "source,driving"
    assert sorted(d for _, d in pairs) == sorted(records)  # every test video drives once
    assert all(s != d for s, d in pairs)
    assert pair_list(datamodule, "test", seed=0, path=None, folder=tmp_path / "again")[0] == pairs
    assert pair_list(datamodule, "test", seed=1, path=None, folder=tmp_path / "other")[0] != pairs
    assert pair_list(datamodule, "test", seed=5, path=path, folder=tmp_path / "unused")[0] == pairs  # reloaded

    (source_id, driving_id), *_ = pairs
    batch = next(pair_batches(datamodule, pairs, "test", max_frames=10))
    assert (batch["source_id"], batch["driving_id"]) == (source_id, driving_id)
    assert torch.equal(batch["source"], decoded(records[source_id], 1))
    assert torch.equal(batch["driving"][0], decoded(records[driving_id], 10))

    bad = tmp_path / "bad.csv"
    bad.write_text(f"source,driving\n{source_id},{driving_id}\n{source_id},nosuchvideo\n")
    with pytest.raises(ValueError, match=r"bad.csv:3: expected two video ids of the split"):
        pair_list(datamodule, "test", seed=0, path=bad, folder=tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        pair_list(datamodule, "test", seed=0, path=tmp_path / "missing.csv", folder=tmp_path)
