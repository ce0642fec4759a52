"""Distributed states: every metric computed on two gloo ranks, each seeing half the data,
equals the single-process value on all of it."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from stylevideo.metrics.action import ActionAccuracy
from stylevideo.metrics.animation import LPIPS, AverageEmbeddingDistance, KeypointDistance, PixelL1
from stylevideo.metrics.face import IdentitySimilarity, LiACorrelation
from stylevideo.metrics.frechet import FrechetDistance
from stylevideo.metrics.image import FID, InceptionScoreMetric
from stylevideo.metrics.warping import WarpingError


class _Features(nn.Module):
    num_features = 6

    def forward(self, x):
        return x.float().mean((2, 3)).repeat(1, 2) / 32 + x.float().std((2, 3)).repeat(1, 2) / 64


class _PairDistance(nn.Module):
    def forward(self, x, y):
        return (x - y).abs().mean((1, 2, 3), keepdim=True)


def _landmarks(frames):
    out = np.zeros((len(frames), 68, 2))
    out[:, :, 0] = frames.reshape(len(frames), -1)[:, :68] / 10.0
    out[:, :, 1] = frames.reshape(len(frames), -1)[:, 68:136] / 10.0
    return out


def _embed(frames):
    return frames.reshape(len(frames), -1)[:, :8].astype(float) + 1.0


def _data():
    g = torch.Generator().manual_seed(0)
    videos = torch.rand(4, 3, 3, 16, 16, generator=g) * 2 - 1
    return {
        "features": (torch.randn(10, 6, generator=g), torch.randn(8, 6, generator=g) + 1),
        "videos": videos,
        "targets": (videos * 0.8).clamp(-1, 1),
        "signals": np.random.default_rng(0).normal(size=(4, 3, 12)),
        "logits": torch.randn(8, 5, generator=g),
        "labels": torch.randint(0, 5, (8,), generator=g),
    }


def _compute_all(rank: int, world: int) -> dict[str, float]:
    d = _data()
    part = slice(rank, None, world)
    metrics = {
        "fd": FrechetDistance(6),
        "fid": FID(feature_net=_Features()),
        "is": InceptionScoreMetric(feature_net=_Features(), splits=2),
        "l1": PixelL1(),
        "lpips": LPIPS(net=_PairDistance()),
        "akd": KeypointDistance(_landmarks),
        "aed": AverageEmbeddingDistance(_embed),
        "lia": LiACorrelation(landmarks=_landmarks),
        "id": IdentitySimilarity(embed=_embed),
        "warp": WarpingError("farneback"),
        "action": ActionAccuracy(num_classes=5),
    }
    metrics["fd"].update(d["features"][0][part], real=True)
    metrics["fd"].update(d["features"][1][part], real=False)
    metrics["fid"].update(d["videos"][part], real=True)
    metrics["fid"].update(d["targets"][part], real=False)
    frames = d["videos"].flatten(0, 1)
    metrics["is"].update(frames[part], index=torch.arange(len(frames))[part])  # frame numbers: rank-free splits
    for name in ("l1", "lpips", "akd", "aed"):
        metrics[name].update(d["targets"][part], d["videos"][part])
    metrics["lia"].update(signals=d["signals"][part])
    metrics["id"].update(d["videos"][part])
    metrics["warp"].update(d["videos"][part])
    metrics["action"].update(d["logits"][part], d["labels"][part])
    out = {}
    for name, metric in metrics.items():
        value = metric.compute()
        if isinstance(value, dict):
            out.update({f"{name}.{k}": float(v) for k, v in value.items()})
        elif isinstance(value, tuple):
            out[name] = float(value[0])
        else:
            out[name] = float(value)
    return out


def _worker(rank: int, world: int, port: int, out_path: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        results = _compute_all(rank, world)
        if rank == 0:
            torch.save(results, out_path)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_give_the_single_process_values(tmp_path):
    out = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    distributed = torch.load(out)
    single = _compute_all(0, 1)
    assert set(distributed) == set(single) and len(single) >= 16
    for key, value in single.items():
        assert distributed[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
