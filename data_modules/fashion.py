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
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from pathlib import Path

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import (
    DatasetModule,
    clip_name,
    list_clips,
    random_split,
    read_lines,
)

__all__ = ["FashionVideoDataModule"]

TEXT_FILE = "text_descriptions.txt"


class FashionVideoDataModule(DatasetModule):
    """Fashion videos with a description each (the batch key ``text``); no labels.

    Args:
        root: the folder of video frame folders.
        descriptions_file: a ``video,description`` CSV (overrides the dataset's own texts).
        split_lists: ``[train list, test list]`` of video names (default: random 80/20).
        test_fraction: the test share of the random split.
        split_seed: the seed of the random split.
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
        **kwargs,
    ):
        if split_lists is not None and len(split_lists) != 2:
            raise ValueError(f"split_lists must be [train list, test list], got {split_lists!r}")
        super().__init__(root, **kwargs)
        self.descriptions_file, self.split_lists = descriptions_file, split_lists
        self.test_fraction, self.split_seed = test_fraction, split_seed

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
        return records
