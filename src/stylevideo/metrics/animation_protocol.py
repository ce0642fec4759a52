"""The animators' evaluation protocols of lia Tables 1 and 2.

- **Whole videos** (Table 1, same-identity reconstruction): every test video from the data
  module's ``video_dataloader`` (variable length), its first frame as source and its frames
  as driving, absolute transfer (Eq. 11). :func:`animate_in_chunks` calls the module's
  ``animate`` on ``chunk`` driving frames at a time, so memory does not grow with the video.
- **Cross-video pairs** (Table 2, video FID): a seeded list of (source video, driving video)
  pairs over the test split, saved as CSV in the run folder and reloaded when given; the
  source image is the first frame of the source video, the driving clip the first
  ``max_frames`` frames of the driving video, relative transfer (Eq. 12).

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

from stylevideo.video.io import frames_to_tensor, read_frames

__all__ = ["animate_in_chunks", "cross_video_pairs", "load_pairs", "pair_batches", "pair_list", "save_pairs"]

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


def cross_video_pairs(video_ids: list[str], seed: int) -> list[tuple[str, str]]:
    """``(source, driving)`` pairs: every video drives once, its source another video drawn with ``seed``."""
    n = len(video_ids)
    if n < 2:
        raise ValueError(f"cross-video pairs need at least 2 videos, got {n}")
    if len(set(video_ids)) != n:
        raise ValueError("cross-video pairs need distinct video ids")
    offsets = np.random.default_rng([seed, 20]).integers(1, n, size=n)
    return [(video_ids[(i + int(o)) % n], video_ids[i]) for i, o in enumerate(offsets)]


def save_pairs(path: str | os.PathLike, pairs: list[tuple[str, str]]) -> Path:
    """Write ``source,driving`` rows (with that header) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "driving"])
        writer.writerows(pairs)
    return path


def load_pairs(path: str | os.PathLike, known_ids: list[str]) -> list[tuple[str, str]]:
    """Read a pair list written by :func:`save_pairs`; every id must be a video of ``known_ids``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pair list {path} does not exist (expected a CSV with columns source,driving)")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != ["source", "driving"]:
        raise ValueError(f"{path}: the first line must be 'source,driving', got {rows[:1]}")
    known = set(known_ids)
    pairs = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or not set(row) <= known:
            raise ValueError(f"{path}:{line}: expected two video ids of the split, got {row}")
        pairs.append((row[0], row[1]))
    return pairs


def pair_list(datamodule: Any, split: str, seed: int, path: str | os.PathLike | None, folder: str | os.PathLike):
    """The pairs of ``path`` if given, else :func:`cross_video_pairs` saved to ``<folder>/pairs_<split>.csv``.

    Returns ``(pairs, file)``.
    """
    ids = [r.video_id for r in datamodule.records(split)]
    if path is not None:
        return load_pairs(path, ids), Path(path)
    pairs = cross_video_pairs(ids, seed)
    return pairs, save_pairs(Path(folder) / f"pairs_{split}.csv", pairs)


def _first_frames(record: Any, n: int, resolution) -> Tensor:
    count = min(n, record.num_frames)
    return frames_to_tensor(read_frames(record.path, np.arange(count)), resolution)


def pair_batches(
    datamodule: Any, pairs: list[tuple[str, str]], split: str, max_frames: int = 100
) -> Iterator[dict[str, Any]]:
    """Per pair: ``source [1, 3, H, W]`` (the source video's first frame), ``driving
    [1, T, 3, H, W]`` (the driving video's first ``max_frames`` frames, fewer if it is shorter),
    ``source_id``, ``driving_id``."""
    records = {r.video_id: r for r in datamodule.records(split)}
    for source_id, driving_id in pairs:
        yield {
            "source": _first_frames(records[source_id], 1, datamodule.resolution),
            "driving": _first_frames(records[driving_id], max_frames, datamodule.resolution)[None],
            "source_id": source_id,
            "driving_id": driving_id,
        }
