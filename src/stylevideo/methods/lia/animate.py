"""Animate a still image with a driving video (LIA section 3.4):

    python -m stylevideo.methods.lia.animate --checkpoint vox.pt --source face.png \\
        --driving driving.mp4 --output out.mp4 [--relative]

``--checkpoint`` is an official checkpoint (the authors' vox.pt, taichi.pt, ted.pt) or one of
ours (a Lightning ``.ckpt`` of :class:`~stylevideo.methods.lia.LIA`). Source and driving frames
are resized to the model's resolution. Without ``--relative`` the motion is transferred
absolutely (Eq. 11: the source takes the driving frames' poses); with it, relatively (Eq. 12:
the source keeps its pose and follows the motion from the first driving frame, for a source
whose pose is close to that frame's). The driving video is decoded and animated ``--chunk``
frames at a time.
"""

from __future__ import annotations

import argparse
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from stylevideo.methods.lia.module import LIA
from stylevideo.methods.lia.official import load_official_checkpoint
from stylevideo.video.io import (
    count_frames,
    frames_to_tensor,
    read_frames,
    tensor_to_uint8,
    video_fps,
    write_video,
)

__all__ = ["animate_file", "load_checkpoint", "main", "read_image"]


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> LIA:
    """A :class:`LIA` (eval mode) from an official checkpoint or from one of our Lightning ones."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # a Lightning checkpoint holding more than tensors
        ckpt = None
    if ckpt is None or (isinstance(ckpt, dict) and "state_dict" in ckpt):
        model = LIA.load_from_checkpoint(path, map_location="cpu")
    else:
        model = load_official_checkpoint(path)
    return model.to(device).eval()


def read_image(path: str | os.PathLike, resolution: int) -> torch.Tensor:
    """An image file as ``[1, 3, resolution, resolution]`` in [-1, 1]."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise FileNotFoundError(f"source image {path} does not exist")
    try:
        image = np.asarray(Image.open(path).convert("RGB"))
    except UnidentifiedImageError:
        raise ValueError(f"source image {path} is not a readable image file") from None
    return frames_to_tensor(image[None], resolution)


@torch.no_grad()
def animate_file(
    model: LIA,
    source: str | os.PathLike,
    driving: str | os.PathLike,
    output: str | os.PathLike,
    relative: bool = False,
    chunk: int = 64,
    fps: float | None = None,
    max_frames: int | None = None,
) -> Path:
    """Animate image ``source`` with video ``driving`` and write the mp4 ``output``."""
    resolution = model.hparams.resolution
    x_s = read_image(source, resolution).to(model.device)
    total = count_frames(driving)
    if max_frames is not None:
        total = min(total, max_frames)
    first = frames_to_tensor(read_frames(driving, [0]), resolution).to(model.device)
    model.autoencoder.eval()
    model.apply_memory_format()
    frames = []
    for start in range(0, total, chunk):
        part = frames_to_tensor(read_frames(driving, np.arange(start, min(start + chunk, total))), resolution)
        out = model.autoencoder.animate(
            x_s,
            part[None].to(model.device),
            relative,
            first=first,
            chunk=model.hparams.animate_chunk,
        )
        frames.append(tensor_to_uint8(out[0].clamp(-1, 1).cpu()))
    return write_video(output, torch.cat(frames), fps=fps or video_fps(driving) or 25.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m stylevideo.methods.lia.animate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", required=True, help="official LIA checkpoint or a LIA Lightning .ckpt")
    parser.add_argument("--source", required=True, help="source image (png, jpg)")
    parser.add_argument("--driving", required=True, help="driving video file or frame folder")
    parser.add_argument("--output", required=True, help="output .mp4")
    parser.add_argument("--relative", action="store_true", help="relative motion transfer (Eq. 12)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--fps", type=float, default=None, help="output frame rate (default: the driving video's)")
    parser.add_argument("--max-frames", type=int, default=None, help="animate only the first N driving frames")
    parser.add_argument("--chunk", type=int, default=64, help="driving frames decoded at once")
    args = parser.parse_args(argv)
    model = load_checkpoint(args.checkpoint, args.device)
    path = animate_file(
        model,
        args.source,
        args.driving,
        args.output,
        args.relative,
        args.chunk,
        args.fps,
        args.max_frames,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
