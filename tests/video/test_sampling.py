"""Frame samplers: never out of bounds, the papers' rules, clear errors, config-friendly."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest
from jsonargparse import ArgumentParser

from stylevideo.video.sampling import (
    ConsecutiveFrames,
    FrameSampler,
    IrregularFrames,
    RandomFrames,
    SourceDriving,
    SparseFrames,
)

SAMPLERS = [
    RandomFrames(),
    RandomFrames(n=5),
    ConsecutiveFrames(n=2),
    ConsecutiveFrames(n=3, stride=4),
    ConsecutiveFrames(n=16),
    SparseFrames(),
    SparseFrames(n=4, max_distance=8, clip_length=20),
    SourceDriving(),
    IrregularFrames(),
    IrregularFrames(k=5, span=9),
]


@pytest.mark.parametrize("sampler", SAMPLERS, ids=repr)
def test_never_out_of_bounds(sampler):
    rng = np.random.default_rng(0)
    lengths = np.concatenate([np.arange(sampler.min_frames, sampler.min_frames + 40), rng.integers(1, 400, 60)])
    for num_frames in lengths[lengths >= sampler.min_frames]:
        for _ in range(5):
            indices, t = sampler(int(num_frames), rng)
            assert indices.dtype == np.int64 and t.dtype == np.float32
            assert indices.shape == t.shape == (sampler.num_samples,)
            assert indices.min() >= 0 and indices.max() < num_frames, (num_frames, indices)


@pytest.mark.parametrize("sampler", [s for s in SAMPLERS if s.min_frames > 1], ids=repr)
def test_too_short_video_names_needed_and_actual_length(sampler):
    short = sampler.min_frames - 1
    with pytest.raises(ValueError, match=rf"at least {sampler.min_frames} frames, got one of {short}"):
        sampler(short, np.random.default_rng(0))


@pytest.mark.parametrize("sampler", SAMPLERS, ids=repr)
def test_same_generator_state_same_sample_and_picklable(sampler):
    a = sampler(300, np.random.default_rng(7))
    b = pickle.loads(pickle.dumps(sampler))(300, np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_min_frames():
    assert ConsecutiveFrames(n=3, stride=4).min_frames == 9
    assert SparseFrames(n=3).min_frames == 128 and SparseFrames(n=3, clip_length=16).min_frames == 16
    assert SourceDriving().min_frames == 2
    assert IrregularFrames(k=4).min_frames == 4
    assert RandomFrames(n=8).min_frames == 1


def test_consecutive_frames_absolute_times():
    rng = np.random.default_rng(1)
    starts = set()
    for _ in range(200):
        indices, t = ConsecutiveFrames(n=3, stride=2)(20, rng)
        np.testing.assert_array_equal(np.diff(indices), [2, 2])
        np.testing.assert_array_equal(t, indices)
        starts.add(int(indices[0]))
    assert starts == set(range(0, 16))  # every feasible start occurs


def test_random_frames_and_source_driving():
    rng = np.random.default_rng(2)
    seen = Counter()
    for _ in range(400):
        indices, t = RandomFrames(n=2)(10, rng)
        np.testing.assert_array_equal(t, indices)
        seen.update(indices.tolist())
        source, driving = SourceDriving()(2, rng)[0]
        assert source != driving
    assert set(seen) == set(range(10))


def test_irregular_frames_sorted_distinct_within_span_relative_times():
    rng = np.random.default_rng(3)
    for _ in range(300):
        indices, t = IrregularFrames(k=4, span=10)(50, rng)
        assert np.all(np.diff(indices) > 0)
        assert indices[-1] - indices[0] < 10
        np.testing.assert_array_equal(t, indices - indices[0])


def test_sparse_frames_ffa_st_rule():
    """t0 = 0 is the clip's first frame; the span of t1..tn is a power of two <= max_distance."""
    sampler, rng = SparseFrames(n=3, max_distance=32, clip_length=128), np.random.default_rng(4)
    distances = Counter()
    for _ in range(3000):
        indices, t = sampler(500, rng)
        assert t[0] == 0 and np.all(np.diff(t[1:]) > 0) and t[1] >= 0
        np.testing.assert_array_equal(indices - indices[0], t)
        assert t[-1] < 128  # within the clip
        distances[int(t[-1] - t[1])] += 1
    assert set(distances) == {2, 4, 8, 16, 32}
    assert min(distances.values()) > 0.15 * 3000  # uniform over the time scales


def test_sparse_frames_read_a_clip_length_window_and_refuse_shorter_videos():
    """The authors' real clips: a random window of ``nframes`` (128) frames, t0 its first frame;
    shorter videos are not used (dataset_styleinv.py, flex_sampling: none)."""
    rng, sampler = np.random.default_rng(5), SparseFrames(n=3, max_distance=128, clip_length=128)
    starts = set()
    for num_frames in (128, 129, 300):
        for _ in range(200):
            indices, t = sampler(num_frames, rng)
            start = indices[0]
            starts.add(int(start))
            assert t[0] == 0 and np.array_equal(indices, start + t) and t.max() <= 127
            assert 0 <= start <= num_frames - 128
    assert len(starts) > 50  # the window moves over the longer videos
    with pytest.raises(ValueError, match="at least 128 frames, got one of 127"):
        sampler(127, rng)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RandomFrames(n=0),
        lambda: ConsecutiveFrames(n=2, stride=0),
        lambda: SparseFrames(n=1),
        lambda: SparseFrames(n=4, max_distance=2),
        lambda: IrregularFrames(k=3, span=2),
    ],
)
def test_invalid_arguments_raise(make):
    with pytest.raises(ValueError):
        make()


def test_selectable_from_config_with_class_path():
    parser = ArgumentParser()
    parser.add_argument("--sampler", type=FrameSampler)
    config = parser.parse_args(
        ['--sampler={"class_path": "stylevideo.video.sampling.SparseFrames", "init_args": {"n": 4}}']
    )
    sampler = parser.instantiate(config).sampler
    assert sampler == SparseFrames(n=4, max_distance=32, clip_length=128)
