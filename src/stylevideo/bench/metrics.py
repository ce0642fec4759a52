"""Metric throughput cases (FVD features per clip, FID, LiA frames/s, warping error)."""

from stylevideo.metrics.bench import cases  # noqa: F401
