"""The state every test starts from, and the undoing of what a test leaves behind (conftest.py)."""

from __future__ import annotations

import contextlib
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch

from stylevideo.features import weights

TESTS = Path(__file__).resolve().parent
SEED = 0
TORCH_THREADS = 2  # the CI machine's cores; fixed, so that float reductions split alike everywhere


class _Registry(dict):
    """The weight registry, remembering which names test code registered (to remove them)."""

    def __init__(self, entries: dict):
        super().__init__(entries)
        self.from_tests: set[str] = set()

    def __setitem__(self, name, spec):
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename == weights.__file__:
            frame = frame.f_back  # the first caller outside weights.py registered it
        if name not in self and frame is not None and Path(frame.f_code.co_filename).resolve().is_relative_to(TESTS):
            self.from_tests.add(name)
        super().__setitem__(name, spec)


weights._REGISTRY = _Registry(weights._REGISTRY)


@contextlib.contextmanager
def fixed_start_and_no_leftovers():
    """Seeds and threads set on entry; environment and test-registered weights restored on exit.

    Weights that a library module registers on its first import meanwhile stay: they are the
    library's, and that module stays imported.
    """
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    random.seed(SEED)
    torch.set_num_threads(TORCH_THREADS)
    environ, registered = dict(os.environ), set(weights._REGISTRY.from_tests)
    try:
        yield
    finally:
        for name in set(os.environ) - set(environ):
            del os.environ[name]  # e.g. PL_GLOBAL_SEED from seed_everything, STYLEVIDEO_RUN_DIR from the CLI
        os.environ.update(environ)
        for name in weights._REGISTRY.from_tests - registered:
            del weights._REGISTRY[name]
        weights._REGISTRY.from_tests &= registered
