"""Process-wide settings of the entry points (``lightning``, the StyleInV pipeline, ``make bench``).

:func:`keep_freed_memory`: on the CPU every tensor is a ``malloc``. glibc serves blocks above its
mmap threshold (32 MiB at most) with a fresh ``mmap`` and unmaps them when freed, so each large
feature map costs one page fault per 4 KiB page on its first write, every time. On the 2-core
CPU machine a 128 MiB ``add`` took 31 ms into fresh pages and 9 ms into reused ones; with the
fused activation, the StyleInV step at 256x256 came down from 1.46x to 1.01x and 1.07x its
arithmetic floor in two runs (docs/benchmarks.md).
With ``M_MMAP_MAX = 0`` every block comes from the heap and a large ``M_TRIM_THRESHOLD`` keeps
freed heap for the next allocation: the process's memory stays at its peak, as the CUDA caching
allocator's does on the GPU, and that peak is higher (a fragmented heap): VidStyleODE's
paper-size CPU step took 47.2 s instead of 62.3 s at a peak of 21.5 GiB instead of 14.3 GiB.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["keep_freed_memory"]

# mallopt parameters, glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_INT_MAX = 2**31 - 1


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` reuse freed memory instead of returning it to the OS (see the
    module docstring). Returns False where the C library has no ``mallopt`` (not glibc)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, _INT_MAX) == 1
