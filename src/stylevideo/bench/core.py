"""What a benchmark case is, and how one is timed.

A module under ``stylevideo.bench`` contributes cases with ``def cases() -> list[BenchCase]``.
Each case is timed in its own subprocess (so peak memory is its own): ``build(device)`` returns
the callable to time (a training step, a clip generation, a loader pass...), which runs
``warmup`` times untimed and ``repeat`` times timed; the report gives the median. A
callable that returns a float reports its own seconds (e.g. an iteration time averaged
over lazy-regularisation intervals) instead of its wall time.
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

__all__ = ["BenchCase", "BenchResult", "lazy_average", "run_case", "time_iterations"]


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
        reported = fn()
        _sync(device)
        seconds.append(float(reported) if isinstance(reported, float) else time.perf_counter() - start)
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return BenchResult(case.section, case.name, seconds, case.items, case.unit, peak, device, case.notes)


class _IterationTimer(Callback):
    def __init__(self, device: str):
        self.device, self.seconds, self._start = device, [], 0.0

    def on_train_batch_start(self, *args) -> None:
        _sync(self.device)
        self._start = time.perf_counter()

    def on_train_batch_end(self, *args) -> None:
        _sync(self.device)
        self.seconds.append(time.perf_counter() - self._start)


def time_iterations(
    model: LightningModule, batch: dict, iterations: int, device: str, precision: str = "32-true"
) -> list[float]:
    """Seconds of each of ``iterations`` training iterations (0, 1, ...) of a real ``fit``
    on one repeated batch: the method's own code path, Lightning included."""
    timer = _IterationTimer(device)
    trainer = Trainer(
        max_steps=iterations,
        accelerator=device,
        devices=1,
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(model, torch.utils.data.DataLoader([batch] * iterations, batch_size=None))
    return timer.seconds


def lazy_average(seconds: list[float], intervals: dict[str, int]) -> float:
    """Mean iteration time over a full lazy-regularisation cycle.

    Iteration ``i`` costs ``t_base + sum_r c_r [i % interval_r == 0]``; the costs are
    fitted by least squares on the measured iterations 0, 1, ... and the cycle mean is
    ``t_base + sum_r c_r / interval_r``.
    """
    rows = [[1.0] + [float(i % k == 0) for k in intervals.values()] for i in range(len(seconds))]
    design = np.array(rows)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError(f"iterations 0..{len(seconds) - 1} cannot separate the costs of {intervals}")
    coef, *_ = np.linalg.lstsq(design, np.array(seconds), rcond=None)
    return float(coef[0] + sum(c / k for c, k in zip(coef[1:], intervals.values(), strict=True)))
