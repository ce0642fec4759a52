"""Metric throughput for ``make bench``: ``cases()`` returns :class:`BenchCase` s.

- FVD path: generated-clip batches through ``FrechetVideoDistance.update`` (uint8
  conversion, I3D with its own 224px resize, float64 statistics), with :class:`I3D` at the
  real detector's size and random weights (the TorchScript file is not needed).
- FID path: frames through torch-fidelity's Inception (random weights, same architecture).
- LiA: real 256x256 talking-head frames through dlib (HOG detection, 68 landmarks, area).
- Warping error: frame pairs of a real clip through DIS flow (both directions), occlusion
  check and warping.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from stylevideo.bench.core import BenchCase, real_root

__all__ = ["cases", "real_clip"]


def real_clip(name: str = "voxceleb/talking_a.mp4", frames: int = 32) -> np.ndarray:
    """uint8 ``[frames, H, W, 3]`` of a real clip from ``$STYLEVIDEO_REAL_DATA`` (default
    ``../shared/data/real`` next to the repository)."""
    from stylevideo.video.io import read_frames

    path = real_root() / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: set STYLEVIDEO_REAL_DATA to the real clips")
    return read_frames(path, range(frames)).numpy()


def _fvd(batch: int, frames: int, size: int):
    def build(device: str):
        from stylevideo.features.i3d import I3D
        from stylevideo.metrics.frechet import FrechetVideoDistance

        torch.manual_seed(0)
        fvd = FrechetVideoDistance(detector=I3D()).to(device)
        clips = (torch.rand(batch, frames, 3, size, size, device=device) * 2 - 1).clamp(-1, 1)
        return lambda: fvd.update(clips, real=False)

    return build


def _random_inception() -> torch.nn.Module:
    """The FID network of :func:`stylevideo.features.inception.inception_v3` (torchmetrics'
    wrapper of torch-fidelity's Inception-v3, ``[N, 2048]`` out) with random weights."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    class RandomInception(NoTrainInceptionV3):
        def load_state_dict(self, *args, **kwargs):
            return None

    with tempfile.TemporaryDirectory() as folder:
        torch.save({}, Path(folder) / "empty.pth")
        net = RandomInception("inception-v3-compat", ["2048"], str(Path(folder) / "empty.pth"), antialias=False)
    net.num_features = 2048
    return net.eval()


def _fid(batch: int, size: int):
    def build(device: str):
        from stylevideo.metrics.image import FID

        fid = FID(feature_net=_random_inception()).to(device)
        frames = torch.rand(batch, 3, size, size, device=device) * 2 - 1
        return lambda: fid.update(frames, real=False)

    return build


def _lia(frames: int, upsample: int):
    def build(device: str):
        from stylevideo.features.face import DlibFace
        from stylevideo.metrics.face import lip_area

        face, clip = DlibFace(upsample=upsample), real_clip(frames=frames)
        return lambda: lip_area(face.landmarks(clip))

    return build


def _warping(frames: int):
    def build(device: str):
        from stylevideo.features.flow import opencv_flow
        from stylevideo.metrics.warping import video_warping_error

        flow, clip = opencv_flow("dis"), real_clip(frames=frames)
        return lambda: video_warping_error(clip, flow)

    return build


def cases() -> list[BenchCase]:
    return [
        BenchCase(
            "metrics",
            "FVD path: 16-frame 64x64 clips, I3D-size stand-in, batch 1",
            _fvd(1, 16, 64),
            items=1,
            unit="clips",
            warmup=1,
            repeat=2,
        ),
        BenchCase(
            "metrics",
            "FVD path: 16-frame 256x256 clips, I3D-size stand-in, batch 8",
            _fvd(8, 16, 256),
            items=8,
            unit="clips",
            quick=False,
        ),
        BenchCase(
            "metrics",
            "FVD path: 128-frame 256x256 clips, I3D-size stand-in, batch 2",
            _fvd(2, 128, 256),
            items=2,
            unit="clips",
            quick=False,
        ),
        BenchCase(
            "metrics",
            "FID path: 256x256 frames, Inception-v3 (random weights), batch 16",
            _fid(16, 256),
            items=16,
            unit="frames",
            quick=False,
        ),
        BenchCase(
            "metrics",
            "LiA: dlib HOG (upsample 1, the default) + 68 landmarks, real 256x256 frames",
            _lia(16, 1),
            items=16,
            unit="frames",
            warmup=1,
            repeat=3,
        ),
        BenchCase(
            "metrics",
            "LiA: dlib HOG (upsample 0) + 68 landmarks, real 256x256 frames",
            _lia(16, 0),
            items=16,
            unit="frames",
            warmup=1,
            repeat=3,
        ),
        BenchCase(
            "metrics",
            "warping error: DIS flow both ways on real 256x256 frames",
            _warping(16),
            items=15,
            unit="frame pairs",
            warmup=1,
            repeat=3,
        ),
    ]
