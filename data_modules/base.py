"""The shared data layer: clip records, the clip dataset and the LightningDataModule base.

A dataset module subclasses :class:`VideoDataModule` and implements :meth:`build_index`
(parse its layout into :class:`ClipRecord` s, each with its split). The base does the rest:
drops clips too short for the sampler, builds the label id maps (saved in checkpoints),
and serves batches::

    {"frames": [B, T, 3, H, W] float in [-1, 1], "t": [B, T] float frame times,
     "video_id": list[str], "index": [B] int, <label>: [B] int for every label (actor, ...),
     <keypoints>: [B, T, P, 2] float pixel coordinates at the batch resolution, if asked}

Randomness: training items are keyed by ``(video, epoch, draw)`` by :class:`VideoSampler`;
the frames of an item come from a generator seeded with ``(seed, epoch, draw)``, so batches
do not depend on the number of workers and DDP ranks (Lightning shards the sampler's keys
with its ``DistributedSamplerWrapper`` and forwards ``set_epoch`` to it) see distinct draws.
The training loader is a :class:`ResumableDataLoader`: its place in the epoch is saved in
checkpoints, so a run resumed mid-epoch continues with the next unseen batch.
"""

from __future__ import annotations

import abc
import dataclasses
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset, Sampler

from stylevideo.data_modules.resumable_loader import ResumableDataLoader
from stylevideo.methods.predict import prediction_dataloader
from stylevideo.video.io import VideoReadError, count_frames, frames_to_tensor, read_frames
from stylevideo.video.sampling import ConsecutiveFrames, FrameSampler, RandomFrames

__all__ = [
    "ClipKey",
    "ClipRecord",
    "VideoClipDataset",
    "VideoDataModule",
    "VideoFrameDataset",
    "VideoSampler",
    "item_rng",
]

_MAX_REPLACEMENTS = 8


@dataclass
class ClipRecord:
    """One video of a dataset.

    ``num_frames=None`` is counted at indexing (which opens the file); ``labels`` are
    strings (actor, action, emotion, intensity, ...); ``keypoints`` names
    per-frame point arrays (``.npy``, ``[num_frames, P, 2]`` (x, y) in the video's pixel
    coordinates, pixel ``i`` spanning ``[i, i + 1)``), e.g. ``{"mouth": path}``.
    ``mirrored``: the video is served flipped horizontally (every frame, and its keypoints,
    alike): the second half of a dataset doubled by ``mirror``.
    """

    path: Path
    num_frames: int | None
    video_id: str
    labels: dict[str, str] = field(default_factory=dict)
    split: str = "train"
    keypoints: dict[str, Path] = field(default_factory=dict)
    mirrored: bool = False


class ClipKey(NamedTuple):
    """What :class:`VideoSampler` yields: which video, in which epoch, as which draw."""

    video: int
    epoch: int
    draw: int


def item_rng(seed: int, epoch: int, draw: int, attempt: int = 0) -> np.random.Generator:
    """The generator of one item's frames: a function of ``(seed, epoch, draw)`` only."""
    return np.random.default_rng([seed, 0, epoch, draw, attempt])


class VideoClipDataset(Dataset):
    """Items are videos; ``__getitem__`` decodes only the frames the sampler picks.

    A key is an int (video ``i``, drawn as draw ``i`` of epoch ``self.epoch``) or a
    :class:`ClipKey`. A clip that fails to decode is replaced by another video chosen
    deterministically from the same key (a warning names the file and the count of failures
    in this process); with ``strict=True`` the error is raised instead.
    """

    def __init__(
        self,
        records: Sequence[ClipRecord],
        sampler: FrameSampler,
        resolution: int | tuple[int, int],
        label_maps: dict[str, dict[str, int]],
        *,
        seed: int = 0,
        strict: bool = False,
        keypoints: Sequence[str] = (),
        epoch: int = 0,
    ):
        if not records:
            raise ValueError("VideoClipDataset needs at least one clip")
        self.records = list(records)
        self.sampler = sampler
        self.resolution = (resolution, resolution) if isinstance(resolution, int) else tuple(resolution)
        self.label_maps = label_maps
        self.seed, self.strict, self.epoch = seed, strict, epoch
        self.keypoints = tuple(keypoints)
        self.num_failed = 0

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: int | ClipKey) -> dict[str, Any]:
        video, epoch, draw = key if isinstance(key, tuple) else (int(key), self.epoch, int(key))
        for attempt in range(_MAX_REPLACEMENTS):
            rng = item_rng(self.seed, epoch, draw, attempt)
            try:
                return self.load(video, rng)
            except (VideoReadError, OSError, ValueError, IndexError) as e:
                if self.strict:
                    raise
                self.num_failed += 1
                warnings.warn(
                    f"skipping clip {self.records[video].path}: {e} ({self.num_failed} failed "
                    "clips in this process so far; a deterministic replacement is used)",
                    stacklevel=2,
                )
                if len(self.records) > 1:
                    video = int((video + rng.integers(1, len(self.records))) % len(self.records))
        raise VideoReadError(
            f"{_MAX_REPLACEMENTS} clips in a row failed to decode, the last "
            f"{self.records[video].path}; is the dataset readable?"
        )

    def load(self, video: int, rng: np.random.Generator) -> dict[str, Any]:
        """The item of video ``video`` with frames sampled by ``rng``."""
        record = self.records[video]
        indices, t = self.sampler(record.num_frames, rng)
        frames = read_frames(record.path, indices)
        if record.mirrored:
            frames = frames.flip(2)  # [T, H, W, C]: one flip for all frames of the video
        item = {
            "frames": frames_to_tensor(frames, self.resolution),
            "t": torch.from_numpy(t),
            "video_id": record.video_id,
            "index": video,
        }
        for name, ids in self.label_maps.items():
            item[name] = ids[record.labels[name]]
        scale = np.array(
            [self.resolution[1] / frames.shape[2], self.resolution[0] / frames.shape[1]],
            dtype=np.float32,
        )
        for name in self.keypoints:
            points = np.load(record.keypoints[name], mmap_mode="r")
            if len(points) != record.num_frames:
                raise ValueError(f"{record.keypoints[name]} has {len(points)} frames, its video {record.num_frames}")
            points = np.asarray(points[indices], dtype=np.float32)
            if record.mirrored:  # pixel i spans [i, i + 1): x -> W - x
                points = points * np.array([-1, 1], dtype=np.float32) + np.array([frames.shape[2], 0], np.float32)
            item[name] = torch.from_numpy(points * scale)
        return item


class VideoFrameDataset(Dataset):
    """Single frames drawn from whole videos (draw ``i``: frame ``frames[i]`` of video
    ``videos[i]``), grouped by video: an item holds up to ``chunk`` draws of one video,
    decoded in one call, ``{"frames": [k, 3, H, W], "index": [k] draw numbers,
    "video_id": str, <label>: [k]}``.
    """

    def __init__(
        self,
        records: Sequence[ClipRecord],
        videos: np.ndarray,
        frames: np.ndarray,
        resolution: tuple[int, int],
        label_maps: dict[str, dict[str, int]],
        chunk: int,
    ):
        self.records, self.frames = list(records), np.asarray(frames)
        self.resolution, self.label_maps = resolution, label_maps
        order = np.argsort(videos, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(videos[order])) + 1) if len(order) else []
        self.items = [(int(videos[g[0]]), g[i : i + chunk]) for g in groups for i in range(0, len(g), chunk)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        video, draws = self.items[i]
        record = self.records[video]
        item = {
            "frames": frames_to_tensor(read_frames(record.path, self.frames[draws]), self.resolution),
            "index": torch.from_numpy(draws),
            "video_id": record.video_id,
        }
        for name, ids in self.label_maps.items():
            item[name] = torch.full((len(draws),), ids[record.labels[name]])
        return item


class VideoSampler(Sampler[ClipKey]):
    """Which video each draw of an epoch reads, reproducible from ``(seed, epoch)``.

    ``weights=None`` (class-aware sampling): every video equally often, in a fresh random
    order each epoch. Otherwise videos are drawn with probability proportional to ``weights``
    (e.g. their lengths, so that every frame is equally likely).
    """

    def __init__(self, num_videos: int, num_samples: int, seed: int = 0, weights: np.ndarray | None = None):
        self.num_videos, self.num_samples, self.seed, self.epoch = num_videos, num_samples, seed, 0
        self.p = None if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch (directly or through its DDP wrapper)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[ClipKey]:
        rng = np.random.default_rng([self.seed, 1, self.epoch])
        if self.p is None:
            rounds = -(-self.num_samples // self.num_videos)
            order = np.concatenate([rng.permutation(self.num_videos) for _ in range(rounds)])
        else:
            order = rng.choice(self.num_videos, size=self.num_samples, p=self.p)
        for draw, video in enumerate(order[: self.num_samples]):
            yield ClipKey(int(video), self.epoch, draw)


class VideoDataModule(LightningDataModule, abc.ABC):
    """Shared base of the dataset modules; subclasses implement :meth:`build_index`.

    Args:
        root: the dataset folder.
        resolution: output frame size, int (square) or ``(h, w)``.
        sampler: which frames an item holds (default: one random frame).
        batch_size: clips per batch.
        num_workers: DataLoader worker processes.
        class_aware: every video equally likely (else videos weighted by length).
        samples_per_epoch: training items per epoch (default: one per training video).
        val_videos: size of the deterministic validation subset.
        strict: raise on a short or unreadable clip instead of skipping it with a warning.
        seed: seed of all sampling.
        mirror: double the training set with horizontally flipped videos (the same flip for
            every frame of a video; StyleGAN2-ADA's ``--mirror``, StyleInV's ``mirror: true``).
    """

    #: Human-readable expected layout, quoted in errors.
    layout: str = "a dataset folder"

    def __init__(
        self,
        root: str | None = None,
        resolution: int | tuple[int, int] = 64,
        sampler: FrameSampler | None = None,
        batch_size: int = 8,
        num_workers: int = 0,
        class_aware: bool = True,
        samples_per_epoch: int | None = None,
        val_videos: int = 64,
        strict: bool = False,
        seed: int = 0,
        mirror: bool = False,
    ):
        super().__init__()
        self.root = None if root is None else Path(root).expanduser()
        self.resolution = (resolution, resolution) if isinstance(resolution, int) else tuple(resolution)
        self.sampler = sampler if sampler is not None else RandomFrames()
        self.batch_size, self.num_workers = batch_size, num_workers
        self.class_aware, self.samples_per_epoch = class_aware, samples_per_epoch
        self.val_videos, self.strict, self.seed = val_videos, strict, seed
        self.mirror = mirror
        self.keypoints: tuple[str, ...] = ()
        self._records: list[ClipRecord] | None = None
        self._label_maps: dict[str, dict[str, int]] | None = None
        self._restored_maps: dict[str, dict[str, int]] | None = None

    # -- indexing ---------------------------------------------------------------------------
    @abc.abstractmethod
    def build_index(self) -> list[ClipRecord]:
        """Parse the dataset layout under ``self.root``: every clip with its labels and split."""

    def check_root(self) -> Path:
        """``self.root``, or a clear error if it is missing or empty."""
        if self.root is None or not self.root.is_dir():
            raise FileNotFoundError(f"dataset root {self.root} does not exist (expected {self.layout})")
        if not any(self.root.iterdir()):
            raise FileNotFoundError(f"dataset root {self.root} is empty (expected {self.layout})")
        return self.root

    def setup(self, stage: str | None = None) -> None:
        self.index()

    def index(self) -> list[ClipRecord]:
        """All usable clips (built once): counted, too-short ones dropped, label maps built."""
        if self._records is not None:
            return self._records
        records = self.build_index()
        if not records:
            raise ValueError(f"found no clips under {self.root} (expected {self.layout})")
        records = [r for r in records if self._count(r)]
        need = self.sampler.min_frames
        short = [r for r in records if r.num_frames < need]
        if short:
            message = (
                f"{len(short)} of {len(records)} clips are shorter than the {need} frames "
                f"{self.sampler!r} needs (e.g. {short[0].path}: {short[0].num_frames} frames)"
            )
            if self.strict:
                raise ValueError(message)
            warnings.warn(message + "; they are left out", stacklevel=2)
            records = [r for r in records if r.num_frames >= need]
        if not records:
            raise ValueError(f"no clip under {self.root} has the {need} frames {self.sampler!r} needs")
        keys = set(records[0].labels)
        for r in records:
            if set(r.labels) != keys:
                raise ValueError(f"clip {r.path} has labels {sorted(r.labels)}, expected {sorted(keys)}")
        self._label_maps = {
            k: {v: i for i, v in enumerate(sorted({r.labels[k] for r in records}))} for k in sorted(keys)
        }
        self._records = records
        if self._restored_maps is not None:
            self._merge_maps(self._restored_maps)
        return records

    def _count(self, record: ClipRecord) -> bool:
        """Fill in a missing frame count; False (with a warning) if the clip cannot be read."""
        if record.num_frames is not None:
            return True
        try:
            record.num_frames = count_frames(record.path)
            return True
        except VideoReadError as e:
            if self.strict:
                raise
            warnings.warn(f"leaving out unreadable clip: {e}", stacklevel=3)
            return False

    def records(self, split: str) -> list[ClipRecord]:
        """The usable clips of one split, in index order."""
        return [r for r in self.index() if r.split == split]

    # -- label ids ---------------------------------------------------------------------------
    @property
    def label_maps(self) -> dict[str, dict[str, int]]:
        """``{label: {value: id}}``: sorted values, stable, restored from checkpoints."""
        self.index()
        return self._label_maps

    def num_classes(self, label: str) -> int:
        """Number of distinct values of ``label`` (e.g. ``"actor"``)."""
        if label not in self.label_maps:
            raise KeyError(f"unknown label {label!r}; this dataset has {sorted(self.label_maps)}")
        return len(self.label_maps[label])

    def state_dict(self) -> dict[str, Any]:
        return {"label_maps": self.label_maps}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored_maps = {k: dict(v) for k, v in state_dict["label_maps"].items()}
        if self._records is not None:
            self._merge_maps(self._restored_maps)

    def _merge_maps(self, saved: dict[str, dict[str, int]]) -> None:
        """Keep the checkpoint's ids; values it has not seen get new ids after them."""
        merged = {}
        for label, current in self._label_maps.items():
            ids = dict(saved.get(label, {}))
            new = sorted(set(current) - set(ids))
            if new and ids:
                warnings.warn(f"label {label!r} has values the checkpoint did not know: {new}", stacklevel=3)
            for value in new:
                ids[value] = len(ids)
            merged[label] = ids
        self._label_maps = merged

    # -- loaders -----------------------------------------------------------------------------
    def dataset(self, records: Sequence[ClipRecord], sampler: FrameSampler | None = None) -> VideoClipDataset:
        """A dataset over ``records`` with this module's settings (and ``sampler`` if given)."""
        return VideoClipDataset(
            records,
            sampler or self.sampler,
            self.resolution,
            self.label_maps,
            seed=self.seed,
            strict=self.strict,
            keypoints=self.keypoints,
        )

    def _loader(self, dataset: Dataset, loader: type[DataLoader] = DataLoader, **kwargs) -> DataLoader:
        return loader(
            dataset,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
            **kwargs,
        )

    def _subset(self, records: list[ClipRecord], n: int | None) -> list[ClipRecord]:
        """A deterministic subset of at most ``n`` records, in index order."""
        if n is None or len(records) <= n:
            return records
        keep = np.sort(np.random.default_rng([self.seed, 2]).permutation(len(records))[:n])
        return [records[i] for i in keep]

    def _eval_records(self, split: str) -> list[ClipRecord]:
        """``split``'s clips, else those of the other held-out split (val <-> test); where the
        dataset holds no val or test clip at all, the training clips."""
        if not any(r.split in ("val", "test") for r in self.index()):
            return self.records("train")
        other = {"val": "test", "test": "val"}.get(split, split)
        records = self.records(split) or self.records(other)
        if not records:
            raise ValueError(f"{type(self).__name__} at {self.root} has no {split!r} clips")
        return records

    def train_records(self) -> list[ClipRecord]:
        """The training clips, followed by their mirrored copies with ``mirror``."""
        records = self.records("train")
        if self.mirror:
            records = records + [dataclasses.replace(r, mirrored=True) for r in records]
        return records

    def train_dataloader(self) -> DataLoader:
        records = self.train_records()
        if not records:
            raise ValueError(f"{type(self).__name__} at {self.root} has no 'train' clips")
        weights = None if self.class_aware else np.array([r.num_frames for r in records], dtype=np.float64)
        sampler = VideoSampler(len(records), self.samples_per_epoch or len(records), self.seed, weights)
        if len(sampler) < self.batch_size:
            raise ValueError(f"{len(sampler)} samples per epoch are fewer than batch_size={self.batch_size}")
        return self._loader(
            self.dataset(records), ResumableDataLoader, batch_size=self.batch_size, sampler=sampler, drop_last=True
        )

    def val_dataloader(self) -> DataLoader:
        records = self._subset(self._eval_records("val"), self.val_videos)
        return self._loader(self.dataset(records), batch_size=self.batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """All ``test`` clips (the ``val`` clips where a dataset has no test split)."""
        return self._loader(self.dataset(self._eval_records("test")), batch_size=self.batch_size, shuffle=False)

    def video_dataloader(
        self, split: str = "test", max_videos: int | None = None, rank: int = 0, world_size: int = 1
    ) -> Iterator[dict[str, Any]]:
        """Whole videos of ``split``, one at a time (lia Table 1: every frame of every test video).

        Yields batches of one video: ``frames [1, T, 3, H, W]`` with ``T`` the video's own length
        (no window, no video left out for its length), its labels, ``video_id`` and ``index``
        (its position in the split). ``max_videos``: a deterministic subset; ``rank`` /
        ``world_size``: this rank's share (video ``i`` goes to rank ``i % world_size``).
        """
        records = self._subset(self._eval_records(split), max_videos)
        mine = list(range(rank, len(records), world_size))
        if not mine:
            return
        datasets = [self.dataset([records[i]], ConsecutiveFrames(records[i].num_frames)) for i in mine]
        loader = self._loader(torch.utils.data.ConcatDataset(datasets), batch_size=1, shuffle=False)
        for i, batch in zip(mine, loader, strict=True):
            batch["index"] = torch.tensor([i])
            yield batch

    def predict_dataloader(self) -> DataLoader:
        """The requests of the trainer's ``VideoPredictions`` callback (``lightning predict``)."""
        return prediction_dataloader(self.trainer)

    def clip_dataloader(
        self,
        num_frames: int,
        split: str = "val",
        max_clips: int | None = None,
        batch_size: int | None = None,
        clips_per_video: int = 1,
        stride: int = 1,
    ) -> DataLoader:
        """Real clips of ``num_frames`` frames ``stride`` apart (FVD real statistics), as
        StyleGAN-V loads them (stylegan-v ``src/training/dataset.py:323-324, 397-406``).

        ``clips_per_video`` clips from every video of ``split`` with at least
        ``num_frames * stride`` frames (shorter videos are discarded), each starting at a
        frame drawn uniformly among those that keep the clip inside the video (fixed by the
        seed); at most ``max_clips`` clips, a deterministic subset.
        """
        sampler = ConsecutiveFrames(num_frames, stride)
        records = [r for r in self._eval_records(split) if r.num_frames >= num_frames * stride]
        if not records:
            raise ValueError(
                f"no {split!r} video of {type(self).__name__} at {self.root} has {num_frames * stride} frames"
            )
        dataset = self.dataset(self._subset(records * clips_per_video, max_clips), sampler)
        return self._loader(dataset, batch_size=batch_size or self.batch_size, shuffle=False)

    def frame_dataloader(self, num_samples: int, split: str = "val", batch_size: int | None = None) -> DataLoader:
        """Real frames drawn over whole videos (FID real statistics), as StyleInV's ``fid50k``.

        Draw ``i`` takes video ``perm[i % V]`` of a seeded permutation of the ``V`` videos of
        ``split`` (every video equally often, whatever its length) and a uniformly random frame
        of it (StyleInV ``training/dataset_styleinv.py:196-202, 232-237``); there are
        ``min(num_samples, frames in the split)`` draws (``metrics_styleinv/metric_utils.py:244-253``).
        Only the drawn frames are decoded; a batch holds up to ``batch_size`` draws of one video.
        """
        records = self._eval_records(split)
        lengths = np.array([r.num_frames for r in records])
        n = min(num_samples, int(lengths.sum()))
        rng = np.random.default_rng([self.seed, 3])
        videos = rng.permutation(len(records))[np.arange(n) % len(records)]
        frames = rng.integers(0, lengths[videos])
        chunk = batch_size or self.batch_size
        dataset = VideoFrameDataset(records, videos, frames, self.resolution, self.label_maps, chunk)
        return self._loader(dataset, batch_size=None)


def default_cache_dir() -> Path:
    """``$STYLEVIDEO_CACHE``, default ``~/.cache/stylevideo``."""
    return Path(os.environ.get("STYLEVIDEO_CACHE", "~/.cache/stylevideo")).expanduser()
