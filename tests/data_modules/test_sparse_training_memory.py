"""Sparse training: a training step's peak memory does not grow with the length of the source video.

The data layer decodes only the frames the sampler picks (onestyle: consecutive triplets;
StyleInV: FFA-ST's t0 and three sparse frames), so a step on a 2048-frame 128x128 video costs
what one on a 32-frame video does; decoding all 2048 frames (96 MiB as uint8) costs about
290 MiB more (``read_frames`` holds decord's batch and its copies).

Every (method, video) runs in its own process, forked from one fresh interpreter that has only
imported the modules, so that ``ru_maxrss`` is that case's own (a process started from pytest
with exec would start from pytest's peak): the experiment's sampler, resolution and batch size
(``experiments/<method>_synthetic.yaml``), one batch of the data module's training loader with
``num_workers=0`` (decoding happens in the measured process), then one training iteration of
the bench's smoke-size model. glibc's mmap threshold is fixed at its default 128 KiB: left
dynamic, it moved the peaks by up to 40 MiB from run to run; fixed, they repeat within 1 MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from stylevideo.video.io import write_video

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
METHODS = ("onestyle", "styleinv")
LENGTHS = (32, 2048)  # 32: styleinv_synthetic's clip_length, the shortest video it trains on
SIZE = 128
TOLERANCE_MIB = 8  # measured: 1 MiB run to run, 1-3 MiB more for the longer video
ENV = {"OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "131072"}

_CASES = textwrap.dedent("""
    import importlib, json, multiprocessing, resource, sys
    from pathlib import Path

    import decord, torch

    from stylevideo.bench import onestyle, styleinv
    from stylevideo.bench.core import time_iterations
    from stylevideo.data_modules.base import ClipRecord, VideoDataModule
    from stylevideo.methods.onestyle import OneStyle

    def peak_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def step(method, video, data):
        video, decoded, get_batch = Path(video), [], decord.VideoReader.get_batch

        def counted(self, indices):
            decoded.append(len(indices))
            return get_batch(self, indices)

        decord.VideoReader.get_batch = counted

        class OneVideo(VideoDataModule):
            def build_index(self):
                return [ClipRecord(video, None, video.stem, {"actor": "actor00", "action": "talk"})]

        torch.manual_seed(0)
        model = OneStyle(**onestyle.SMOKE) if method == "onestyle" else styleinv._model(styleinv.SMOKE, "cpu")
        module, name = data["sampler"]["class_path"].rsplit(".", 1)
        sampler = getattr(importlib.import_module(module), name)(**data["sampler"]["init_args"])
        size = data["batch_size"]
        dm = OneVideo(
            str(video.parent), resolution=data["resolution"], sampler=sampler, batch_size=size, samples_per_epoch=size
        )
        dm.setup("fit")
        batch = next(iter(dm.train_dataloader()))
        loaded = peak_mib()
        iterations = len(time_iterations(model, batch, 1, "cpu"))
        shape = list(batch["frames"].shape)
        print(json.dumps(dict(loaded=loaded, stepped=peak_mib(), shape=shape, decoded=decoded, iterations=iterations)))

    for case in json.loads(sys.argv[1]):
        process = multiprocessing.get_context("fork").Process(target=step, args=case)
        process.start()
        process.join()
        if process.exitcode:
            sys.exit(f"{case[:2]} failed")
""")


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[int, Path]:
    """A 32- and a 2048-frame 128x128 mp4; every frame differs (its index in red and green)."""
    folder = tmp_path_factory.mktemp("sparse_memory")
    out = {}
    for n in LENGTHS:
        frames = np.zeros((n, SIZE, SIZE, 3), dtype=np.uint8)
        frames[..., 0] = (np.arange(n) % 256)[:, None, None]
        frames[:, : SIZE // 2, :, 1] = (np.arange(n) // 256 * 32)[:, None, None]
        out[n] = write_video(folder / f"{n}.mp4", frames)
    return out


@pytest.fixture(scope="module")
def steps(videos, tmp_path_factory) -> dict[tuple[str, int], dict]:
    """Per (method, video length): peak RSS (MiB) after loading one batch and after one training
    iteration on it, the batch's frame shape, the frames decord was asked for per call, and the
    iterations run."""
    data = {m: yaml.safe_load((EXPERIMENTS / f"{m}_synthetic.yaml").read_text())["data"]["init_args"] for m in METHODS}
    keys = [(method, n) for method in METHODS for n in LENGTHS]
    cases = [(method, str(videos[n]), data[method]) for method, n in keys]
    proc = subprocess.run(
        [sys.executable, "-c", _CASES, json.dumps(cases)],
        env=os.environ | ENV | {"TMPDIR": str(tmp_path_factory.mktemp("tmp"))},  # the StyleInV checkpoints
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return dict(zip(keys, results, strict=True))


@pytest.mark.parametrize("method", METHODS)
def test_a_step_on_a_2048_frame_video_costs_what_one_on_32_frames_does(method, steps):
    short, long = (steps[method, n] for n in LENGTHS)
    assert short["iterations"] == long["iterations"] == 1
    assert long["shape"] == short["shape"]
    batch, frames = long["shape"][:2]
    for case in (short, long):  # one decord call per item, for its sampled frames only
        assert len(case["decoded"]) == batch and max(case["decoded"]) <= frames, case["decoded"]
    for phase in ("loaded", "stepped"):
        assert abs(long[phase] - short[phase]) < TOLERANCE_MIB, (
            f"{method}: peak RSS {phase} is {long[phase]:.1f} MiB for 2048 frames, {short[phase]:.1f} MiB for 32"
        )
