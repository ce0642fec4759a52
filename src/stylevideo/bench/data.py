"""Data-loader throughput: frames/s that a training DataLoader delivers with 0, 1 and 2 workers
(and 4 and 8 on machines with at least that many cores).

Through a data module's ``train_dataloader()`` (the loader training uses: ``VideoSampler``,
decord decoding of the sampled frames, resizing, collation, worker processes):

- the shared real clips (``$STYLEVIDEO_REAL_DATA``, default ``../shared/data/real`` next to the
  repository: talking heads, Tai Chi, TED, 256x256) with the StyleInV sparse sampler
  (first-frame-aware, ``n = 3``: 4 frames per clip) at styleinv_taichi's settings, and with
  LIA's source-driving pairs at lia_voxceleb's, both as the mp4 files and as PNG frame
  folders (the layout FOMM's ``load_videos.py --format .png`` writes), exported into a
  temporary folder; and with onestyle's consecutive triplets (both layouts) and VidStyleODE's 8
  irregular frames at onestyle_mead's and vidstyleode_ravdess's settings;
- the embedded synthetic dataset at the size of the synthetic experiments (the generator's
  defaults), generated into a temporary folder, at styleinv_synthetic's settings.
"""

from __future__ import annotations

import atexit
import itertools
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from torch.utils.data import DataLoader

from stylevideo.bench.core import BenchCase, real_root
from stylevideo.data_modules.base import ClipRecord, VideoDataModule
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.video.sampling import (
    ConsecutiveFrames,
    FrameSampler,
    IrregularFrames,
    SourceDriving,
    SparseFrames,
)
from stylevideo.video.synthetic import generate_synthetic_dataset

__all__ = ["RealClips", "cases", "loader_case", "time_loader"]


class RealClips(VideoDataModule):
    """Every ``<root>/<folder>/*.mp4`` (or, with ``pattern="*/*/"``, every frame folder) as a
    training clip, without labels."""

    layout = "the shared real clips, <root>/<dataset>/*.mp4 (set STYLEVIDEO_REAL_DATA to their folder)"

    def __init__(self, root: str, pattern: str = "*/*.mp4", **kwargs):
        super().__init__(root, **kwargs)
        self.pattern = pattern

    def build_index(self) -> list[ClipRecord]:
        root = self.check_root()
        return [ClipRecord(p, None, str(p.relative_to(root).with_suffix(""))) for p in sorted(root.glob(self.pattern))]


def _real_frame_folders(**kwargs) -> RealClips:
    """The shared real clips exported as PNG frame folders (``<tmp>/<dataset>/<clip>/00000.png``),
    in a temporary folder removed at exit."""
    from PIL import Image

    from stylevideo.video.io import count_frames, read_frames

    folder = Path(tempfile.mkdtemp(prefix="bench-frames-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    root = real_root()
    for video in sorted(root.glob("*/*.mp4")):
        out = folder / video.relative_to(root).with_suffix("")
        out.mkdir(parents=True)
        frames = read_frames(video, range(count_frames(video)))  # uint8 [T, H, W, 3]
        for i, frame in enumerate(frames.numpy()):
            Image.fromarray(frame).save(out / f"{i:05d}.png")
    return RealClips(str(folder), pattern="*/*/", **kwargs)


def _synthetic(**kwargs) -> SyntheticDataModule:
    """The synthetic experiments' dataset (the generator's defaults) in a temporary folder
    removed at exit."""
    folder = tempfile.mkdtemp(prefix="bench-synthetic-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    generate_synthetic_dataset(folder)
    return SyntheticDataModule.from_root(folder, **kwargs)


def time_loader(loader: DataLoader, warmup: int) -> tuple[float, int]:
    """Seconds to draw the batches of one pass of ``loader`` after its first ``warmup``, and
    the frames those batches hold."""
    batches = iter(loader)
    for _ in range(warmup):
        next(batches)
    frames, start = 0, time.perf_counter()
    for batch in batches:
        frames += math.prod(batch["frames"].shape[:2])
    return time.perf_counter() - start, frames


def loader_case(
    name: str,
    module: Callable[..., VideoDataModule],
    sampler: FrameSampler,
    resolution: int,
    batch_size: int,
    num_workers: int,
    batches: int,
    quick: bool,
) -> BenchCase:
    """``batches`` timed batches of ``module(...)``'s training loader, one pass per call: the
    epoch holds one warm-up batch per worker (at least one), then the timed ones."""
    warmup = max(1, num_workers)
    frames = batches * batch_size * sampler.num_samples

    def build(device: str):
        data = module(
            resolution=resolution,
            sampler=sampler,
            batch_size=batch_size,
            num_workers=num_workers,
            samples_per_epoch=(warmup + batches) * batch_size,
        )
        data.setup("fit")
        loader = data.train_dataloader()
        epochs = itertools.count()

        def run() -> float:
            loader.sampler.set_epoch(next(epochs))  # fresh draws every call, as every epoch
            seconds, delivered = time_loader(loader, warmup)
            if delivered != frames:
                raise RuntimeError(f"the loader delivered {delivered} frames, expected {frames}")
            return seconds

        return run

    notes = (
        f"{batches} batches of {batch_size} clips x {sampler.num_samples} frames after {warmup} untimed "
        "warm-up batch(es) (one per worker, at least one): worker start-up and the first round are excluded; "
        "timed: decoding, resizing, collation, transfer from the workers (to pinned memory where CUDA is "
        "available; no copy to the device)"
    )
    return BenchCase("data", name, build, items=frames, unit="frames", warmup=0, repeat=3, notes=notes, quick=quick)


def worker_counts() -> list[int]:
    """0, 1 and 2 workers, and 4 and 8 where the machine has that many cores."""
    return [n for n in (0, 1, 2, 4, 8) if n <= 2 or n <= (os.cpu_count() or 1)]


def cases() -> list[BenchCase]:
    real = lambda **kwargs: RealClips(str(real_root()), **kwargs)  # noqa: E731
    lia = "SourceDriving, batch 8 (lia_voxceleb)"
    # (name, data module, sampler, resolution, batch size, timed batches, quick), per worker count
    real_loaders = [
        ("real clips 256x256, SparseFrames(3, 128, 128), batch 8 (styleinv_taichi)", real,
         SparseFrames(3, max_distance=128, clip_length=128), 256, 8, 4, False),
        (f"real clips 256x256, {lia}", real, SourceDriving(), 256, 8, 8, False),
        (f"real clips as PNG frame folders 256x256, {lia}", _real_frame_folders, SourceDriving(), 256, 8, 8, False),
        ("real clips resized to 128x128, ConsecutiveFrames(3), batch 16 (onestyle_mead)", real,
         ConsecutiveFrames(3), 128, 16, 4, False),
        ("real clips as PNG frame folders resized to 128x128, ConsecutiveFrames(3), batch 16 (onestyle_mead)",
         _real_frame_folders, ConsecutiveFrames(3), 128, 16, 4, False),
        ("real clips resized to 128x128, IrregularFrames(8), batch 2 (vidstyleode_ravdess)", real,
         IrregularFrames(8), 128, 2, 8, False),
    ]  # fmt: skip
    synthetic = [
        ("synthetic 64x64 clips resized to 32x32, SparseFrames(3, 16, 32), batch 4 (styleinv_synthetic)",
         _synthetic, SparseFrames(3, max_distance=16, clip_length=32), 32, 4, 16, True),
    ]  # fmt: skip
    return [
        loader_case(f"{name}, num_workers={workers}", module, sampler, res, batch, workers, batches, quick)
        for loaders in (real_loaders, synthetic)
        for workers in worker_counts()
        for name, module, sampler, res, batch, batches, quick in loaders
    ]
