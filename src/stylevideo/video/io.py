"""Reading and writing videos: the one decoding path and the project's pixel conversions.

A *video path* is either a video file (mp4, mov, avi, mkv, webm; decoded with decord) or a
folder of frames (png, jpg, jpeg; ordered naturally by the number in the file name).
Readers decode only the frames asked for. Every failure raises :class:`VideoReadError`,
whose message names the file and what was expected.

Pixel conventions: decoded frames are uint8 ``[T, H, W, 3]``; the models see float
``[T, 3, H, W]`` in [-1, 1]. :func:`frames_to_tensor` and :func:`tensor_to_uint8` are the
two conversions between them.

Determinism: a file decodes to the same pixels whatever reads it (one batch, single frames,
any index order, decord or the PyAV path, see :func:`_read_video`), and :func:`write_video`
writes the same bytes on every machine (one x264 thread, a bit-exact RGB -> YUV conversion).

PyAV is imported here, at module level, before decord can be: decord loads its bundled
FFmpeg with ``RTLD_GLOBAL``, and its ``libx264`` (build 164) exports the unversioned names
``x264_encoder_encode``, ``x264_param_default``, ... that PyAV's ``libavcodec`` looks up
too. Loaded first, decord's copy wins 14 of those 15 symbols (``LD_DEBUG=bindings``), so
that PyAV's encoder would run two x264 builds at once; loaded after PyAV, it wins none.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av  # before decord, see the module docstring
import numpy as np
import torch
import torch.nn.functional as F
from av.video.reformatter import Interpolation

__all__ = [
    "FRAME_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "VideoReadError",
    "count_frames",
    "frame_to_rgb",
    "frames_to_tensor",
    "list_frame_files",
    "read_frames",
    "tensor_to_uint8",
    "video_fps",
    "video_grid",
    "write_video",
]

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm")
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg")


class VideoReadError(RuntimeError):
    """A video or frame folder could not be read as expected; the message names the file."""


def _natural_key(path: Path) -> tuple:
    """Sort key: the last number in the file stem, then the name (``frame_2`` < ``frame_10``)."""
    numbers = re.findall(r"\d+", path.stem)
    return (int(numbers[-1]) if numbers else -1, path.name)


def list_frame_files(folder: str | os.PathLike) -> list[Path]:
    """The image files of a frame folder, in natural order; raises if there are none."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS and p.is_file()]
    if not files:
        raise VideoReadError(
            f"frame folder {folder} holds no frames (expected files ending in {', '.join(FRAME_EXTENSIONS)})"
        )
    return sorted(files, key=_natural_key)


def _check_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise VideoReadError(f"video {path} does not exist")
    if path.is_file() and path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise VideoReadError(
            f"{path} is neither a frame folder nor a video file (expected one of {', '.join(VIDEO_EXTENSIONS)})"
        )
    return path


def _open_video(path: Path):
    import decord

    try:
        return decord.VideoReader(str(path), num_threads=1)
    except Exception as e:  # decord raises RuntimeError/DECORDError with ffmpeg's message
        size = path.stat().st_size
        raise VideoReadError(
            f"cannot decode video {path} ({size} bytes): unreadable or truncated container "
            f"({str(e).splitlines()[0][:200]})"
        ) from e


def count_frames(path: str | os.PathLike) -> int:
    """Number of frames of a video file or frame folder."""
    path = _check_path(path)
    if path.is_dir():
        return len(list_frame_files(path))
    return len(_open_video(path))


def video_fps(path: str | os.PathLike) -> float | None:
    """Average frame rate of a video file; ``None`` for a frame folder (no time base)."""
    path = _check_path(path)
    if path.is_dir():
        return None
    fps = float(_open_video(path).get_avg_fps())
    return fps if fps > 0 else None


def _check_indices(path: Path, indices: Sequence[int] | np.ndarray, num_frames: int) -> np.ndarray:
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if indices.size == 0:
        raise VideoReadError(f"no frame indices requested from {path}")
    bad = indices[(indices < 0) | (indices >= num_frames)]
    if bad.size:
        raise VideoReadError(
            f"frame index {int(bad[0])} out of range for {path}, which has {num_frames} frames "
            f"(valid: 0..{num_frames - 1})"
        )
    return indices


def _read_folder(path: Path, indices: Sequence[int]) -> np.ndarray:
    from PIL import Image

    files = list_frame_files(path)
    indices = _check_indices(path, indices, len(files))
    unique, inverse = np.unique(indices, return_inverse=True)
    images = []
    for i in unique:
        try:
            with Image.open(files[i]) as im:
                images.append(np.asarray(im.convert("RGB")))
        except Exception as e:
            raise VideoReadError(f"cannot decode frame {files[i]} of {path}: {e}") from e
        if images[-1].shape != images[0].shape:
            h0, w0 = images[0].shape[:2]
            h, w = images[-1].shape[:2]
            raise VideoReadError(
                f"frame folder {path} mixes image sizes: {files[unique[0]].name} is {w0}x{h0}, "
                f"{files[i].name} is {w}x{h} (expected all frames the same size)"
            )
    return np.stack(images)[inverse]


# decord 0.6 wraps a converted frame without copying when its row stride is a multiple of
# the width, taking ``stride / width`` as the channel count: wrong whenever the stride is
# padded (widths 16, 24, 48, 72, ... at FFmpeg's 32-byte alignment; dmlc/decord#336).
# ``get_batch`` then fails its size check with this message, for every frame of such a file.
_DECORD_STRIDE_BUG = "DECORDArrayCopyFromTo"


def _read_video(path: Path, indices: Sequence[int]) -> np.ndarray:
    """Frames ``indices`` of a video file: decord's ``get_batch``, or PyAV where decord cannot.

    One decoder per file: PyAV decodes only the files whose width trips decord's stride bug
    (a property of the file, the same on every call), never as a retry after another
    failure, which raises. Both give the same pixels anyway: H.264 decoding is exact (the
    standard fixes its output), and the YUV -> RGB step is swscale's unscaled converter with
    the stream's matrix tag (BT.601 where untagged) in both, the defaults of decord's
    ``scale`` filter and of :func:`frame_to_rgb`. Measured bit-identical at all 132 frame
    sizes from 18x16 to 256x64 that decord reads (and for BT.709- and BT.601-tagged files);
    tests/video/test_decode_paths.py asserts it for every read path.
    """
    reader = _open_video(path)
    indices = _check_indices(path, indices, len(reader))
    unique, inverse = np.unique(indices, return_inverse=True)  # decode each frame once, in order
    try:
        frames = reader.get_batch(unique.tolist()).asnumpy()
    except Exception as e:
        if _DECORD_STRIDE_BUG not in str(e):
            raise VideoReadError(
                f"cannot decode frames {unique.tolist()[:8]} of {path} ({len(reader)} frames in its index): "
                f"{str(e).splitlines()[0][:200]}"
            ) from e
        frames = _decode_sequentially(path, unique)
    if frames.shape[0] != unique.size or frames.shape[-1] != 3:
        raise VideoReadError(f"{path} returned frames of shape {frames.shape}, expected {unique.size} RGB frames")
    return frames[inverse]


def frame_to_rgb(frame) -> np.ndarray:
    """A decoded PyAV frame as uint8 ``[H, W, 3]`` RGB: the conversion decord applies.

    swscale with its default flags (the unscaled YUV -> RGB converter), the frame's colour
    tags, one thread (so that the converter's slices do not depend on the machine's CPUs).
    """
    return frame.to_ndarray(format="rgb24", threads=1)


def _decode_sequentially(path: Path, sorted_indices: np.ndarray) -> np.ndarray:
    """Frames ``sorted_indices`` by decoding from the start with PyAV."""
    wanted, frames, i = set(sorted_indices.tolist()), [], -1
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                frames.append(frame_to_rgb(frame))
            if i >= sorted_indices[-1]:
                break
    if len(frames) != sorted_indices.size:
        raise VideoReadError(f"{path} ended after {i + 1} frames, expected frame {sorted_indices[-1]}")
    return np.stack(frames)


def read_frames(path: str | os.PathLike, indices: Sequence[int] | np.ndarray) -> torch.Tensor:
    """Decode only the frames ``indices`` (any order, repeats allowed): uint8 ``[T, H, W, 3]``."""
    path = _check_path(path)
    frames = _read_folder(path, indices) if path.is_dir() else _read_video(path, indices)
    return torch.from_numpy(np.ascontiguousarray(frames))


def frames_to_tensor(frames: torch.Tensor | np.ndarray, size: int | tuple[int, int] | None = None) -> torch.Tensor:
    """uint8 ``[T, H, W, 3]`` -> float ``[T, 3, h, w]`` in [-1, 1], antialiased bilinear resize.

    ``size`` is an int (square) or ``(h, w)``; ``None`` keeps the size.
    """
    frames = torch.as_tensor(frames)
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected uint8 frames [T, H, W, 3], got {frames.dtype} {tuple(frames.shape)}")
    x = frames.permute(0, 3, 1, 2).float()
    if size is not None:
        size = (size, size) if isinstance(size, int) else tuple(size)
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    return (x / 127.5 - 1.0).clamp_(-1.0, 1.0).contiguous()


def tensor_to_uint8(video: torch.Tensor) -> torch.Tensor:
    """float ``[..., 3, H, W]`` in [-1, 1] -> uint8 ``[..., H, W, 3]`` (undoes frames_to_tensor)."""
    if video.ndim < 3 or video.shape[-3] != 3:
        raise ValueError(f"expected [..., 3, H, W], got {tuple(video.shape)}")
    x = ((video.detach().float() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return x.movedim(-3, -1).contiguous()


def video_grid(videos: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """Tile a batch ``[N, T, 3, H, W]`` in [-1, 1] into one video, uint8 ``[T, H', W', 3]``.

    ``nrow`` videos per row (default ``ceil(sqrt(N))``); one make_grid call for all frames.
    """
    from torchvision.utils import make_grid

    if videos.ndim != 5 or videos.shape[2] != 3:
        raise ValueError(f"expected videos [N, T, 3, H, W], got {tuple(videos.shape)}")
    n, t, _, h, w = videos.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    # fold time into channels: make_grid tiles any channel count, so all frames tile at once
    grid = make_grid(videos.detach().float().reshape(n, t * 3, h, w), nrow=nrow, padding=padding, pad_value=-1.0)
    return tensor_to_uint8(grid.reshape(t, 3, *grid.shape[-2:]))


def _as_uint8_frames(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    frames = torch.as_tensor(frames)
    if frames.dtype == torch.uint8 and frames.ndim == 4 and frames.shape[-1] == 3:
        return frames.cpu().numpy()
    if frames.is_floating_point() and frames.ndim == 4 and frames.shape[1] == 3:
        return tensor_to_uint8(frames.cpu()).numpy()
    raise ValueError(
        f"expected uint8 [T, H, W, 3] or float [T, 3, H, W] in [-1, 1], got {frames.dtype} {tuple(frames.shape)}"
    )


# BT.601 ("smpte170m") limited range: what decoders assume for untagged standard-definition
# video; tagged in the stream so that no reader has to guess (AVColorSpace, AVColorRange).
_BT601, _LIMITED_RANGE = 6, 1
_RGB_TO_YUV = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.BITEXACT


def write_video(
    path: str | os.PathLike,
    frames: torch.Tensor | np.ndarray,
    fps: float = 25,
    crf: int = 18,
    keyint: int | None = None,
) -> Path:
    """Write an H.264 (yuv420p) mp4 atomically; odd sizes are padded to even by edge replication.

    ``frames``: uint8 ``[T, H, W, 3]`` or float ``[T, 3, H, W]`` in [-1, 1]. ``keyint``: frames
    between keyframes (x264's default 250 if ``None``); short values make random access, i.e.
    training reads, faster at the cost of larger files.

    The same frames give the same bytes on every machine: RGB -> YUV is swscale's bit-exact C
    path (BT.601, limited range, accurate rounding, one thread) and x264 runs one thread.
    x264's automatic thread count is 1.5 per CPU (capped at one per two macroblock rows): on
    this project's 2-CPU machine the same 128x128 clip encoded to other bytes with one CPU
    than with two, and decoded 12 % of its values up to 29 levels apart.
    """
    path = Path(path)
    array = _as_uint8_frames(frames)
    if array.shape[0] == 0:
        raise ValueError(f"no frames to write to {path}")
    t, h, w, _ = array.shape
    if h % 2 or w % 2:
        array = np.pad(array, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = array.shape[2], array.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.thread_count = 1
            stream.codec_context.colorspace, stream.codec_context.color_range = _BT601, _LIMITED_RANGE
            stream.options = {"crf": str(crf)} | ({"g": str(keyint)} if keyint else {})
            for frame in array:
                yuv = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
                    format="yuv420p",
                    dst_colorspace="ITU601",
                    dst_color_range="MPEG",
                    interpolation=_RGB_TO_YUV,
                    threads=1,
                )
                container.mux(stream.encode(yuv))
            container.mux(stream.encode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
