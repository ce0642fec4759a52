"""What a benchmark case is, and how one is timed.

A module under ``stylevideo.bench`` contributes cases with ``def cases() -> list[BenchCase]``.
Each case is timed in its own subprocess (so peak memory is its own): ``build(device)`` returns
the callable to time (a training step, a clip generation, a loader pass...), which runs
``warmup`` times untimed and ``repeat`` times timed; the report gives the median. A
callable that returns a float reports its own seconds (e.g. an iteration time averaged
over lazy-regularisation intervals) instead of its wall time.

A case with ``count_flops`` also reports its arithmetic floor: the FLOPs of one call
(:func:`count_flops`, run once after the timing; for a callable built on
:func:`time_iterations`, those of the iteration whose time it reports) over this process's
fp32 matmul rate (:func:`matmul_gflops`).

Training iterations run under the Lightning precision ``$STYLEVIDEO_BENCH_PRECISION``
(``python -m stylevideo.bench --precision 16-mixed``; default ``32-true``) unless a case names its own.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

__all__ = [
    "PRECISION_ENV",
    "BenchCase",
    "BenchResult",
    "count_flops",
    "lazy_average",
    "matmul_gflops",
    "run_case",
    "time_iterations",
]


PRECISION_ENV = "STYLEVIDEO_BENCH_PRECISION"


def default_precision() -> str:
    return os.environ.get(PRECISION_ENV, "32-true")


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
    count_flops: bool = False  # report the FLOPs of one call and the arithmetic floor


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
    flops: float | None = None  # of one call (count_flops), if the case counts them
    matmul_gflops: float | None = None  # this process's fp32 matmul rate, where flops are counted
    precision: str = "32-true"  # the run's default training precision (a case may name its own)
    machine: str = ""  # CPU model and threads, or the GPU's name

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def per_second(self) -> float:
        return self.items / self.median

    @property
    def floor(self) -> float | None:
        """Seconds the counted FLOPs take at the measured matmul rate (None without a count)."""
        if self.flops is None:
            return None
        return self.flops / (self.matmul_gflops * 1e9)

    @property
    def over_floor(self) -> float | None:
        """The median in units of the floor (None without a FLOP count)."""
        return None if self.flops is None else self.median / self.floor


def machine(device: str) -> str:
    """The CPU model and torch's thread count, or the GPU's name."""
    if device == "cuda":
        return torch.cuda.get_device_name()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def peak_rss_mib() -> float:
    """This program's peak resident memory in MiB: ``VmHWM``, which starts afresh at exec
    (``ru_maxrss`` starts from the parent's resident size at fork and keeps it across exec, so
    every case would report at least the bench driver's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line")


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(device: str, repeat: int = 5) -> float:
    """This process's fp32 matmul rate on ``device`` in GFLOP/s: the median of ``repeat`` timed
    products of two ``n x n`` matrices (n = 2048 on CPU, 4096 on CUDA) after an untimed one."""
    n = 4096 if device == "cuda" else 2048
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    seconds = []
    for _ in range(repeat + 1):
        _sync(device)
        start = time.perf_counter()
        a @ b
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(seconds[1:]) / 1e9


class _NoModuleTracking:
    """Stands in for ``FlopCounterMode``'s ``ModuleTracker``: every FLOP goes to "Global"."""

    parents = frozenset({"Global"})

    def __enter__(self) -> _NoModuleTracking:
        return self

    def __exit__(self, *args) -> None:
        pass


def _conv_backward_flops(
    grad_out_shape,
    x_shape,
    w_shape,
    bias,
    stride,
    padding,
    dilation,
    transposed,
    output_padding,
    groups,
    output_mask,
    **kwargs,
) -> int:
    """FLOPs of ``aten.convolution_backward``: each gradient asked for (input, weight) costs as
    many multiply-adds as the forward. Replaces torch's formula, which counts the weight
    gradient of a grouped convolution as if it were dense (``groups`` times too many: the
    modulated convolutions of StyleGAN2 group by the batch)."""
    spatial = (x_shape if transposed else grad_out_shape)[2:]
    forward = 2 * x_shape[0] * math.prod(w_shape) * math.prod(spatial)
    return forward * (int(output_mask[0]) + int(output_mask[1]))


def _cpu_attention_flops(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
    """FLOPs of ``aten._scaled_dot_product_flash_attention_for_cpu`` (what ``F.scaled_dot_product_attention``
    runs on CPU; torch's counter has formulas for the CUDA kernels only): Q K^T and the weighted sum of V."""
    return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)


def _cpu_attention_backward_flops(grad_out_shape, query_shape, key_shape, value_shape, *args, **kwargs) -> int:
    return flop_counter.sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


class _FlopCount:
    """The state of a running :func:`count_flops`: its counter, and whether
    :func:`time_iterations` reported per-iteration FLOPs through it.

    The counter has no per-module attribution: the hooks of its ``ModuleTracker`` break
    ``torch.autograd.grad`` with respect to a leaf input (R1, path length;
    pytorch/pytorch#131753).
    """

    def __init__(self):
        aten = torch.ops.aten
        self.mode = FlopCounterMode(
            display=False,
            custom_mapping={
                aten.convolution_backward: _conv_backward_flops,
                aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention_flops,
                aten._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_attention_backward_flops,
            },
        )
        self.mode.mod_tracker = _NoModuleTracking()
        self.per_iteration = False


_counting: _FlopCount | None = None


def count_flops(fn: Callable[[], object]) -> float:
    """FLOPs of one call of ``fn``, as ``FlopCounterMode`` counts them (matrix products,
    convolutions, attention; forward and backward; element-wise work is not counted).

    While this runs, :func:`time_iterations` returns each iteration's FLOPs in place of its
    seconds, so a callable built on it reduces them exactly as it reduces its times (a
    lazy-regularisation average, the last iteration, ...) and returns the FLOPs of the
    iteration whose time it reports; that float is the count. For any other callable the
    count is that of the whole call.
    """
    global _counting
    _counting = _FlopCount()
    try:
        with _counting.mode:
            reported = fn()
        per_iteration, total = _counting.per_iteration, _counting.mode.get_total_flops()
    finally:
        _counting = None
    if per_iteration:
        if not isinstance(reported, float):
            raise TypeError(f"a callable built on time_iterations must return a float, got {type(reported).__name__}")
        return reported
    if isinstance(reported, float):
        raise TypeError("the callable reports its own seconds without time_iterations: its FLOPs cannot be matched")
    return float(total)


def run_case(case: BenchCase, device: str = "cpu") -> BenchResult:
    """Build and time ``case`` in this process; peak memory is the process's (CPU) or CUDA's,
    read before the FLOP count and the matmul rate (``count_flops`` cases) are measured."""
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
        peak = peak_rss_mib()
    result = BenchResult(case.section, case.name, seconds, case.items, case.unit, peak, device, case.notes)
    result.precision, result.machine = default_precision(), machine(device)
    if case.count_flops:
        result.flops, result.matmul_gflops = count_flops(fn), matmul_gflops(device)
    return result


class _IterationTimer(Callback):
    """Seconds of every training iteration, or its FLOPs while :func:`count_flops` runs."""

    def __init__(self, device: str):
        self.device, self.values, self._start = device, [], 0.0

    def _now(self) -> float:
        if _counting is not None:
            return float(_counting.mode.get_total_flops())
        _sync(self.device)
        return time.perf_counter()

    def on_train_batch_start(self, *args) -> None:
        self._start = self._now()

    def on_train_batch_end(self, *args) -> None:
        self.values.append(self._now() - self._start)


def time_iterations(
    model: LightningModule, batch: dict, iterations: int, device: str, precision: str | None = None
) -> list[float]:
    """Seconds of each of ``iterations`` training iterations (0, 1, ...) of a real ``fit``
    on one repeated batch: the method's own code path, Lightning included (``precision``:
    default the run's, :func:`default_precision`). Under :func:`count_flops`: the FLOPs of
    each iteration instead."""
    if _counting is not None:
        _counting.per_iteration = True
    timer = _IterationTimer(device)
    trainer = Trainer(
        max_steps=iterations,
        accelerator=device,
        devices=1,
        precision=precision or default_precision(),
        benchmark=True,  # as experiments/base/default.yaml
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(model, torch.utils.data.DataLoader([batch] * iterations, batch_size=None))
    return timer.values


def lazy_average(costs: list[float], intervals: dict[str, int]) -> float:
    """Mean iteration cost (seconds; FLOPs under :func:`count_flops`) over a full
    lazy-regularisation cycle.

    Iteration ``i`` costs ``t_base + sum_r c_r [i % interval_r == 0]``; the costs are
    fitted by least squares on the measured iterations 0, 1, ... and the cycle mean is
    ``t_base + sum_r c_r / interval_r`` (exact for FLOPs, which follow that model exactly).
    """
    rows = [[1.0] + [float(i % k == 0) for k in intervals.values()] for i in range(len(costs))]
    design = np.array(rows)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError(f"iterations 0..{len(costs) - 1} cannot separate the costs of {intervals}")
    coef, *_ = np.linalg.lstsq(design, np.array(costs), rcond=None)
    return float(coef[0] + sum(c / k for c, k in zip(coef[1:], intervals.values(), strict=True)))


def real_root() -> Path:
    """``$STYLEVIDEO_REAL_DATA``, default ``../shared/data/real`` next to the repository."""
    default = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real"
    return Path(os.environ.get("STYLEVIDEO_REAL_DATA", default))
