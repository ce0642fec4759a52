"""What the preprocessing scripts share: streaming frames in and writing clips out atomically."""

from __future__ import annotations

import fnmatch
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from stylevideo.video.io import (
    VIDEO_EXTENSIONS,
    VideoReadError,
    frame_to_rgb,
    list_frame_files,
    video_fps,
    write_video,
)

__all__ = [
    "FORMATS",
    "fill_nearest",
    "find_videos",
    "iter_frames",
    "output_path",
    "source_fps",
    "write_clip",
]

#: Output forms: a folder of jpg (StyleGAN-V's form) or png frames, or an H.264 mp4.
FORMATS = ("jpg", "png", "mp4")


def iter_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Every frame of a video file or frame folder, in order, as uint8 ``[H, W, 3]``."""
    path = Path(path)
    if path.is_dir():
        for file in list_frame_files(path):
            with Image.open(file) as im:
                yield np.asarray(im.convert("RGB"))
        return
    import av

    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                yield frame_to_rgb(frame)
    except av.error.FFmpegError as e:
        raise VideoReadError(f"cannot decode video {path}: {e}") from e


def find_videos(root: Path, include: str | None = None) -> list[Path]:
    """Video files below ``root`` (or ``root`` itself) whose path relative to ``root`` matches
    the shell pattern ``include`` (``*`` also matches ``/``)."""
    if root.is_file():
        return [root]
    videos = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
    return [p for p in videos if include is None or fnmatch.fnmatch(p.relative_to(root).as_posix(), include)]


def output_path(video: Path, src: Path, out: Path, fmt: str) -> Path:
    """Where the processed ``video`` goes: its path below ``src`` mirrored below ``out``."""
    relative = video.relative_to(src) if src.is_dir() else Path(video.name)
    stem = out / relative.with_suffix("")
    return stem.with_suffix(".mp4") if fmt == "mp4" else stem


def write_clip(frames: list[np.ndarray], dest: Path, fmt: str, fps: float | None = None) -> Path:
    """Write frames as a frame folder (``000000.<fmt>`` ...) or an mp4, atomically."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "mp4":
        return write_video(dest, np.stack(frames), fps=fps or 25)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for i, frame in enumerate(frames):
            Image.fromarray(frame).save(tmp / f"{i:06d}.{fmt}", quality=95)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def source_fps(path: Path) -> float | None:
    """The frame rate of a video file (None for frame folders or when unknown)."""
    try:
        return video_fps(path)
    except VideoReadError:
        return None


def fill_nearest(values: list, what: str = "frame") -> list:
    """Each ``None`` replaced by the nearest (earlier on ties) non-``None`` value."""
    found = np.array([i for i, v in enumerate(values) if v is not None])
    if found.size == 0:
        raise ValueError(f"no {what} found")
    return [v if v is not None else values[int(found[np.argmin(np.abs(found - i))])] for i, v in enumerate(values)]


def run_jobs(process: Callable[[tuple], str], jobs: Sequence[tuple], workers: int) -> None:
    """``process`` every job (in ``workers`` processes when more than one), printing each one's
    report line to stderr as it finishes in order."""
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for line in pool.map(process, jobs):
                print(line, file=sys.stderr)
    else:
        for job in jobs:
            print(process(job), file=sys.stderr)
