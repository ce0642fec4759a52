"""FaceForensics: the mask-based square crop of TGAN-V2 / StyleGAN-V (styleinv appendix D).

For each frame, the face region of its mask frame gives ``x_min, y_min, x_max, y_max``; the
shorter side of that rectangle is padded on both sides to a square (Algorithm 1); the square
is cut out (zero padding where it leaves the frame) and resized to ``--size`` (Lanczos, as the
reference preprocessing). ``--wide`` uses one square for the whole video instead: the union
of the frames' rectangles (steadier, looser). A frame whose mask shows no face reuses the
nearest frame's rectangle; a video without any face is skipped with a message.

The mask's face region is every pixel that differs from the mask's background (the median
colour of its border) by more than ``--threshold`` in some channel, so white-on-black and
black-on-white masks both work.

Input: FaceForensics' release, ``SRC/<split>/original/<video>.avi`` with the masks in
``SRC/<split>/mask/<video>.avi``. Output: ``OUT/<video>/000000.jpg ...`` (StyleGAN-V's form,
what :class:`~stylevideo.data_modules.faceforensics.FaceForensicsDataModule` reads)::

    python -m stylevideo.video.preprocess.mask_crop FaceForensics_compressed data/ffs256 \\
        --split train --size 256 --workers 8

Videos already in ``OUT`` are skipped, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from stylevideo.video.io import VIDEO_EXTENSIONS
from stylevideo.video.preprocess.common import (
    FORMATS,
    fill_nearest,
    iter_frames,
    run_jobs,
    source_fps,
    write_clip,
)

__all__ = ["crop_square", "crop_video", "mask_box", "square_box"]

Box = tuple[int, int, int, int]


def mask_box(mask: np.ndarray, threshold: int = 32) -> Box | None:
    """The face rectangle ``(x_min, y_min, x_max, y_max)`` (max exclusive) of one mask frame.

    ``None`` where the mask shows no face.
    """
    mask = mask.reshape(*mask.shape[:2], -1).astype(np.int16)
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    background = np.median(border, axis=0)
    face = (np.abs(mask - background) > threshold).any(axis=2)
    rows, cols = np.flatnonzero(face.any(axis=1)), np.flatnonzero(face.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def square_box(box: Box) -> Box:
    """Algorithm 1: pad the shorter side of ``box`` equally on both sides to make a square.

    With an odd difference the extra pixel goes to the far side (right or bottom).
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < h:
        d = h - w
        return x0 - d // 2, y0, x1 + d - d // 2, y1
    d = w - h
    return x0, y0 - d // 2, x1, y1 + d - d // 2


def crop_square(frame: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Cut the square ``box`` out of ``frame`` (zeros outside it), resized to ``size``."""
    x0, y0, x1, y1 = box
    h, w = frame.shape[:2]
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    if pad:
        frame = np.pad(frame, ((pad, pad), (pad, pad), (0, 0)))
    crop = frame[y0 + pad : y1 + pad, x0 + pad : x1 + pad]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_LANCZOS4)


def crop_video(video: Path, mask: Path, size: int = 256, wide: bool = False, threshold: int = 32) -> list[np.ndarray]:
    """The cropped frames of ``video`` using ``mask`` (the same number of frames)."""
    boxes = fill_nearest([mask_box(m, threshold) for m in iter_frames(mask)], "face in the mask")
    if wide:
        b = np.array(boxes)
        union = (int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max()))
        boxes = [union] * len(boxes)
    frames = []
    for i, frame in enumerate(iter_frames(video)):
        if i >= len(boxes):
            break
        frames.append(crop_square(frame, square_box(boxes[i]), size))
    if len(frames) != len(boxes):
        raise ValueError(f"{video} has {len(frames)} frames, its mask {mask} {len(boxes)}")
    return frames


def _pairs(src: Path, split: str) -> list[tuple[Path, Path]]:
    originals, masks = src / split / "original", src / split / "mask"
    if not originals.is_dir() or not masks.is_dir():
        raise FileNotFoundError(f"{src} is not FaceForensics' release: expected {originals} and {masks}")
    by_name = {p.stem: p for p in masks.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS}
    pairs = []
    for video in sorted(p for p in originals.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS):
        if video.stem not in by_name:
            raise FileNotFoundError(f"{video} has no mask in {masks}")
        pairs.append((video, by_name[video.stem]))
    return pairs


def _process(job: tuple) -> str:
    video, mask, dest, size, wide, threshold, fmt = job
    try:
        frames = crop_video(video, mask, size, wide, threshold)
    except (ValueError, RuntimeError) as e:
        return f"skipped {video.name}: {e}"
    write_clip(frames, dest, fmt, source_fps(video))
    return f"{video.name}: {len(frames)} frames"


def main(argv: list[str] | None = None) -> None:
    """``python -m stylevideo.video.preprocess.mask_crop SRC OUT [options]``."""
    parser = argparse.ArgumentParser(
        description="Crop FaceForensics with its masks (styleinv appendix D, Algorithm 1)."
    )
    parser.add_argument("src", type=Path, help="FaceForensics' release (holding <split>/original)")
    parser.add_argument("out", type=Path, help="output folder: one clip per video")
    parser.add_argument("--split", default="train", help="train (StyleGAN-V's 704 videos), val, test")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--wide", action="store_true", help="one square per video (the union)")
    parser.add_argument("--threshold", type=int, default=32, help="mask difference to background")
    parser.add_argument("--format", choices=FORMATS, default="jpg")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    jobs = []
    for video, mask in _pairs(args.src, args.split):
        dest = args.out / (video.stem + (".mp4" if args.format == "mp4" else ""))
        if not dest.exists():
            jobs.append((video, mask, dest, args.size, args.wide, args.threshold, args.format))
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"cropping {len(jobs)} videos into {args.out}", file=sys.stderr)
    run_jobs(_process, jobs, args.workers)


if __name__ == "__main__":
    main()
