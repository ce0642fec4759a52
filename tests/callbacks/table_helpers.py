"""Stand-ins for the papers' table tests, loadable by class path (``lightning test`` configs):
detectors with the real interfaces that record what they are fed, generators that return the
real clips, face and recogniser stand-ins of known answers, and the tiny versions of the
evaluation configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import yaml
from lightning.pytorch import LightningModule
from torch import nn

from stylevideo.metrics.utils import to_uint8

REPO = Path(__file__).resolve().parents[2]
EVAL = REPO / "experiments" / "eval"
#: the synthetic_root fixture's generator parameters (tests/conftest.py), as data init_args
SYNTHETIC = dict(
    num_actors=3,
    actions=["talk", "nod", "smile"],
    clips_per_pair=3,
    min_frames=12,
    max_frames=24,
    video_resolution=32,
    fps=25,
    data_seed=0,
)


class RecordingI3D(nn.Module):
    """An I3D stand-in with StyleGAN-V's detector interface (``uint8 [B, 3, T, H, W]``,
    ``rescale``, ``resize``, ``return_features`` -> ``[B, 16]``) that keeps every input."""

    num_features = 16

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv3d(3, 16, (2, 3, 3), stride=(1, 2, 2))
        self.seen: list[torch.Tensor] = []

    def forward(self, x, rescale=True, resize=True, return_features=True):
        assert rescale and resize and return_features  # as StyleGAN-V calls it
        self.seen.append(x.clone())
        return self.embed(x)

    def embed(self, x):
        return 100 * self.conv(x.float() / 127.5 - 1).mean((2, 3, 4))


class RecordingFeatures(nn.Module):
    """An Inception stand-in: ``uint8 [N, 3, H, W]`` -> 8 features; keeps every input."""

    num_features = 8

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.clone())
        return self.embed(x)

    def embed(self, x):
        return 100 * self.conv(x.float() / 127.5 - 1).mean((2, 3))


class PerfectVideos(LightningModule):
    """A generator that returns real clips: generated video ``i`` (batch ``seed - seed0`` of
    ``batch_size``) is the ``i``-th clip of the datamodule's ``clip_dataloader(T, split)``."""

    def __init__(self, split: str = "train", seed: int = 0, batch_size: int = 3, noise_mode: str = "const"):
        super().__init__()
        self.save_hyperparameters()
        self.p = nn.Parameter(torch.zeros(()))
        self.clips: dict[int, torch.Tensor] = {}

    def test_step(self, batch, batch_idx):
        pass

    def real_clips(self, num_frames: int) -> torch.Tensor:
        if num_frames not in self.clips:
            loader = self.trainer.datamodule.clip_dataloader(num_frames, split=self.hparams.split)
            self.clips[num_frames] = torch.cat([b["frames"] for b in loader])
        return self.clips[num_frames]

    def sample_videos(self, n, num_frames, *, fps_scale=1.0, seed=None, **conditions):
        clips = self.real_clips(num_frames)
        start = (seed - self.hparams.seed) * self.hparams.batch_size
        return clips[torch.arange(start, start + n) % len(clips)].to(self.device)


def mouth_from_brightness(frames: np.ndarray) -> np.ndarray:
    """68 landmarks whose outer lip (points 49-60) is a circle growing with the frame's brightness."""
    out = np.zeros((len(frames), 68, 2))
    t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    scale = 1 + frames.reshape(len(frames), -1).mean(1, keepdims=True) / 64
    out[:, 48:60] = np.stack([np.cos(t)[None] * scale, np.sin(t)[None] * scale], -1)
    return out


class BrightnessFace:
    """A dlib stand-in (``landmarks``, ``descriptors``): the mouth follows the brightness."""

    def landmarks(self, frames: np.ndarray) -> np.ndarray:
        return mouth_from_brightness(frames)

    def descriptors(self, frames: np.ndarray) -> np.ndarray:
        return frames.reshape(len(frames), -1, 3).mean(1) + 1.0


class ColourEmbedder:
    """An ArcFace stand-in: frames -> their mean colour (plus a constant) as the embedding."""

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return frames.reshape(len(frames), -1, 3).astype(np.float64).mean(1) + 10.0


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Frechet distance of two feature sets with biased covariances (StyleGAN-V's
    ``get_mean_cov`` and ``frechet_video_distance.py``), in float64 with scipy's ``sqrtm``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False, bias=True), np.cov(b, rowvar=False, bias=True)
    root = np.real(scipy.linalg.sqrtm(cov_a @ cov_b))
    return float(np.square(mu_a - mu_b).sum() + np.trace(cov_a + cov_b - 2 * root))


def uint8(videos: torch.Tensor) -> torch.Tensor:
    """Frames in [-1, 1] as the detectors receive them (StyleGAN-V's conversion)."""
    return to_uint8(videos)


def tiny_eval_config(name: str, changes: dict[int, dict], out: Path, **top) -> Path:
    """``experiments/eval/<name>.yaml`` with ``changes[i]`` merged into the init_args of its
    i-th callback (mappings key by key) and the ``top`` keys (data, model, trainer settings)
    added; written to ``out``."""
    config = yaml.safe_load((EVAL / f"{name}.yaml").read_text())
    for i, change in changes.items():
        args = config["trainer"]["callbacks"][i]["init_args"]
        for key, value in change.items():
            args[key] = {**args[key], **value} if isinstance(value, dict) and isinstance(args.get(key), dict) else value
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return out


def read_markdown(path: Path) -> list[list[str]]:
    lines = [line for line in path.read_text().splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines if "---" not in line]
