"""Frame samplers: which frames of a video each method trains on, and their times.

A sampler is called with the length of one video and a numpy ``Generator`` and returns
``(indices, t)``: int64 frame indices ``[T]`` into the video and float32 times ``[T]`` in
frame units, the times the method sees. Samplers are plain picklable classes with
type-hinted constructors, so an experiment YAML selects one with ``class_path`` and
``init_args``.
"""

from __future__ import annotations

import abc

import numpy as np

__all__ = [
    "ConsecutiveFrames",
    "FrameSampler",
    "IrregularFrames",
    "RandomFrames",
    "SourceDriving",
    "SparseFrames",
]


class FrameSampler(abc.ABC):
    """Base class: ``sampler(num_frames, rng) -> (indices int64 [T], t float32 [T])``."""

    #: Number of frames ``T`` of one sample.
    num_samples: int = 1

    @property
    def min_frames(self) -> int:
        """The shortest video this sampler can draw from."""
        return 1

    def __call__(self, num_frames: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if num_frames < self.min_frames:
            raise ValueError(f"{self!r} needs videos of at least {self.min_frames} frames, got one of {num_frames}")
        indices, t = self._sample(int(num_frames), rng)
        return np.asarray(indices, dtype=np.int64), np.asarray(t, dtype=np.float32)

    @abc.abstractmethod
    def _sample(self, num_frames: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Frame indices and their times for a video of ``num_frames`` frames."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(vars(self).items()))))


def _positive(name: str, value: int, minimum: int = 1) -> int:
    if int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class RandomFrames(FrameSampler):
    """``n`` independent uniformly random frames (image StyleGAN2 training); ``t`` = indices."""

    def __init__(self, n: int = 1):
        self.n = _positive("n", n)

    @property
    def num_samples(self) -> int:
        return self.n

    def _sample(self, num_frames, rng):
        indices = rng.integers(0, num_frames, size=self.n)
        return indices, indices


class ConsecutiveFrames(FrameSampler):
    """``n`` frames ``stride`` apart at a uniformly random start; ``t`` = absolute indices.

    onestyle: pairs (``n=2``) for D_s, triplets (``n=3``) for the time-conditioned D_t, which
    sees absolute times; metrics: 16/64/128-frame clips.
    """

    def __init__(self, n: int = 2, stride: int = 1):
        self.n = _positive("n", n)
        self.stride = _positive("stride", stride)

    @property
    def num_samples(self) -> int:
        return self.n

    @property
    def min_frames(self) -> int:
        return (self.n - 1) * self.stride + 1

    def _sample(self, num_frames, rng):
        start = rng.integers(0, num_frames - self.min_frames + 1)
        indices = start + self.stride * np.arange(self.n)
        return indices, indices


class SparseFrames(FrameSampler):
    """StyleInV first-frame-aware sparse training (FFA-ST, section 3.4, Eq. 3).

    A clip of ``clip_length`` frames starts at a uniformly random frame; its first frame is
    ``t0 = 0``. Videos shorter than ``clip_length`` are not used (``min_frames``; the data
    layer drops them), as in the authors' dataset (``dataset_styleinv.py``: ``flex_sampling:
    none`` keeps videos of at least ``nframes`` frames). Within the clip ``n`` frames are drawn
    as in StyleGAN-V's sparse training: the distance between the first and the last of them
    is drawn uniformly from the powers of two in ``[n - 1, min(max_distance, clip_length - 1)]``
    (a log-uniform spread of time scales), the window is placed uniformly in the clip and the
    ``n - 2`` inner frames are distinct frames inside it. Returns ``n + 1`` frames
    ``t0, t1..tn`` with ``t`` relative to ``t0``; as in the authors' sampler, ``t1`` may
    coincide with ``t0``.
    """

    def __init__(self, n: int = 3, max_distance: int = 32, clip_length: int = 128):
        self.n = _positive("n", n, 2)
        self.max_distance = _positive("max_distance", max_distance, self.n - 1)
        self.clip_length = _positive("clip_length", clip_length, self.n)

    @property
    def num_samples(self) -> int:
        return self.n + 1

    @property
    def min_frames(self) -> int:
        return self.clip_length

    def _distances(self, window: int) -> np.ndarray:
        """The candidate distances between the first and the last sparse frame."""
        lo, hi = self.n - 1, min(self.max_distance, window - 1)
        powers = 2 ** np.arange(int(np.log2(hi)) + 1)
        powers = powers[(powers >= lo) & (powers <= hi)]
        return powers if powers.size else np.array([hi])

    def _sample(self, num_frames, rng):
        window = self.clip_length
        clip_start = rng.integers(0, num_frames - window + 1)
        distance = int(rng.choice(self._distances(window)))
        offset = rng.integers(0, window - distance)  # the window [offset, offset + distance]
        inner = offset + 1 + rng.choice(distance - 1, size=self.n - 2, replace=False)
        sparse = np.sort(np.concatenate([[offset, offset + distance], inner]))
        t = np.concatenate([[0], sparse])
        return clip_start + t, t


class SourceDriving(FrameSampler):
    """Two distinct random frames of one video (LIA: source, driving); ``t`` = indices."""

    num_samples = 2

    @property
    def min_frames(self) -> int:
        return 2

    def _sample(self, num_frames, rng):
        indices = rng.choice(num_frames, size=2, replace=False)
        return indices, indices


class IrregularFrames(FrameSampler):
    """``k`` distinct sorted random frames (VidStyleODE's irregular timestamps).

    With ``span``, the frames lie in a random window of ``span`` frames. ``t`` is relative to
    the first sampled frame.
    """

    def __init__(self, k: int = 3, span: int | None = None):
        self.k = _positive("k", k)
        self.span = None if span is None else _positive("span", span, self.k)

    @property
    def num_samples(self) -> int:
        return self.k

    @property
    def min_frames(self) -> int:
        return self.k

    def _sample(self, num_frames, rng):
        window = num_frames if self.span is None else min(self.span, num_frames)
        start = rng.integers(0, num_frames - window + 1)
        indices = start + np.sort(rng.choice(window, size=self.k, replace=False))
        return indices, indices - indices[0]
