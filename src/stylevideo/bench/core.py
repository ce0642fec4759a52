"""What a benchmark case is, and how one is timed.

A module under ``stylevideo.bench`` contributes cases with ``def cases() -> list[BenchCase]``.
Each case is timed in its own subprocess (so peak memory is its own): ``build(device)`` returns
the callable to time (a training step, a clip generation, a loader pass...), which runs
``warmup`` times untimed and ``repeat`` times timed; the report gives the median.
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

__all__ = ["BenchCase", "BenchResult", "run_case"]


@dataclass
class BenchCase:
    """One measurement: ``build(device)`` returns the callable to time on that device."""

    section: str  # e.g. "stylegan2", "data", "metrics"
    name: str  # e.g. "train step 256x256 batch 4 (paper widths)"
    build: Callable[[str], Callable[[], object]]
    items: int = 1  # items one call processes (images, clips, frames...)
    unit: str = "images"
    warmup: int = 1
    repeat: int = 3
    notes: str = ""
    quick: bool = True  # part of `make bench ARGS=--quick`


@dataclass
class BenchResult:
    section: str
    name: str
    seconds: list[float] = field(default_factory=list)
    items: int = 1
    unit: str = "images"
    peak_mib: float = 0.0
    device: str = "cpu"
    notes: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def per_second(self) -> float:
        return self.items / self.median


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def run_case(case: BenchCase, device: str = "cpu") -> BenchResult:
    """Build and time ``case`` in this process; peak memory is the process's (CPU) or CUDA's."""
    fn = case.build(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(case.warmup):
        fn()
    _sync(device)
    seconds = []
    for _ in range(case.repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        _sync(device)
        seconds.append(time.perf_counter() - start)
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return BenchResult(case.section, case.name, seconds, case.items, case.unit, peak, device, case.notes)
