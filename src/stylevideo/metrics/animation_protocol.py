"""The animators' evaluation protocols of lia Tables 1 and 2.

- **Whole videos** (Table 1, same-identity reconstruction): every test video from the data
  module's ``video_dataloader`` (variable length), its first frame as source and its frames
  as driving, absolute transfer (Eq. 11). :func:`animate_in_chunks` calls the module's
  ``animate`` on ``chunk`` driving frames at a time, so memory does not grow with the video;
  :class:`PerVideoMean` averages a score within each video, then over videos, as the
  authors' ``evaluation.py`` averages L1 and LPIPS.
- **Cross-video pairs** (Table 2, video FID): a seeded list of (source video, driving video)
  pairs over the test split, saved as CSV in the run folder and reloaded when given; the
  source image is the first frame of the source video, the driving clip the first
  ``max_frames`` frames of the driving video, relative transfer (Eq. 12). Cross-dataset
  (GermanPublicTV): the sources come from a second data module (:func:`cross_dataset_pairs`).

The paper does not say how many pairs Table 2 uses: :func:`cross_video_pairs` gives one pair
per video (each test video drives once, its source drawn among the other videos).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchmetrics import MeanMetric, Metric

from stylevideo.video.io import frames_to_tensor, read_frames

__all__ = [
    "PerVideoMean",
    "animate_in_chunks",
    "cross_dataset_pairs",
    "cross_identity_sources",
    "cross_video_pairs",
    "load_pairs",
    "pair_batches",
    "pair_list",
    "save_pairs",
]

Animate = Callable[..., Tensor]


@torch.no_grad()
def animate_in_chunks(
    animate: Animate, source: Tensor, driving: Tensor, chunk: int = 64, relative: bool = False
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield ``(driving part, animated part)``, ``[B, <=chunk, 3, H, W]`` each, over ``driving [B, T, ...]``.

    ``animate(source, part, relative=relative)`` is the module's generation interface. With
    ``relative=True`` every part after the first is preceded by the first driving frame (and
    its output dropped), so Eq. 12's ``w_{r->1}`` is always the video's first frame: for an
    animator that renders each frame from (source, frame, first frame), as LIA does, the
    parts are exactly the whole video's animation.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if driving.ndim != 5 or source.ndim != 4 or len(source) != len(driving):
        raise ValueError(
            f"expected source [B, 3, H, W] and driving [B, T, 3, H, W], got {source.shape}, {driving.shape}"
        )
    for start in range(0, driving.shape[1], chunk):
        part = driving[:, start : start + chunk]
        if relative and start > 0:
            yield part, animate(source, torch.cat([driving[:, :1], part], dim=1), relative=True)[:, 1:]
        else:
            yield part, animate(source, part, relative=relative)


class PerVideoMean(Metric):
    """The mean over videos of a score averaged within each video, as LIA's ``evaluation.py``
    averages L1 and LPIPS (lines 123 and 126: a mean per video; 128-129: ``np.mean`` over videos).

    ``update(pred, target)`` feeds a part of the current video to ``frames`` (a metric of frame
    pairs, e.g. :class:`~stylevideo.metrics.animation.PixelL1`, built with
    ``sync_on_compute=False``: a video is evaluated on one rank); ``close_video()``, after its
    last part, adds the video's score to the mean and resets ``frames``. ``compute()``: the
    mean over the videos of every rank (float64).
    """

    full_state_update = False

    def __init__(self, frames: Metric, **kwargs):
        super().__init__(**kwargs)
        if frames.sync_on_compute:
            raise ValueError("PerVideoMean: build the per-video metric with sync_on_compute=False")
        self.frames, self.videos = frames, MeanMetric().set_dtype(torch.float64)

    def update(self, pred: Tensor, target: Tensor) -> None:
        self.frames.update(pred, target)

    def close_video(self) -> None:
        self.videos.update(self.frames.compute())
        self.frames.reset()

    def compute(self) -> Tensor:
        return self.videos.compute()

    def reset(self) -> None:
        super().reset()
        self.frames.reset()
        self.videos.reset()


def cross_video_pairs(video_ids: list[str], seed: int, identities: list[str] | None = None) -> list[tuple[str, str]]:
    """``(source, driving)`` pairs: every video drives once, its source another video drawn with
    ``seed``; with ``identities`` (one per video, e.g. its actor), a video of another identity
    (vidstyleode Table 2's cross-identity animation)."""
    n = len(video_ids)
    if n < 2:
        raise ValueError(f"cross-video pairs need at least 2 videos, got {n}")
    if len(set(video_ids)) != n:
        raise ValueError("cross-video pairs need distinct video ids")
    if identities is None:
        offsets = np.random.default_rng([seed, 20]).integers(1, n, size=n)
        return [(video_ids[(i + int(o)) % n], video_ids[i]) for i, o in enumerate(offsets)]
    identities, rng, pairs = np.asarray(identities), np.random.default_rng([seed, 22]), []
    for i, driving in enumerate(video_ids):
        others = np.flatnonzero(identities != identities[i])
        if not len(others):
            raise ValueError(f"cross-identity pairs: every video is of identity {identities[i]!r}")
        pairs.append((video_ids[int(others[rng.integers(len(others))])], driving))
    return pairs


def cross_identity_sources(datamodule: Any, split: str, seed: int, label: str = "actor") -> Callable:
    """``sources(video_ids) -> [B, 3, H, W]``: for each driving video of ``split``, the first frame
    of a source video drawn with ``seed`` among those of another ``label`` (another video where
    the records carry no ``label``): :func:`cross_video_pairs` over the split."""
    records = {r.video_id: r for r in datamodule.records(split)}
    with_label = all(label in r.labels for r in records.values())
    identities = [r.labels[label] for r in records.values()] if with_label else None
    source_of = {d: s for s, d in cross_video_pairs(list(records), seed, identities)}

    def sources(video_ids: list[str]) -> Tensor:
        return torch.cat([_first_frames(records[source_of[v]], 1, datamodule.resolution) for v in video_ids])

    return sources


def cross_dataset_pairs(source_ids: list[str], driving_ids: list[str], seed: int) -> list[tuple[str, str]]:
    """``(source, driving)`` pairs across two datasets: every driving video once, its source a
    video of ``source_ids`` drawn uniformly with ``seed`` (lia 4.2 (b): GermanPublicTV sources,
    VoxCeleb driving videos)."""
    if not source_ids or not driving_ids:
        raise ValueError(
            f"cross-dataset pairs need sources and driving videos, got {len(source_ids)}, {len(driving_ids)}"
        )
    picks = np.random.default_rng([seed, 21]).integers(0, len(source_ids), size=len(driving_ids))
    return [(source_ids[int(p)], d) for p, d in zip(picks, driving_ids, strict=True)]


def save_pairs(path: str | os.PathLike, pairs: list[tuple[str, str]]) -> Path:
    """Write ``source,driving`` rows (with that header) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "driving"])
        writer.writerows(pairs)
    return path


def load_pairs(
    path: str | os.PathLike, known_ids: list[str], source_ids: list[str] | None = None
) -> list[tuple[str, str]]:
    """Read a pair list written by :func:`save_pairs`: every driving id must be one of
    ``known_ids``, every source id one of ``source_ids`` (default: ``known_ids``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pair list {path} does not exist (expected a CSV with columns source,driving)")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != ["source", "driving"]:
        raise ValueError(f"{path}: the first line must be 'source,driving', got {rows[:1]}")
    known, sources = set(known_ids), set(known_ids if source_ids is None else source_ids)
    pairs = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or row[0] not in sources or row[1] not in known:
            raise ValueError(f"{path}:{line}: expected a source and a driving video id of the split, got {row}")
        pairs.append((row[0], row[1]))
    return pairs


def pair_list(
    datamodule: Any,
    split: str,
    seed: int,
    path: str | os.PathLike | None,
    save_to: str | os.PathLike | None,
    source: Any | None = None,
    source_split: str = "test",
) -> tuple[list[tuple[str, str]], Path | None]:
    """The pairs of ``path`` if given, else :func:`cross_video_pairs` (sources from the same
    split) or, with a ``source`` data module, :func:`cross_dataset_pairs` (sources from its
    ``source_split``), written to ``save_to`` (a CSV; None: not written).

    Returns ``(pairs, file)``: the file read or written.
    """
    ids = [r.video_id for r in datamodule.records(split)]
    source_ids = None if source is None else [r.video_id for r in source.records(source_split)]
    if path is not None:
        return load_pairs(path, ids, source_ids), Path(path)
    pairs = cross_video_pairs(ids, seed) if source is None else cross_dataset_pairs(source_ids, ids, seed)
    return pairs, None if save_to is None else save_pairs(save_to, pairs)


def _first_frames(record: Any, n: int, resolution) -> Tensor:
    count = min(n, record.num_frames)
    return frames_to_tensor(read_frames(record.path, np.arange(count)), resolution)


def pair_batches(
    datamodule: Any,
    pairs: list[tuple[str, str]],
    split: str,
    max_frames: int = 100,
    source: Any | None = None,
    source_split: str = "test",
) -> Iterator[dict[str, Any]]:
    """Per pair: ``source [1, 3, H, W]`` (the source video's first frame, from ``source``'s
    ``source_split`` if given, at ``datamodule``'s resolution), ``driving [1, T, 3, H, W]`` (the
    driving video's first ``max_frames`` frames, fewer if it is shorter), ``source_id``, ``driving_id``."""
    records = {r.video_id: r for r in datamodule.records(split)}
    sources = records if source is None else {r.video_id: r for r in source.records(source_split)}
    for source_id, driving_id in pairs:
        yield {
            "source": _first_frames(sources[source_id], 1, datamodule.resolution),
            "driving": _first_frames(records[driving_id], max_frames, datamodule.resolution)[None],
            "source_id": source_id,
            "driving_id": driving_id,
        }
