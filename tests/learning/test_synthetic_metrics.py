"""The synthetic benchmark's networks and metrics against their definitions: the recogniser and
the mouth regressor on held-out clips, the Frechet distance on the recogniser's features, the
mouth-area correlation against numpy's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from learning_helpers import bench_data

from stylevideo.metrics.frechet import FrechetDistance
from stylevideo.metrics.synthetic import Judges, MouthAreaCorrelation, load_clips, train_judges


def _shoelace64(points: np.ndarray) -> np.ndarray:
    """Polygon areas ``[..., P, 2]`` in float64: 1/2 |sum_i x_i y_(i+1) - x_(i+1) y_i|."""
    x, y = points[..., 0].astype(np.float64), points[..., 1].astype(np.float64)
    return 0.5 * np.abs((x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y).sum(-1))


def _windows(frames: torch.Tensor, n: int) -> torch.Tensor:
    """Every window of ``n`` consecutive frames of one clip ``[T, 3, H, W]``: ``[T - n + 1, n, 3, H, W]``."""
    return frames.unfold(0, n, 1).permute(0, 4, 1, 2, 3)


@pytest.fixture(scope="module")
def held_out(bench_root):
    dm = bench_data(bench_root)
    return [load_clips(dm, split, 32, 16) for split in ("val", "test")]


@torch.no_grad()
def test_recogniser_names_actor_and_action_of_held_out_clips(judges, held_out):
    """Every 16-frame window of the 18 held-out clips (chance: 1/3 for each label)."""
    hits = {"actor": [], "action": []}
    for clips in held_out:
        for frames, actor, action in zip(clips.frames, clips.actor, clips.action, strict=True):
            logits = judges.recognizer(_windows(frames, judges.num_frames))
            hits["actor"].append((logits["actor"].argmax(1) == actor).double().mean().item())
            hits["action"].append((logits["action"].argmax(1) == action).double().mean().item())
    assert np.mean(hits["actor"]) >= 0.95, hits
    assert np.mean(hits["action"]) >= 0.8, hits


@torch.no_grad()
def test_mouth_regressor_measures_held_out_frames(judges, held_out):
    """Points within a pixel of the truth at 32x32, and the measured area follows the true one
    (Pearson r per clip, numpy's, over the clips whose mouth moves: talk and smile)."""
    errors, rs = [], []
    for clips in held_out:
        for frames, truth in zip(clips.frames, clips.mouth, strict=True):
            polygon, area = judges.mouth(frames)
            errors.append((polygon - truth).norm(dim=-1).mean().item())
            true_area = _shoelace64(truth.numpy())
            if true_area.std() > 0.05 * true_area.mean():
                rs.append(np.corrcoef(true_area, area.double().numpy())[0, 1])
    assert np.mean(errors) < 1.0, errors
    assert len(rs) >= 8 and np.mean(rs) >= 0.7, rs


@torch.no_grad()
def test_frechet_distance_of_recogniser_features(judges, bench_root, held_out):
    """FD(real, same real) = 0; real training clips against held-out real clips is far below
    real against the same clips with their frames shuffled in time, or against noise."""
    train = load_clips(bench_data(bench_root), "train", 32, 16)
    real = torch.cat([_windows(f, 16)[::4] for f in train.frames])
    other = torch.cat([_windows(f, 16)[::4] for c in held_out for f in c.frames])
    g = torch.Generator().manual_seed(0)
    shuffled = torch.stack([v[torch.randperm(16, generator=g)] for v in real])
    noise = torch.rand(real.shape, generator=g) * 2 - 1

    def fd(a: torch.Tensor, b: torch.Tensor) -> float:
        metric = FrechetDistance(judges.recognizer.num_features)
        metric.update(judges.recognizer.features(a), real=True)
        metric.update(judges.recognizer.features(b), real=False)
        return metric.compute().item()

    same, held, mixed, random = fd(real, real), fd(real, other), fd(real, shuffled), fd(real, noise)
    assert abs(same) < 1e-6 * held
    assert mixed > 3 * held and random > 10 * held, (held, mixed, random)


def test_mouth_area_correlation_against_numpy():
    g = np.random.default_rng(0)
    ref = 10 + g.normal(size=(4, 12))
    out = np.stack([2 * ref[0] + 1, -ref[1], g.normal(size=12), ref[3] + g.normal(size=12)])
    still = np.full((1, 12), 9.0)
    metric = MouthAreaCorrelation(min_variation=0.05)
    metric.update(torch.from_numpy(np.concatenate([ref, still])), torch.from_numpy(np.concatenate([out, out[:1]])))
    result = metric.compute()
    expected = np.mean([np.corrcoef(a, b)[0, 1] for a, b in zip(ref, out, strict=True)])
    assert result["r"].item() == pytest.approx(expected, abs=1e-12)
    assert result["videos"].item() == 4 and result["skipped"].item() == 1
    metric.reset()
    metric.update(torch.from_numpy(still), torch.from_numpy(out[:1]))
    assert torch.isnan(metric.compute()["r"])
    with pytest.raises(ValueError, match=r"two \[B, T\] signals"):
        metric.update(torch.zeros(2, 5), torch.zeros(2, 4))


def test_training_is_seeded_and_leaves_the_callers_rng(bench_root, tmp_path):
    dm = bench_data(bench_root)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = train_judges(dm, steps=2, seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    b = train_judges(dm, steps=2, seed=5)
    c = train_judges(dm, steps=2, seed=6)
    flat = [torch.cat([p.flatten() for p in j.parameters()]) for j in (a, b, c)]
    assert torch.equal(flat[0], flat[1]) and not torch.equal(flat[0], flat[2])
    a.save(tmp_path / "judges.pt")
    loaded = Judges.load(tmp_path / "judges.pt")
    assert (
        loaded.config == a.config == dict(num_actors=3, num_actions=3, num_frames=16, width=8, mouth_width=16, size=32)
    )
    assert torch.equal(torch.cat([p.flatten() for p in loaded.parameters()]), flat[0])
