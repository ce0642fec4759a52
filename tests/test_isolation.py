"""Every test starts from the same state (tests/conftest.py) and leaves none behind."""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from fixed_state import SEED, TORCH_THREADS, fixed_start_and_no_leftovers

from stylevideo.features import weights
from stylevideo.features.weights import register_weights


def test_each_test_starts_from_the_seeds_and_the_thread_count():
    """(pytest-randomly, where installed, reseeds random and numpy with its own seed before each
    test's call: run it with ``--randomly-dont-reset-seed`` to keep these.)"""
    np.testing.assert_array_equal(np.random.rand(3), np.random.RandomState(SEED).rand(3))
    assert random.random() == random.Random(SEED).random()
    assert torch.equal(torch.rand(3), torch.rand(3, generator=torch.Generator().manual_seed(SEED)))
    assert torch.get_num_threads() == TORCH_THREADS


def test_environment_and_test_registered_weights_are_restored(monkeypatch):
    monkeypatch.setenv("STYLEVIDEO_ISOLATION_KEPT", "before")
    library = "register_weights('isolation_library_file', 'lib.pt', url='https://example.org/lib.pt')"
    with fixed_start_and_no_leftovers():
        os.environ["PL_GLOBAL_SEED"] = "7"
        os.environ["STYLEVIDEO_ISOLATION_KEPT"] = "changed"
        register_weights("isolation_test_file", "t.pt", url="https://example.org/t.pt")
        exec(compile(library, "/elsewhere/stylevideo/features/lib.py", "exec"))  # as a library import would
    assert "PL_GLOBAL_SEED" not in os.environ and os.environ["STYLEVIDEO_ISOLATION_KEPT"] == "before"
    assert "isolation_test_file" not in weights._REGISTRY
    assert weights._REGISTRY.pop("isolation_library_file").filename == "lib.pt"  # kept (removed here by hand)
