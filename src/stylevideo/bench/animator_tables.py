"""The cost of the animators' tables (section ``tables``): one evaluation of a table's protocol, its
metric callbacks as ``lightning test`` runs them, on the real clips (``$STYLEVIDEO_REAL_DATA``,
``voxceleb/``: two talking-head videos of 652 and 221 frames, as a folder of test videos).

- lia Table 1: the videos whole (the quick case: the 221-frame one), first frame as source
  (Eq. 11), L1, LPIPS (AlexNet), AKD and AED (dlib); lia Table 2: each video drives the other's
  first frame for its first 100 frames (Eq. 12), video FID (3D ResNeXt-101).
- vidstyleode Table 1: one 34-frame clip per video edited towards the other's description, FVD on
  12 frames, warping error (DIS), FID on one frame per video, CLIP accuracy (IS, on the same
  frames, needs 10 videos); Table 2: AKD/AED of same- and cross-identity animation; Table 6: FVD
  of same-identity animation with z_C of the first and the mean frame.

Every pretrained network has its architecture and random weights (no file is read); dlib's models
are the real ones. The paper-size cases (not ``--quick``) take the papers' resolutions and widths;
the quick ones the synthetic experiments'. Counts are reduced (2 videos): the figure is videos per
second of one evaluation, to scale by the test set's size (VoxCeleb 495, RAVDESS / Fashion test).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace

import torch

from stylevideo.bench.core import BenchCase, real_root

__all__ = ["cases"]

#: The real talking-head clips (652 and 221 frames).
VIDEOS = ("talking_a.mp4", "talking_b.mp4")


def _evaluation(make_model, resolution, make_callbacks, videos=VIDEOS):
    """``build(device)``: the callbacks set up on the model and a folder of the real ``videos``; the
    callable runs their evaluations once (``MetricCallback.run``)."""

    def build(device: str):
        from stylevideo.data_modules.folder import VideoFolderDataModule

        torch.manual_seed(0)
        model = make_model().to(device).eval()
        folder = Path(tempfile.mkdtemp(prefix="bench_tables_"))
        (folder / "videos").mkdir()
        for name in videos:
            (folder / "videos" / name).symlink_to(real_root() / "voxceleb" / name)
        data = VideoFolderDataModule(str(folder / "videos"), resolution=resolution, cache_dir=str(folder))
        callbacks = make_callbacks()
        trainer = SimpleNamespace(
            datamodule=data, callbacks=callbacks, global_rank=0, world_size=1, is_global_zero=True, global_step=0,
            current_epoch=0, ckpt_path=None, loggers=[], callback_metrics={}, checkpoint_callback=None,
            default_root_dir=folder,
        )  # fmt: skip
        for callback in callbacks:
            callback.setup(trainer, model, "test")
        return lambda: [callback.run(trainer, model, "fit") for callback in callbacks]

    return build


def _lpips():
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    return _NoTrainLpips(net="alex", pnet_rand=True).eval()


def _lia(paper: bool):
    from stylevideo.bench.lia import SMOKE, _model

    return _model() if paper else _model(**SMOKE)


def _lia_table1(paper: bool):
    from stylevideo.callbacks.animation_metrics import AnimationMetrics

    def callbacks():
        args = dict(whole_videos=True, num_clips=None, split="test", extractors={"lpips": _lpips()})
        return [AnimationMetrics(["l1", "lpips", "akd", "aed"], **args)]

    return _evaluation(lambda: _lia(paper), 256 if paper else 64, callbacks, VIDEOS if paper else VIDEOS[1:])


def _lia_table2(paper: bool):
    from stylevideo.callbacks.video_fid import VideoFIDMetrics
    from stylevideo.features.resnext3d import ResNeXt3D

    def callbacks():
        net = ResNeXt3D() if paper else ResNeXt3D((1, 1, 1, 1), 4, (32, 64, 128, 256), 8, size=32)
        return [VideoFIDMetrics(split="test", extractors={"resnext3d": net.eval()})]

    return _evaluation(lambda: _lia(paper), 256 if paper else 64, callbacks)


class _VideoTexts:
    """Descriptions for videos without text: one per video id."""

    def setup(self, datamodule) -> None:
        pass

    def __call__(self, batch: dict) -> list[str]:
        return [f"a photo of a person, video {v}" for v in batch["video_id"]]


def _vidstyleode(paper: bool):
    from stylevideo.bench.vidstyleode import _paper_model, _smoke_model

    model = _paper_model() if paper else _smoke_model()
    model.descriptions = _VideoTexts()
    if paper:
        model.hparams.output_size = (256, 256)  # the experiment's: generated at the data resolution
    return model


def _vidstyleode_callbacks(table: int, paper: bool):
    from clip.model import CLIP

    from stylevideo.callbacks.animation_metrics import AnimationMetrics
    from stylevideo.callbacks.metrics import FrameMetrics, VideoMetrics
    from stylevideo.callbacks.semantic_metrics import ManipulationMetrics
    from stylevideo.features.i3d import I3D
    from stylevideo.methods.vidstyleode.frozen import CLIP_ARCHITECTURES
    from stylevideo.metrics.bench import _random_inception

    def i3d():
        return I3D() if paper else I3D(num_classes=16, width=0.125, resize_to=16)

    def callbacks():
        clips = dict(split="test", batch_size=2)
        if table == 1:
            inception = _random_inception()
            return [
                VideoMetrics(
                    ["fvd2_36f_subsample3f", "warping_error"], mode="edit", warping_frames=34,
                    extractors={"i3d": i3d()}, **clips,
                ),
                FrameMetrics(
                    ["fid2"], mode="edit", num_frames=34, extractors={"inception_fid": inception}, **clips
                ),
                ManipulationMetrics(
                    ["manipulation_acc"], num_clips=2, num_frames=34,
                    extractors={"clip": CLIP(*CLIP_ARCHITECTURES["ViT-B/32"]).eval()}, **clips,
                ),
            ]  # fmt: skip
        if table == 2:
            return [
                AnimationMetrics(["akd", "aed"], num_clips=2, num_frames=34, **clips),
                AnimationMetrics(["akd"], mode="cross", num_clips=2, num_frames=34, **clips),
            ]
        return [
            VideoMetrics(
                ["fvd2_36f_subsample3f"],
                mode="reconstruct",
                animate_options={"content": c},
                extractors={"i3d": i3d()},
                **clips,
            )
            for c in ("first", "mean")
        ]

    return _evaluation(lambda: _vidstyleode(paper), 256 if paper else 32, callbacks)


def cases() -> list[BenchCase]:
    out = []
    for paper, size in ((False, "synthetic experiment's size"), (True, "paper size, random weights")):
        common = dict(items=2, unit="videos", warmup=0, repeat=1, quick=not paper)
        out += [
            BenchCase(
                "tables",
                f"lia Table 1: {'2 real videos' if paper else '1 real video'} whole ({873 if paper else 221} "
                f"frames), L1, LPIPS, AKD, AED ({size})",
                _lia_table1(paper),
                **(common | {"items": 2 if paper else 1}),
            ),
            BenchCase(
                "tables",
                f"lia Table 2: 2 pairs x 100 frames, relative transfer, video FID ({size})",
                _lia_table2(paper),
                **common,
            ),
            BenchCase(
                "tables",
                f"vidstyleode Table 1: 2 edited 34-frame clips, FVD, W_error, FID, Acc. ({size})",
                _vidstyleode_callbacks(1, paper),
                **common,
            ),
            BenchCase(
                "tables",
                f"vidstyleode Table 2: 2 34-frame clips, AKD_S, AED_S, AKD_C ({size})",
                _vidstyleode_callbacks(2, paper),
                **common,
            ),
            BenchCase(
                "tables",
                f"vidstyleode Table 6: 2 34-frame clips, FVD with z_C of the first / mean frame ({size})",
                _vidstyleode_callbacks(6, paper),
                **common,
            ),
        ]
    return out
