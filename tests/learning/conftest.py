"""Fixtures of the synthetic-benchmark and learning tests: one small synthetic dataset and the
benchmark networks trained on it, both made once per session."""

from __future__ import annotations

import pytest
import torch
from learning_helpers import BENCH_DATA, JUDGE_STEPS, bench_data

from stylevideo.metrics.synthetic import Judges, train_judges
from stylevideo.video.synthetic import generate_synthetic_dataset


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: small networks on a shared 2-core machine run faster that way."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def bench_root(tmp_path_factory):
    return generate_synthetic_dataset(tmp_path_factory.mktemp("bench_data"), **BENCH_DATA)


@pytest.fixture(scope="session")
def judges(bench_root) -> Judges:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_judges(bench_data(bench_root), steps=JUDGE_STEPS, seed=0)
    finally:
        torch.set_num_threads(threads)
