"""The embedded synthetic dataset (see :mod:`stylevideo.video.synthetic`) as a data module."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stylevideo.data_modules.base import ClipRecord, VideoDataModule, default_cache_dir
from stylevideo.video.sampling import FrameSampler
from stylevideo.video.synthetic import (
    ACTIONS,
    generate_synthetic_dataset,
    params_hash,
    read_labels,
    read_marker,
    synthetic_params,
)

__all__ = ["SyntheticDataModule"]


class SyntheticDataModule(VideoDataModule):
    """Procedural talking heads: labels ``actor`` and ``action``, ground-truth mouth polygons.

    ``root=None`` uses ``$STYLEVIDEO_CACHE/synthetic/<hash of the generator parameters>``
    (default cache ``~/.cache/stylevideo``); the data is generated there by
    :meth:`prepare_data` (rank 0) on first use. Split, per actor/action pair: the last clip
    is ``val``, with three or more clips per pair the one before it is ``test`` (otherwise
    ``test`` reuses ``val``), the rest are ``train``. ``return_mouth=True`` adds the batch
    key ``mouth``: the outer lip polygon of every sampled frame, ``[B, T, P, 2]`` pixel
    coordinates at the batch resolution.

    The generator arguments (``num_actors`` ... ``data_seed``) are those of
    :func:`~stylevideo.video.synthetic.generate_synthetic_dataset` (``video_resolution`` is its
    ``resolution``, ``data_seed`` its ``seed``); the others are :class:`VideoDataModule`'s.
    """

    layout = (
        "the synthetic dataset: labels.csv, <actor>/<action>/<clip>.mp4 and a .complete "
        "marker (written by prepare_data() or `python -m stylevideo.video.synthetic ROOT`)"
    )

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
        num_actors: int = 6,
        actions: tuple[str, ...] = ACTIONS,
        clips_per_pair: int = 2,
        min_frames: int = 32,
        max_frames: int = 64,
        video_resolution: int = 64,
        fps: float = 25.0,
        data_seed: int = 0,
        return_mouth: bool = False,
        mirror: bool = False,
    ):
        self.generator_params = synthetic_params(
            num_actors=num_actors,
            actions=actions,
            clips_per_pair=clips_per_pair,
            min_frames=min_frames,
            max_frames=max_frames,
            resolution=video_resolution,
            fps=fps,
            seed=data_seed,
        )
        if root is None:
            root = str(default_cache_dir() / "synthetic" / params_hash(self.generator_params))
        super().__init__(
            root,
            resolution,
            sampler,
            batch_size,
            num_workers,
            class_aware,
            samples_per_epoch,
            val_videos,
            strict,
            seed,
            mirror,
        )
        self.keypoints = ("mouth",) if return_mouth else ()

    @classmethod
    def from_root(cls, root: str, **kwargs) -> SyntheticDataModule:
        """A module over an existing synthetic dataset, with the parameters it was made with."""
        params = read_marker(Path(root))
        if params is None:
            raise FileNotFoundError(f"{root} holds no complete synthetic dataset (expected {cls.layout})")
        names = dict(
            num_actors="num_actors",
            actions="actions",
            clips_per_pair="clips_per_pair",
            min_frames="min_frames",
            max_frames="max_frames",
            video_resolution="resolution",
            fps="fps",
            data_seed="seed",
        )
        return cls(root=str(root), **{k: params[v] for k, v in names.items()}, **kwargs)

    def prepare_data(self) -> None:
        """Generate the dataset unless a complete one with these parameters is there.

        A complete dataset made with other parameters is never overwritten: that is an error.
        """
        found = read_marker(self.root)
        if found is not None and found != self.generator_params:
            raise ValueError(
                f"{self.root} holds a synthetic dataset made with {found}, not with this "
                f"module's {self.generator_params}; use SyntheticDataModule.from_root() "
                "to train on it, or another root"
            )
        p = self.generator_params
        generate_synthetic_dataset(
            self.root,
            num_actors=p["num_actors"],
            actions=p["actions"],
            clips_per_pair=p["clips_per_pair"],
            min_frames=p["min_frames"],
            max_frames=p["max_frames"],
            resolution=p["resolution"],
            fps=p["fps"],
            seed=p["seed"],
        )

    def build_index(self) -> list[ClipRecord]:
        root = self.check_root()
        if read_marker(root) is None:
            raise FileNotFoundError(f"{root} holds no complete synthetic dataset (expected {self.layout})")
        rows = read_labels(root)
        last = {}
        for row in rows:
            pair = (row["actor"], row["action"])
            last[pair] = max(last.get(pair, 0), row["clip"])
        records = []
        for row in rows:
            clip, final = row["clip"], last[(row["actor"], row["action"])]
            split = "val" if 0 < final == clip else "test" if 1 < final == clip + 1 else "train"
            records.append(
                ClipRecord(
                    path=root / row["path"],
                    num_frames=row["num_frames"],
                    video_id=row["path"].removesuffix(".mp4"),
                    labels={"actor": row["actor"], "action": row["action"]},
                    split=split,
                    keypoints={"mouth": root / row["mouth"]},
                )
            )
        return records

    def mouth_polygon(self, video_id: str) -> np.ndarray:
        """The ground-truth outer lip polygon of every frame of a clip: ``[T, P, 2]`` pixels."""
        for record in self.index():
            if record.video_id == video_id:
                return np.load(record.keypoints["mouth"])
        raise KeyError(f"no clip {video_id!r} in {self.root}")
