"""What the ten dataset modules share: clip listing, the frame-count index cache, splits, text.

A *clip* is a video file (mp4, mov, avi, mkv, webm) or a frame folder (png/jpg frames; FOMM's
preprocessing names these folders ``<clip>.mp4/``). :class:`DatasetModule` is the base of the
dataset modules: a subclass implements :meth:`DatasetModule.find_clips` (parse its layout
into :class:`ClipRecord` s with labels and split) and the base

- fills in frame counts from the index cache (:class:`FrameCountCache`), counts the others in a
  thread pool and leaves out unreadable clips with one counted warning that names them (or
  raises when ``strict``);
- adds the batch key ``text`` (a list of strings) where the dataset has descriptions;
- evaluates on the test clips where a dataset has no ``val`` split, and on the training clips
  where it has no held-out split at all (the StyleGAN-V protocol of the unconditional
  datasets: real statistics from the training videos).
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from stylevideo.data_modules.base import (
    ClipRecord,
    VideoClipDataset,
    VideoDataModule,
    default_cache_dir,
)
from stylevideo.video.io import FRAME_EXTENSIONS, VIDEO_EXTENSIONS, VideoReadError, count_frames
from stylevideo.video.sampling import FrameSampler

__all__ = [
    "DatasetModule",
    "FrameCountCache",
    "TextClipDataset",
    "clip_name",
    "find_named_clips",
    "is_frame_folder",
    "list_clips",
    "random_split",
    "read_lines",
    "train_test_clips",
]

_CACHE_VERSION = 1


def is_frame_folder(path: Path) -> bool:
    """A folder holding at least one frame image (stops at the first one it sees)."""
    try:
        with os.scandir(path) as entries:
            return any(e.name.lower().endswith(FRAME_EXTENSIONS) and e.is_file() for e in entries)
    except (NotADirectoryError, PermissionError, FileNotFoundError):
        return False


def _is_clip(entry: os.DirEntry | Path) -> bool:
    path = Path(entry)
    if path.name.startswith("."):
        return False
    if path.is_dir():
        return is_frame_folder(path)
    return path.suffix.lower() in VIDEO_EXTENSIONS


def list_clips(folder: Path) -> list[Path]:
    """The clips directly inside ``folder`` (video files and frame folders), sorted by name."""
    with os.scandir(folder) as entries:
        return sorted(Path(e.path) for e in entries if _is_clip(e))


def clip_name(path: Path) -> str:
    """A clip's name: the file or folder name without a video extension."""
    name = path.name
    return name[: -len(path.suffix)] if path.suffix.lower() in VIDEO_EXTENSIONS else name


def find_named_clips(root: Path, pattern: re.Pattern) -> list[tuple[Path, re.Match]]:
    """Clips anywhere below ``root`` whose :func:`clip_name` matches ``pattern``.

    Folders whose name matches are taken as frame folders and not descended into, so frame
    folders are never listed; other folders are searched recursively.
    """
    found, stack = [], [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                path = Path(entry.path)
                match = pattern.fullmatch(clip_name(path))
                if entry.is_dir():
                    if match and is_frame_folder(path):
                        found.append((path, match))
                    elif not match:
                        stack.append(path)
                elif match and path.suffix.lower() in VIDEO_EXTENSIONS:
                    found.append((path, match))
    return sorted(found, key=lambda pm: str(pm[0]))


def train_test_clips(module: DatasetModule, require_test: bool = True) -> list[tuple[Path, str]]:
    """The clips of ``<root>/train/`` and ``<root>/test/`` (FOMM's layout), each with its split."""
    found = []
    for split in ("train", "test"):
        folder = module.root / split
        if not folder.is_dir():
            if split == "train" or require_test:
                raise module.layout_error(f"no {split}/ folder")
            continue
        clips = list_clips(folder)
        if not clips:
            raise module.layout_error(f"{split}/ holds no videos or frame folders")
        found += [(path, split) for path in clips]
    return found


def read_lines(path: Path) -> list[str]:
    """The non-empty stripped lines of a text file."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def random_split(keys: Iterable[str], test_fraction: float, seed: int, group: dict[str, str] | None = None) -> set[str]:
    """The keys of a seeded random test split: ``round(test_fraction * n)`` of them.

    With ``group`` (key -> group), the fraction is drawn within every group (e.g. per actor).
    The draw depends only on the sorted keys and ``seed``.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    groups: dict[str, list[str]] = {}
    for key in sorted(set(keys)):
        groups.setdefault(group[key] if group else "", []).append(key)
    test = set()
    for i, name in enumerate(sorted(groups)):
        members = groups[name]
        rng = np.random.default_rng([seed, i])
        n = int(round(test_fraction * len(members)))
        test.update(members[j] for j in rng.permutation(len(members))[:n])
    return test


class FrameCountCache:
    """The frame counts of a dataset's clips, one JSON file per dataset root.

    Invalidation rule: an entry is reused only while its clip's size and modification time
    (``st_size``, ``st_mtime_ns``) are unchanged; a frame folder's modification time changes
    whenever frames are added, removed or renamed. So replacing, editing, adding or removing
    clips recounts exactly those clips. Writes are atomic (concurrent DDP ranks are safe).
    """

    def __init__(self, file: Path, root: Path):
        self.file, self.root = file, root
        self.identity = str(root.resolve())
        self.entries: dict[str, list[int]] = {}
        self._seen: dict[str, list[int]] = {}  # signatures taken by fill(), before counting
        try:
            data = json.loads(file.read_text())
            if data.get("version") == _CACHE_VERSION and data.get("root") == self.identity:
                self.entries = data["clips"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # no or unusable cache: everything is counted again

    def _signature(self, path: Path) -> list[int]:
        stat = path.stat()
        return [stat.st_size, stat.st_mtime_ns]

    def _key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def fill(self, records: Sequence[ClipRecord]) -> list[ClipRecord]:
        """Set ``num_frames`` from the cache; returns the records still to count."""
        pending = []
        for record in records:
            key = self._key(record.path)
            self._seen[key] = self._signature(record.path)
            entry = self.entries.get(key)
            if entry is not None and entry[:2] == self._seen[key]:
                record.num_frames = entry[2]
            else:
                pending.append(record)
        return pending

    def save(self, records: Sequence[ClipRecord]) -> None:
        """Store the counts of ``records``, as seen by :meth:`fill` (replacing the old
        entries); best effort: a cache that cannot be written is only a warning."""
        keys = [self._key(r.path) for r in records]
        self.entries = {k: [*self._seen[k], r.num_frames] for k, r in zip(keys, records, strict=True)}
        data = {"version": _CACHE_VERSION, "root": self.identity, "clips": self.entries}
        tmp = self.file.with_name(f".{self.file.name}.{os.getpid()}.tmp")
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.file)
        except OSError as e:
            warnings.warn(f"cannot write the index cache {self.file}: {e}", stacklevel=3)
        finally:
            tmp.unlink(missing_ok=True)


class TextClipDataset(VideoClipDataset):
    """A :class:`VideoClipDataset` whose items also hold ``text``: the clip's description."""

    def __init__(self, records: Sequence[ClipRecord], *args, texts: dict[str, str], **kwargs):
        super().__init__(records, *args, **kwargs)
        self.texts = texts

    def load(self, video: int, rng: np.random.Generator) -> dict[str, Any]:
        item = super().load(video, rng)
        item["text"] = self.texts[self.records[video].video_id]
        return item


class DatasetModule(VideoDataModule):
    """Base of the dataset modules (see the module docstring).

    Args:
        root: the dataset folder.
        cache_dir: where the index cache lives (default ``$STYLEVIDEO_CACHE/index``, i.e.
            ``~/.cache/stylevideo/index``); one file per module class and resolved root.
        **kwargs: the other arguments of :class:`VideoDataModule` (resolution, sampler,
            batch_size, num_workers, class_aware, samples_per_epoch, val_videos, strict, seed).
    """

    def __init__(self, root: str | None = None, cache_dir: str | None = None, **kwargs):
        super().__init__(root, **kwargs)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir() / "index"
        self._texts: dict[str, str] | None = None

    @property
    def texts(self) -> dict[str, str] | None:
        """``{video_id: description}`` where the dataset has text (the batch key ``text``)."""
        self.index()
        return self._texts

    @abc.abstractmethod
    def find_clips(self) -> list[ClipRecord]:
        """Parse the layout under ``self.root``: every clip with labels and split."""

    def layout_error(self, problem: str) -> FileNotFoundError:
        """The error for a root laid out otherwise: what is wrong and what was expected."""
        return FileNotFoundError(f"{self.root}: {problem} (expected {self.layout})")

    def video_id(self, path: Path) -> str:
        """A clip's id: its path below the root without a video extension."""
        return (path.parent / clip_name(path)).relative_to(self.root).as_posix()

    def cache_file(self) -> Path:
        digest = hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:16]
        return self.cache_dir / f"{type(self).__name__}-{digest}.json"

    def build_index(self) -> list[ClipRecord]:
        root = self.check_root()
        records = self.find_clips()
        if not records:
            raise self.layout_error("found no clips")
        cache = FrameCountCache(self.cache_file(), root)
        pending = cache.fill(records)
        if pending:
            with ThreadPoolExecutor(min(8, len(pending))) as pool:
                errors = list(pool.map(self._count_one, pending))
            bad = [(r, e) for r, e in zip(pending, errors, strict=True) if e is not None]
            if bad:
                names = "; ".join(str(e) for _, e in bad[:5])
                message = f"{len(bad)} of {len(records)} clips under {root} are unreadable"
                if self.strict:
                    raise VideoReadError(f"{message}: {names}")
                warnings.warn(f"{message} and left out: {names}", stacklevel=2)
                records = [r for r in records if r.num_frames is not None]
            cache.save(records)
        return records

    @staticmethod
    def _count_one(record: ClipRecord) -> VideoReadError | None:
        try:
            record.num_frames = count_frames(record.path)
        except VideoReadError as e:
            return e
        return None

    def dataset(self, records: Sequence[ClipRecord], sampler: FrameSampler | None = None) -> VideoClipDataset:
        if not self._texts:
            return super().dataset(records, sampler)
        return TextClipDataset(
            records,
            sampler or self.sampler,
            self.resolution,
            self.label_maps,
            texts=self._texts,
            seed=self.seed,
            strict=self.strict,
            keypoints=self.keypoints,
        )
