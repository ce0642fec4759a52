"""The Fashion videos of DiCoMoGAN (Karacan et al., BMVC 2022) with their text, for VidStyleODE.

Accepts the dataset's frame folders (``<root>/<video>/<frame>.png``; video files
``<root>/<video>.mp4`` too) with a description per video from, in this order:

1. ``descriptions_file``: a CSV with columns ``video`` and ``description``;
2. VidStyleODE's form: ``<root>/<video>/text_descriptions.txt`` (``<root>/<video>.txt`` beside
   a video file), its first line;
3. DiCoMoGAN's release: ``<root>/{train,test}_videos.txt`` with the line-aligned
   ``<root>/{train,test}_videos_descriptions.txt``.

Every video needs one (batches hold ``text``). No labels.

Split (vidstyleode 4): "we split each dataset randomly into 80% train and 20% test": by default
a seeded random 20% of the videos (``test_fraction``, ``split_seed``) are test. ``split_lists``
(train list, test list: files of video names, relative to ``root`` or absolute) gives a fixed
split instead, e.g. VidStyleODE's ``data/fashion/fashion_{train,test}_videos.txt`` or
DiCoMoGAN's own ``train_videos.txt`` / ``test_videos.txt``; videos in neither list are left out.
Frames are portrait; VidStyleODE trains at 128x96 (``resolution: [128, 96]``).

VidStyleODE's Fashion code reads precomputed per-frame W+ codes instead of inverting frames
(their ``src/data/dataset.py``): ``<inversion_root>/<video>/<frame stem>.pt``, a tensor
``[1, L, D]`` or ``[L, D]`` per frame file (PTI inversions of StyleGAN-Human). With
``inversion_root`` set, items also hold ``inversion`` ``[T, L, D]``: the codes of their frames,
which :class:`~stylevideo.methods.vidstyleode.VidStyleODE` then uses as content. ``skip_frames``
leaves out the first frames of every video, as their loader does (``sorted(frames)[skip_frames:]``,
5 in their Fashion config); times count from the first frame kept.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import (
    DatasetModule,
    TextClipDataset,
    clip_name,
    list_clips,
    random_split,
    read_lines,
)
from stylevideo.video.io import frames_to_tensor, list_frame_files, read_frames
from stylevideo.video.sampling import FrameSampler

__all__ = ["FashionClipDataset", "FashionVideoDataModule"]

TEXT_FILE = "text_descriptions.txt"


class FashionVideoDataModule(DatasetModule):
    """Fashion videos with a description each (the batch key ``text``); no labels.

    Args:
        root: the folder of video frame folders.
        descriptions_file: a ``video,description`` CSV (overrides the dataset's own texts).
        split_lists: ``[train list, test list]`` of video names (default: random 80/20).
        test_fraction: the test share of the random split.
        split_seed: the seed of the random split.
        inversion_root: VidStyleODE's per-frame W+ codes (the batch key ``inversion``); frame
            folders only.
        skip_frames: frames left out at the start of every video (VidStyleODE's Fashion: 5).
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = (
        "Fashion videos: <root>/<video>/ frame folders (or <root>/<video>.mp4) with a "
        f"description each, in <video>/{TEXT_FILE}, <video>.txt or DiCoMoGAN's "
        "train_videos.txt + train_videos_descriptions.txt (and test_...)"
    )

    def __init__(
        self,
        root: str | None = None,
        descriptions_file: str | None = None,
        split_lists: Sequence[str] | None = None,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        inversion_root: str | None = None,
        skip_frames: int = 0,
        **kwargs,
    ):
        if split_lists is not None and len(split_lists) != 2:
            raise ValueError(f"split_lists must be [train list, test list], got {split_lists!r}")
        if skip_frames < 0:
            raise ValueError(f"skip_frames must be >= 0, got {skip_frames}")
        super().__init__(root, **kwargs)
        self.descriptions_file, self.split_lists = descriptions_file, split_lists
        self.test_fraction, self.split_seed = test_fraction, split_seed
        self.inversion_root = None if inversion_root is None else Path(inversion_root).expanduser()
        self.skip_frames = skip_frames

    def _path(self, name: str) -> Path:
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.root / path

    def _descriptions(self, clips: dict[str, Path]) -> dict[str, str]:
        """``{video name: description}`` from the sources in the module docstring's order."""
        texts = {}
        for split in ("train", "test"):
            names, descriptions = (self.root / f"{split}_videos{s}.txt" for s in ("", "_descriptions"))
            if names.is_file() and descriptions.is_file():
                names, descriptions = read_lines(names), read_lines(descriptions)
                if len(names) != len(descriptions):
                    raise ValueError(
                        f"{self.root}/{split}_videos.txt lists {len(names)} videos but "
                        f"{split}_videos_descriptions.txt has {len(descriptions)} lines"
                    )
                texts.update(zip((n.rstrip("/") for n in names), descriptions, strict=True))
        for name, path in clips.items():
            file = path / TEXT_FILE if path.is_dir() else path.with_suffix(".txt")
            if file.is_file() and read_lines(file):
                texts[name] = read_lines(file)[0]
        if self.descriptions_file is not None:
            file = self._path(self.descriptions_file)
            if not file.is_file():
                raise FileNotFoundError(f"descriptions file {file} does not exist")
            with open(file, newline="") as f:
                rows = list(csv.DictReader(f))
            if rows and not {"video", "description"} <= set(rows[0]):
                raise ValueError(f"{file}: expected the columns video, description")
            texts.update((row["video"], row["description"].strip()) for row in rows)
        return texts

    def _splits(self, names: list[str]) -> dict[str, str]:
        """``{video name: split}``; with ``split_lists`` only the listed videos."""
        if self.split_lists is None:
            test = random_split(names, self.test_fraction, self.split_seed)
            return {n: "test" if n in test else "train" for n in names}
        split = {}
        for file, name in zip(map(self._path, self.split_lists), ("train", "test"), strict=True):
            if not file.is_file():
                raise FileNotFoundError(f"split list {file} does not exist")
            split.update((n.rstrip("/"), name) for n in read_lines(file))
        unlisted = [n for n in names if n not in split]
        absent = [n for n in split if n not in set(names)]
        if unlisted or absent:
            warnings.warn(
                f"{len(unlisted)} videos under {self.root} are in neither split list and left "
                f"out; {len(absent)} listed videos are not there (e.g. "
                f"{(unlisted + absent)[0]!r})",
                stacklevel=3,
            )
        return {n: split[n] for n in names if n in split}

    def find_clips(self) -> list[ClipRecord]:
        clips = {clip_name(p): p for p in list_clips(self.root)}
        texts = self._descriptions(clips)
        missing = sorted(set(clips) - set(texts))
        if missing:
            raise self.layout_error(f"{len(missing)} of {len(clips)} videos have no description (e.g. {missing[0]!r})")
        records = [
            ClipRecord(clips[name], None, self.video_id(clips[name]), split=split)
            for name, split in self._splits(sorted(clips)).items()
        ]
        self._texts = {r.video_id: texts[clip_name(r.path)] for r in records}
        if self.inversion_root is not None:
            self._check_inversions(records)
        return records

    def _check_inversions(self, records: list[ClipRecord]) -> None:
        """Every clip a frame folder with a folder of codes (their per-frame files are checked when read)."""
        if not self.inversion_root.is_dir():
            raise FileNotFoundError(
                f"inversion_root {self.inversion_root} does not exist (expected <video>/<frame stem>.pt)"
            )
        files = [r.path for r in records if not r.path.is_dir()]
        if files:
            raise ValueError(f"W+ codes are read per frame file: {files[0]} is a video file, not a frame folder")
        missing = [r.video_id for r in records if not (self.inversion_root / r.video_id).is_dir()]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} videos have no W+ codes under {self.inversion_root} (e.g. {missing[0]}/<frame>.pt)"
            )

    def build_index(self) -> list[ClipRecord]:
        """The clips, their frame counts less ``skip_frames``."""
        records = super().build_index()
        for record in records:
            record.num_frames = max(record.num_frames - self.skip_frames, 0)
        return records

    def dataset(self, records: Sequence[ClipRecord], sampler: FrameSampler | None = None) -> FashionClipDataset:
        return FashionClipDataset(
            records,
            sampler or self.sampler,
            self.resolution,
            self.label_maps,
            texts=self._texts,
            skip_frames=self.skip_frames,
            inversion_root=self.inversion_root,
            seed=self.seed,
            strict=self.strict,
        )


class FashionClipDataset(TextClipDataset):
    """Fashion items: frames after the first ``skip_frames`` of the video, its description and,
    with ``inversion_root``, the frames' W+ codes (``inversion [T, L, D]``)."""

    def __init__(self, *args, skip_frames: int = 0, inversion_root: Path | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_frames, self.inversion_root = skip_frames, inversion_root

    def load(self, video: int, rng: np.random.Generator) -> dict[str, Any]:
        record = self.records[video]
        indices, t = self.sampler(record.num_frames, rng)
        indices = np.asarray(indices) + self.skip_frames
        item = {
            "frames": frames_to_tensor(read_frames(record.path, indices), self.resolution),
            "t": torch.from_numpy(t),
            "video_id": record.video_id,
            "index": video,
            "text": self.texts[record.video_id],
        }
        if self.inversion_root is not None:
            item["inversion"] = self.codes(record, indices)
        return item

    def codes(self, record: ClipRecord, indices: np.ndarray) -> torch.Tensor:
        """The W+ codes of frames ``indices`` of a frame folder: ``[T, L, D]``."""
        frames = list_frame_files(record.path)
        codes = []
        for i in indices:
            path = self.inversion_root / record.video_id / f"{frames[i].stem}.pt"
            if not path.is_file():
                raise FileNotFoundError(f"no W+ code {path} for frame {frames[i]}")
            code = torch.load(path, map_location="cpu", weights_only=True)
            code = code[0] if code.ndim == 3 and code.shape[0] == 1 else code
            if code.ndim != 2:
                raise ValueError(f"{path}: expected a W+ code [1, L, D] or [L, D], got {tuple(code.shape)}")
            codes.append(code.float())
        return torch.stack(codes)
