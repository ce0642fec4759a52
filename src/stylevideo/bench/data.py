"""Data-loader throughput: frames/s that a training DataLoader delivers with 0, 1 and 2 workers.

Two datasets, both through a data module's ``train_dataloader()`` (the loader training uses:
``VideoSampler``, decord decoding of the sampled frames, resizing, collation, worker processes)
with the StyleInV sparse sampler (first-frame-aware, ``n = 3``: 4 frames per clip):

- the shared real clips (``$STYLEVIDEO_REAL_DATA``, default ``../shared/data/real`` next to the
  repository: talking heads, Tai Chi, TED, 256x256) at styleinv_taichi's settings;
- the embedded synthetic dataset at the size of the synthetic experiments (the generator's
  defaults), generated into a temporary folder, at styleinv_synthetic's settings.
"""

from __future__ import annotations

import atexit
import itertools
import math
import shutil
import tempfile
import time
from collections.abc import Callable

from torch.utils.data import DataLoader

from stylevideo.bench.core import BenchCase, real_root
from stylevideo.data_modules.base import ClipRecord, VideoDataModule
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.video.sampling import FrameSampler, SparseFrames
from stylevideo.video.synthetic import generate_synthetic_dataset

__all__ = ["RealClips", "cases", "loader_case", "time_loader"]


class RealClips(VideoDataModule):
    """Every ``<root>/<folder>/*.mp4`` as a training clip, without labels."""

    layout = "the shared real clips, <root>/<dataset>/*.mp4 (set STYLEVIDEO_REAL_DATA to their folder)"

    def build_index(self) -> list[ClipRecord]:
        root = self.check_root()
        return [ClipRecord(p, None, str(p.relative_to(root).with_suffix(""))) for p in sorted(root.glob("*/*.mp4"))]


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


def cases() -> list[BenchCase]:
    found = []
    for workers in (0, 1, 2):
        found.append(
            loader_case(
                f"real clips 256x256, SparseFrames(3, 128, 128), batch 8 (styleinv_taichi), num_workers={workers}",
                lambda **kwargs: RealClips(str(real_root()), **kwargs),
                SparseFrames(3, max_distance=128, clip_length=128),
                resolution=256,
                batch_size=8,
                num_workers=workers,
                batches=4,
                quick=False,
            )
        )
    for workers in (0, 1, 2):
        found.append(
            loader_case(
                f"synthetic 64x64 clips resized to 32x32, SparseFrames(3, 16, 32), batch 4 (styleinv_synthetic), "
                f"num_workers={workers}",
                _synthetic,
                SparseFrames(3, max_distance=16, clip_length=32),
                resolution=32,
                batch_size=4,
                num_workers=workers,
                batches=16,
                quick=True,
            )
        )
    return found
