"""FFHQ-style face alignment of videos, stabilised by jittered boxes (styleinv appendix D).

Per frame: dlib's HOG detector finds the face box (on a copy at most ``--detect-width`` wide;
a frame without a face takes the nearest frame's box); the box is shifted ``--jitters`` times
by a random distance (up to ``--shift`` times the box side) at a random angle, dlib's 68-point
predictor runs in the box and in every shifted copy, and the landmarks are averaged. "This
approach statistically reduces the variance of the detected landmarks" (StyleInV, which used
RetinaFace; dlib is what ships here). The averaged eyes and mouth corners define FFHQ's
oriented square (Karras et al., 2019: :func:`ffhq_quad`), which is warped to ``--size``.

Input: a video file, or a folder searched recursively for videos (``--include``: a shell
pattern their paths below the folder must match, e.g. DeeperForensics' uniform-light
front-camera clips, or MEAD's ``*/front/*``). Output: the same tree below
``OUT``, one frame folder (``000000.jpg`` ...) or mp4 per video. Needs the ``face`` extra
(dlib, face_recognition_models)::

    python -m stylevideo.video.preprocess.face_align DeeperForensics-1.0/source_videos \\
        data/deeperforensics256 --include '*_light_uniform_*_camera_front*' --size 256

Videos already in ``OUT`` are skipped, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np

from stylevideo.video.preprocess.common import (
    FORMATS,
    fill_nearest,
    find_videos,
    iter_frames,
    output_path,
    run_jobs,
    source_fps,
    write_clip,
)

__all__ = ["DlibLandmarks", "JitteredLandmarks", "align_face", "align_video", "ffhq_quad"]

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    """FFHQ's oriented crop square from 68 landmarks: corners ``[4, 2]`` (x, y), in the order
    top-left, bottom-left, bottom-right, top-right of the aligned image.

    The square is centred a tenth of the eye-to-mouth vector below the eyes' midpoint, turned
    so that the eyes lie level, with half-side ``max(2 |eye to eye|, 1.8 |eye to mouth|)``.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_left, eye_right = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    eye_avg, eye_to_eye = (eye_left + eye_right) / 2, eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) / 2
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8) / np.hypot(*x)
    y = np.array([-x[1], x[0]])
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def align_face(frame: np.ndarray, quad: np.ndarray, size: int) -> np.ndarray:
    """Warp the square ``quad`` of ``frame`` to ``size`` x ``size`` (reflected outside the frame).

    A quad much larger than the output is first shrunk by an integer factor (area averaging),
    as FFHQ does, so that the warp does not alias.
    """
    quad = np.asarray(quad, dtype=np.float64)
    shrink = int(np.hypot(*(quad[3] - quad[0])) / size / 2)
    if shrink > 1:
        h, w = frame.shape[:2]
        frame = cv2.resize(frame, (w // shrink, h // shrink), interpolation=cv2.INTER_AREA)
        quad = (quad + 0.5) / shrink - 0.5
    edges = np.float32([[-0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]])
    matrix = cv2.getAffineTransform(quad[:3].astype(np.float32), edges)
    return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


class JitteredLandmarks:
    """Landmarks averaged over the detected box and ``jitters`` randomly shifted copies of it.

    ``predict(frame, box) -> [68, 2]`` is the landmark regressor (dlib's in practice). Each
    copy is moved by a distance uniform in ``[0, shift * box side]`` at a uniform angle.
    """

    def __init__(self, predict: Callable[[np.ndarray, Box], np.ndarray], jitters: int = 8, shift: float = 0.1):
        if jitters < 0 or shift < 0:
            raise ValueError(f"jitters and shift must be >= 0, got {jitters}, {shift}")
        self.predict, self.jitters, self.shift = predict, jitters, shift

    def boxes(self, box: Box, rng: np.random.Generator) -> list[Box]:
        """The box and its shifted copies."""
        x0, y0, x1, y1 = box
        side = ((x1 - x0) + (y1 - y0)) / 2
        distance = rng.uniform(0, self.shift * side, self.jitters)
        angle = rng.uniform(0, 2 * np.pi, self.jitters)
        dx, dy = distance * np.cos(angle), distance * np.sin(angle)
        return [box] + [(x0 + a, y0 + b, x1 + a, y1 + b) for a, b in zip(dx, dy, strict=True)]

    def __call__(self, frame: np.ndarray, box: Box, rng: np.random.Generator) -> np.ndarray:
        return np.mean([self.predict(frame, b) for b in self.boxes(box, rng)], axis=0)


@functools.cache
def _dlib_face(upsample: int):
    """dlib's models, loaded once per process (the 68-point model takes seconds to load)."""
    from stylevideo.features.face import DlibFace

    return DlibFace(upsample=upsample)


class DlibLandmarks:
    """dlib's HOG face detector and 68-point predictor (the ``face`` extra's models)."""

    def __init__(self, detect_width: int = 640, upsample: int = 1):
        import dlib

        self._dlib, self._face = dlib, _dlib_face(upsample)
        self.detect_width = detect_width

    def detect(self, frame: np.ndarray) -> Box | None:
        """The largest face's box, detected on a copy at most ``detect_width`` wide."""
        scale = min(1.0, self.detect_width / frame.shape[1])
        small = frame if scale == 1 else cv2.resize(frame, None, fx=scale, fy=scale)
        rects = self._face.detector(small, self._face.upsample)
        if len(rects) == 0:
            return None
        r = max(rects, key=lambda r: r.width() * r.height())
        return r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale

    def predict(self, frame: np.ndarray, box: Box) -> np.ndarray:
        rect = self._dlib.rectangle(*(int(round(v)) for v in box))
        shape = self._face.predictor(frame, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def align_video(
    frames: Callable[[], Iterable[np.ndarray]],
    detect: Callable[[np.ndarray], Box | None],
    landmarks: JitteredLandmarks,
    size: int = 256,
    seed: int = 0,
) -> tuple[list[np.ndarray], int]:
    """Aligned frames of one video and the number of frames where no face was detected.

    ``frames()`` iterates the video (twice: detection, then alignment, so that a frame without
    a face can take the box of the nearest frame, earlier or later). Frame ``i``'s jitters are
    drawn from a generator seeded with ``(seed, i)``.
    """
    boxes = [detect(frame) for frame in frames()]
    misses = sum(b is None for b in boxes)
    boxes = fill_nearest(boxes, "face")
    out = []
    for i, frame in enumerate(frames()):
        points = landmarks(frame, boxes[i], np.random.default_rng([seed, i]))
        out.append(align_face(frame, ffhq_quad(points), size))
    return out, misses


def _process(job: tuple) -> str:
    video, dest, args = job
    faces = DlibLandmarks(args.detect_width, args.upsample)
    landmarks = JitteredLandmarks(faces.predict, args.jitters, args.shift)
    try:
        frames, misses = align_video(lambda: iter_frames(video), faces.detect, landmarks, args.size, args.seed)
    except (ValueError, RuntimeError) as e:
        return f"skipped {video}: {e}"
    write_clip(frames, dest, args.format, source_fps(video))
    return f"{video}: {len(frames)} frames, no face detected in {misses}"


def main(argv: list[str] | None = None) -> None:
    """``python -m stylevideo.video.preprocess.face_align SRC OUT [options]``."""
    parser = argparse.ArgumentParser(description="FFHQ-align face videos (styleinv appendix D).")
    parser.add_argument("src", type=Path, help="a video, or a folder searched for videos")
    parser.add_argument("out", type=Path, help="output folder (mirrors SRC's tree)")
    parser.add_argument("--include", help="only videos whose path below SRC matches this pattern")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--jitters", type=int, default=8, help="shifted boxes per frame")
    parser.add_argument("--shift", type=float, default=0.1, help="largest shift / box side")
    parser.add_argument("--detect-width", type=int, default=640)
    parser.add_argument("--upsample", type=int, default=1, help="dlib detector upsampling")
    parser.add_argument("--format", choices=FORMATS, default="jpg")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    videos = find_videos(args.src, args.include)
    if not videos:
        parser.error(f"no video under {args.src}" + (f" matching {args.include}" if args.include else ""))
    jobs = [(v, d, args) for v in videos if not (d := output_path(v, args.src, args.out, args.format)).exists()]
    print(f"aligning {len(jobs)} of {len(videos)} videos into {args.out}", file=sys.stderr)
    run_jobs(_process, jobs, args.workers)


if __name__ == "__main__":
    main()
