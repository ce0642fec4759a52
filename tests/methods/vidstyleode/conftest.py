"""Fixtures: a tiny VidStyleODE on random-weight stand-ins and a batch for it."""

from __future__ import annotations

import pytest
import torch
from vso_helpers import make_batch, make_model

from stylevideo.methods.vidstyleode import VidStyleODE


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: these models are tiny, and on a shared 2-core machine a second
    thread mostly waits for the first (a step takes about ten times longer)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def model() -> VidStyleODE:
    torch.manual_seed(0)
    return make_model().eval()


@pytest.fixture
def batch() -> dict:
    return make_batch()
