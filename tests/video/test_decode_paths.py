"""Every clip decodes to the same pixels whatever path reads it, and encodes to the same bytes.

The read paths: ``read_frames`` in one batch, in any order, with repeats, frame by frame;
decord directly (``get_batch`` with seeks back and forth in one reader, ``next`` frame by
frame); PyAV (the path of the widths decord cannot read, run here on every clip); the
preprocessing scripts' frame iterator. Clips: the session's synthetic set (32x32, read by
decord) and a few at widths that trip decord's stride bug (24, 48: read by PyAV).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import decord
import numpy as np
import pytest

from stylevideo.video import io
from stylevideo.video.io import VideoReadError, read_frames, write_video
from stylevideo.video.preprocess.common import iter_frames
from stylevideo.video.synthetic import _make_actors, _motion, _render, generate_synthetic_dataset, read_labels


@pytest.fixture(scope="module")
def clips(synthetic_root, tmp_path_factory) -> list[tuple]:
    """(path, number of frames, decord reads it) for every clip of both sets."""
    out = [(synthetic_root / r["path"], r["num_frames"], True) for r in read_labels(synthetic_root)]
    for resolution in (24, 48):
        root = generate_synthetic_dataset(
            tmp_path_factory.mktemp(f"stride{resolution}"),
            num_actors=1,
            actions=("talk", "sway"),
            clips_per_pair=1,
            min_frames=10,
            max_frames=14,
            resolution=resolution,
        )
        out += [(root / r["path"], r["num_frames"], False) for r in read_labels(root)]
    return out


def test_decord_reads_exactly_the_widths_without_its_stride_bug(clips):
    for path, n, readable in clips:
        reader = decord.VideoReader(str(path), num_threads=1)
        if readable:
            assert reader.get_batch([0, n - 1]).shape == (2, 32, 32, 3)
        else:
            with pytest.raises(decord.DECORDError, match=io._DECORD_STRIDE_BUG):
                reader.get_batch([0, n - 1])


def test_every_clip_decodes_to_the_same_pixels_through_every_path(clips):
    rng = np.random.default_rng(0)
    for path, n, readable in clips:
        reference = read_frames(path, range(n)).numpy()
        assert reference.shape[0] == n and reference.std() > 10, path  # real pictures, not blank frames
        order = np.concatenate([rng.permutation(n), rng.integers(0, n, 5)])
        paths = {
            "reversed": (read_frames(path, range(n - 1, -1, -1)).numpy(), reference[::-1]),
            "shuffled, repeats": (read_frames(path, order).numpy(), reference[order]),
            "PyAV": (io._decode_sequentially(path, np.arange(n)), reference),
            "preprocessing": (np.stack(list(iter_frames(path))), reference),
        }
        singles = rng.permutation(n)[:6]
        by_frame = np.concatenate([read_frames(path, [i]).numpy() for i in singles])
        paths["frame by frame"] = (by_frame, reference[singles])
        if readable:
            reader = decord.VideoReader(str(path), num_threads=1)
            seeks = [n - 1, 0, n // 2, 1, n - 2]  # back and forth in one reader
            paths["decord seeks"] = (np.concatenate([reader.get_batch([i]).asnumpy() for i in seeks]), reference[seeks])
            reader = decord.VideoReader(str(path), num_threads=1)
            paths["decord next"] = (np.stack([reader.next().asnumpy() for _ in range(n)]), reference)
        for name, (frames, expected) in paths.items():
            np.testing.assert_array_equal(frames, expected, err_msg=f"{path}: {name}")


def test_another_decord_failure_raises_rather_than_switching_decoders(clips, monkeypatch):
    """Only decord's stride bug (a property of the file) hands a file to PyAV."""
    path, n, _ = clips[0]

    def fail(self, indices):
        raise decord.DECORDError("Check failed: run_.load()")

    monkeypatch.setattr(decord.VideoReader, "get_batch", fail)
    with pytest.raises(VideoReadError, match=rf"{path.name}.*run_\.load"):
        read_frames(path, range(n))


def test_write_video_bytes_do_not_depend_on_the_number_of_cpus(tmp_path):
    """x264 and swscale pick automatic thread counts from the CPUs; write_video pins them."""
    cpus = os.sched_getaffinity(0)
    if len(cpus) < 2:
        pytest.skip("needs two CPUs to compare")
    frames, _ = _render(_make_actors(1, 0)[0], _motion("talk", 8, 25, np.random.default_rng(0)), 128)
    data = {}
    try:
        for name, allowed in (("all", cpus), ("one", {min(cpus)})):
            os.sched_setaffinity(0, allowed)
            data[name] = write_video(tmp_path / f"{name}.mp4", frames, keyint=4).read_bytes()
    finally:
        os.sched_setaffinity(0, cpus)
    assert data["all"] == data["one"]


@pytest.mark.slow
def test_pyav_encodes_with_its_own_x264_even_when_decord_is_imported_next(tmp_path):
    """decord loads its FFmpeg with RTLD_GLOBAL; importing stylevideo.video.io first keeps every
    x264 symbol of PyAV's libavcodec bound to PyAV's own libx264 (the dynamic linker's log)."""
    script = textwrap.dedent(f"""
        import numpy as np
        from stylevideo.video.io import write_video
        import decord
        write_video({str(tmp_path / "clip.mp4")!r}, np.zeros((2, 16, 16, 3), np.uint8))
    """)
    log = tmp_path / "ld"
    env = os.environ | {"LD_DEBUG": "bindings", "LD_DEBUG_OUTPUT": str(log)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, timeout=120)
    bindings = [
        line.split("binding file ", 1)[1]
        for file in tmp_path.glob("ld.*")
        for line in file.read_text(errors="replace").splitlines()
        if "binding file" in line and "x264" in line.rsplit("symbol", 1)[-1]
    ]
    from_pyav = [b.split(" to ") for b in bindings if "libavcodec" in b and "decord" not in b.split(" to ")[0]]
    assert from_pyav, bindings  # x264_encoder_open, x264_encoder_encode, x264_param_default, ...
    assert not [b for b in from_pyav if "decord" in b[1]], from_pyav
