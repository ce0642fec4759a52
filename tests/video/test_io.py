"""Video I/O: only the requested frames, in order, from files and frame folders; clear errors."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from PIL import Image

from stylevideo.video.io import (
    VideoReadError,
    count_frames,
    frames_to_tensor,
    read_frames,
    tensor_to_uint8,
    video_fps,
    video_grid,
    write_video,
)


def _decode_all(path, n):
    """The first n frames by sequential decoding with PyAV (an independent decoder)."""
    with av.open(str(path)) as container:
        return np.stack(
            [f.to_ndarray(format="rgb24") for _, f in zip(range(n), container.decode(video=0), strict=False)]
        )


@pytest.fixture(scope="module")
def ted(real_data):
    return real_data / "ted" / "ted_a.mp4"


def test_count_and_fps_of_real_clips(real_data):
    assert count_frames(real_data / "voxceleb" / "talking_a.mp4") == 652
    assert video_fps(real_data / "voxceleb" / "talking_a.mp4") == pytest.approx(10.0)
    assert count_frames(real_data / "voxceleb" / "talking_b.mp4") == 221
    assert video_fps(real_data / "voxceleb" / "talking_b.mp4") == pytest.approx(25.0)


def test_read_frames_mp4_returns_requested_frames_in_order(ted):
    indices = [37, 3, 3, 159, 0]
    frames = read_frames(ted, indices)
    assert frames.dtype == torch.uint8 and frames.shape == (5, 256, 256, 3)
    reference = _decode_all(ted, 160)
    np.testing.assert_array_equal(frames.numpy(), reference[indices])


def _frame_folder(tmp_path, ted, n=12):
    """frame_1.png .. frame_12.png: lexicographic order (frame_10 < frame_2) would be wrong."""
    folder = tmp_path / "frames"
    folder.mkdir()
    frames = read_frames(ted, range(n)).numpy()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"frame_{i + 1}.png")
    return folder, frames


def test_read_frames_folder_natural_order_and_requested_order(tmp_path, ted):
    folder, frames = _frame_folder(tmp_path, ted)
    assert count_frames(folder) == 12 and video_fps(folder) is None
    indices = [10, 1, 1, 9, 0]
    np.testing.assert_array_equal(read_frames(folder, indices).numpy(), frames[indices])


def test_read_frames_folder_decodes_only_requested_files(tmp_path, ted):
    folder, frames = _frame_folder(tmp_path, ted)
    (folder / "frame_5.png").write_bytes(b"not a png")  # frame index 4
    np.testing.assert_array_equal(read_frames(folder, [3, 5]).numpy(), frames[[3, 5]])
    with pytest.raises(VideoReadError, match="frame_5.png"):
        read_frames(folder, [4])


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(VideoReadError, match="nope.mp4.*does not exist"):
        read_frames(missing, [0])
    with pytest.raises(VideoReadError, match="nope.mp4"):
        count_frames(missing)


def test_truncated_mp4_names_it(tmp_path, real_data):
    data = (real_data / "voxceleb" / "talking_b.mp4").read_bytes()
    broken = tmp_path / "truncated.mp4"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError, match="truncated.mp4.*unreadable or truncated"):
        count_frames(broken)
    with pytest.raises(VideoReadError, match="truncated.mp4"):
        read_frames(broken, [0])


def test_index_past_the_end_names_file_and_length(ted):
    with pytest.raises(VideoReadError, match=r"index 160 .*ted_a.mp4.* 160 frames"):
        read_frames(ted, [0, 160])
    with pytest.raises(VideoReadError, match="index -1"):
        read_frames(ted, [-1])


def test_empty_folder_and_mixed_sizes(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VideoReadError, match="empty.*no frames"):
        count_frames(empty)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.new("RGB", (8, 8)).save(mixed / "0.png")
    Image.new("RGB", (8, 6)).save(mixed / "1.png")
    with pytest.raises(VideoReadError, match="mixed.*mixes image sizes.*1.png is 8x6"):
        read_frames(mixed, [0, 1])


def test_unknown_extension_is_rejected(tmp_path):
    path = tmp_path / "clip.txt"
    path.write_text("x")
    with pytest.raises(VideoReadError, match="clip.txt.*neither a frame folder nor a video"):
        read_frames(path, [0])


def _moving_gradient(t=10, h=31, w=33):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack(
        [np.stack([(x * 7 + 10 * i) % 256, (y * 8) % 256, np.full_like(x, 128)], -1) for i in range(t)]
    ).astype(np.uint8)


def test_write_video_round_trip_pads_odd_sizes(tmp_path):
    frames = _moving_gradient()
    path = write_video(tmp_path / "out" / "clip.mp4", frames, fps=12)
    assert [p.name for p in path.parent.iterdir()] == ["clip.mp4"]  # no temporary file left
    assert count_frames(path) == 10 and video_fps(path) == pytest.approx(12.0)
    decoded = read_frames(path, range(10)).numpy().astype(np.int16)
    assert decoded.shape == (10, 32, 34, 3)  # padded to even
    assert np.abs(decoded[:, :31, :33] - frames).mean() < 4.0


def test_write_video_keyframe_interval(tmp_path):
    frames = _moving_gradient(t=20, h=16, w=32)
    for keyint, expected in ((None, [0]), (8, [0, 8, 16])):
        path = write_video(tmp_path / f"k{keyint}.mp4", frames, keyint=keyint)
        with av.open(str(path)) as container:
            keys = [i for i, p in enumerate(container.demux(video=0)) if p.is_keyframe]
        assert keys == expected


def test_write_video_accepts_float_tensors_in_minus_one_one(tmp_path):
    frames = _moving_gradient(t=4, h=16, w=16)
    video = frames_to_tensor(frames)
    assert torch.equal(tensor_to_uint8(video), torch.from_numpy(frames))  # the conversion is exact
    u8, floats = write_video(tmp_path / "u8.mp4", frames), write_video(tmp_path / "float.mp4", video)
    assert u8.read_bytes() == floats.read_bytes()  # the same frames, the same bytes
    decoded = read_frames(u8, range(4)).numpy().astype(np.int16)
    assert np.abs(decoded - frames).mean() < 4.0
    with pytest.raises(ValueError, match="expected uint8"):
        write_video(tmp_path / "bad.mp4", np.zeros((2, 3, 8, 8), dtype=np.uint8))


@pytest.mark.parametrize("size", [(16, 16), (32, 24), (40, 48)])
def test_widths_decord_cannot_decode_fall_back_to_sequential_decoding(tmp_path, size):
    """decord 0.6 fails on widths such as 16, 24, 48 (dmlc/decord#336); frames still come back."""
    path = write_video(tmp_path / "small.mp4", _moving_gradient(t=6, h=size[0], w=size[1]))
    reference = _decode_all(path, 6)
    np.testing.assert_array_equal(read_frames(path, [5, 0, 3, 3]).numpy(), reference[[5, 0, 3, 3]])


def test_frames_to_tensor_range_resize_and_inverse():
    frames = torch.from_numpy(_moving_gradient(t=3, h=20, w=24))
    x = frames_to_tensor(frames)
    assert x.shape == (3, 3, 20, 24) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert torch.equal(tensor_to_uint8(x), frames)
    assert frames_to_tensor(frames, 16).shape == (3, 3, 16, 16)
    assert frames_to_tensor(frames, (10, 12)).shape == (3, 3, 10, 12)
    flat = torch.full((1, 40, 40, 3), 200, dtype=torch.uint8)
    assert torch.allclose(frames_to_tensor(flat, 8), torch.full((1, 3, 8, 8), 200 / 127.5 - 1))


def test_video_grid_places_each_video_in_its_tile():
    n, t, h, w = 5, 2, 4, 6
    values = torch.linspace(-1, 1, n)
    videos = values.view(n, 1, 1, 1, 1).expand(n, t, 3, h, w).clone()
    videos[:, 1] *= -1  # frames differ in time
    grid = video_grid(videos, nrow=3)
    pad = 2
    assert grid.shape == (t, 2 * (h + pad) + pad, 3 * (w + pad) + pad, 3)
    for i in range(n):
        row, col = divmod(i, 3)
        tile = grid[
            :,
            pad + row * (h + pad) : pad + row * (h + pad) + h,
            pad + col * (w + pad) : pad + col * (w + pad) + w,
        ]
        assert torch.equal(tile, tensor_to_uint8(videos[i]).expand_as(tile))
    assert video_grid(videos).shape[1:3] == grid.shape[1:3]  # default: ceil(sqrt(5)) = 3 per row
