"""The papers' tables (``experiments/eval``): each table's protocol, by the callbacks of its
evaluation config at reduced counts, on a model of the paper's architecture with random weights.

A call is ``Trainer.test`` (``lightning test``'s path: the callbacks evaluate at the end of the
test epoch); the report is generated videos (or inverted clips) per second. The first, untimed
call also computes the real statistics (FVD, FID), which the metrics keep, as in a run: a
timed call is the generated side of the protocol. Detectors are the real architectures with
random weights (I3D, torch-fidelity's Inception-v3, IR-SE50, Keypoint R-CNN, LPIPS-VGG) and
dlib's real models (the ``face`` extra); the data are the shared real clips
(``$STYLEVIDEO_REAL_DATA``) or, where the protocol needs labels, the synthetic dataset. A
random generator draws no face, so dlib finds none in its frames and the landmark and ArcFace
cost of generated frames is missing here (the metrics section's LiA case gives dlib's cost
per frame). The smoke cases run the same protocols at the synthetic experiments' sizes with
small stand-in detectors.
"""

from __future__ import annotations

import atexit
import importlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
import yaml
from lightning.pytorch import LightningModule, Trainer

from stylevideo.bench.core import BenchCase, real_root
from stylevideo.callbacks.tables import EVAL_DIR
from stylevideo.video.sampling import ConsecutiveFrames

__all__ = ["cases", "eval_callbacks"]


def _temporary(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def eval_callbacks(name: str, changes: dict[int, dict[str, Any]]) -> list:
    """The callbacks of ``experiments/eval/<name>.yaml``, ``changes[i]`` replacing init_args of
    the i-th (``None``: leave it out)."""
    out = []
    for i, node in enumerate(yaml.safe_load((EVAL_DIR / f"{name}.yaml").read_text())["trainer"]["callbacks"]):
        if i in changes and changes[i] is None:
            continue
        module, _, cls = node["class_path"].rpartition(".")
        args = node["init_args"] | changes.get(i, {})
        if cls == "TableWriter":
            args["folder"] = str(_temporary("bench-table-"))
        out.append(getattr(importlib.import_module(module), cls)(**args))
    return out


def _evaluate(model: LightningModule, data, callbacks: list, device: str):
    """A call: one ``Trainer.test`` of ``model`` with ``callbacks`` (their state kept between calls)."""

    def run() -> None:
        trainer = Trainer(
            accelerator=device,
            devices=1,
            logger=False,
            callbacks=callbacks,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_test_batches=1,
            default_root_dir=_temporary("bench-run-"),
        )
        trainer.test(model, datamodule=data)

    return run


def _real_clips(resolution: int):
    from stylevideo.bench.data import RealClips

    return RealClips(str(real_root()), resolution=resolution, batch_size=2, sampler=ConsecutiveFrames(2))


def _labelled(resolution: int, actors: int, actions: int):
    """The synthetic dataset with ``actors`` x ``actions`` pairs, one test clip each."""
    from stylevideo.data_modules.synthetic import SyntheticDataModule
    from stylevideo.video.synthetic import ACTIONS, generate_synthetic_dataset

    folder = _temporary("bench-synthetic-")
    generate_synthetic_dataset(folder, num_actors=actors, actions=ACTIONS[:actions], clips_per_pair=3, max_frames=48)
    return SyntheticDataModule.from_root(str(folder), resolution=resolution, batch_size=2)


def _detectors(paper: bool) -> dict[str, Any]:
    """I3D at its real size or narrowed (random weights) and the Inception-v3 (random weights)."""
    from stylevideo.features.i3d import I3D
    from stylevideo.metrics.bench import _random_inception

    torch.manual_seed(0)
    i3d = I3D() if paper else I3D(num_classes=16, width=0.125, resize_to=32)
    return {"i3d": i3d.eval(), "inception_fid": _random_inception()}


def _styleinv_table1(paper: bool, videos: int, frames: int, fid: int):
    def build(device: str):
        from stylevideo.bench.styleinv import PAPER, SMOKE, _model

        model = _model(PAPER if paper else SMOKE, device).eval()
        detectors = _detectors(paper)
        groups = {"groups": {"RealClips": ["TaiChi"]}}
        names = {"fvd2048_16f": f"fvd{videos}_16f", "fvd2048_128f": f"fvd{videos}_{frames}f", "fid50k": f"fid{fid}"}
        callbacks = eval_callbacks(
            "styleinv_table1",
            {
                0: {"metrics": list(names.values())[:2], "batch_size": 2, "extractors": {"i3d": detectors["i3d"]}},
                1: {
                    "metrics": [f"fid{fid}"],
                    "num_videos": videos,
                    "num_frames": frames,
                    "batch_size": 2,
                    "extractors": {"inception_fid": detectors["inception_fid"]},
                },
                2: groups | {"metric_names": names},
                3: None,
                4: None,
            },
        )
        return _evaluate(model, _real_clips(model.G.resolution), callbacks, device)

    return build


def _onestyle(paper: bool, device: str, **labels):
    from stylevideo.bench.onestyle import PAPER, SMOKE
    from stylevideo.methods.onestyle import OneStyle

    torch.manual_seed(0)
    return OneStyle(**((PAPER if paper else SMOKE) | labels)).to(device).eval()


def _onestyle_table1(paper: bool, videos: int, group: int):
    def build(device: str):
        from stylevideo.features.arcface import IRSE50
        from stylevideo.features.face import ArcFaceEmbedder, DlibFace

        model = _onestyle(paper, device)
        face = DlibFace()
        arcface = ArcFaceEmbedder(net=IRSE50().eval(), face=face, device=device)
        names = {"fvd2048_16f": f"fvd{videos}_16f", "fvd2048_64f": f"fvd{videos}_64f"}
        callbacks = eval_callbacks(
            "onestyle_table1",
            {  # the shared clips have no labels: the model draws its actors and emotions
                0: {
                    "metrics": list(names.values()),
                    "batch_size": 2,
                    "condition_keys": [],
                    "extractors": {"i3d": _detectors(paper)["i3d"]},
                },
                1: {"group_size": group, "condition_keys": [], "extractors": {"face": face, "arcface": arcface}},
                2: {"metric_names": names},
            },
        )
        return _evaluate(model, _real_clips(model.hparams.resolution), callbacks, device)

    return build


def _onestyle_table2(paper: bool, videos: int):
    def build(device: str):
        from stylevideo.metrics.skeleton_action import SkeletonActionRecognizer, SkeletonClassifier

        model = _onestyle(paper, device, num_actors=8, num_actions=27)
        if paper:
            from torchvision.models.detection import keypointrcnn_resnet50_fpn

            from stylevideo.features.pose import PoseKeypoints

            net = keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, min_size=256, max_size=512)
            pose = PoseKeypoints(net=net, device=device)
        else:

            def pose(frames):  # a stand-in of the pose network's interface
                return torch.zeros(len(frames), 17, 2).numpy()

        data = _labelled(model.hparams.resolution, 2, 2)  # 4 test pairs, one clip each
        recogniser = SkeletonActionRecognizer(SkeletonClassifier(data.num_classes("action")).eval(), pose)
        callbacks = eval_callbacks(
            "onestyle_table2",
            {
                0: {"metrics": [f"fvd{videos}_16f"], "batch_size": 2, "extractors": {"i3d": _detectors(paper)["i3d"]}},
                1: {"extractors": {"classifier": recogniser}, "batch_size": 2},
                2: {"metric_names": {"fvd2048_16f": f"fvd{videos}_16f"}},
                3: None,
            },
        )
        return _evaluate(model, data, callbacks, device)

    return build


def _onestyle_fig5a(paper: bool, frames: int, steps: int):
    def build(device: str):
        from stylevideo.features.face import DlibFace
        from stylevideo.features.lpips_vgg import lpips_vgg

        model = _onestyle(paper, device, inversion_steps=steps)
        model.set_perceptual(lpips_vgg(pretrained_backbone=False).to(device))
        labels = ["actor", "action"]  # the synthetic data's names for MEAD's actor and emotion
        callbacks = eval_callbacks(
            "onestyle_fig5a",
            {0: {"num_frames": frames, "groups": 1, "animate_inputs": labels, "extractors": {"face": DlibFace()}}},
        )
        return _evaluate(model, _labelled(model.hparams.resolution, 1, 1), callbacks, device)

    return build


def cases() -> list[BenchCase]:
    random = "paper architecture with random weights; "
    return [
        BenchCase(
            "tables",
            "styleinv Table 1 protocol, smoke: StyleInV 32x32, 4 videos of 32 frames (FVD16/FVD32), FID on 64 frames",
            _styleinv_table1(False, 4, 32, 64),
            items=4,
            unit="videos",
            warmup=1,
            repeat=1,
            notes="stand-in I3D (narrow), random Inception-v3; the shared real clips at 32x32",
        ),
        BenchCase(
            "tables",
            "styleinv Table 1 protocol: StyleInV 256x256, 2 videos of 128 frames (FVD16/FVD128), FID on 128 frames",
            _styleinv_table1(True, 2, 128, 128),
            items=2,
            unit="videos",
            warmup=1,
            repeat=1,
            quick=False,
            notes=random + "I3D and Inception-v3 full size, random weights; paper: 2048 videos, 50k FID frames",
        ),
        BenchCase(
            "tables",
            "onestyle Table 1 protocol, smoke: OneStyle 32x32, 4 videos of 64 frames, r_t/ArcFace on 4 videos",
            _onestyle_table1(False, 4, 4),
            items=8,
            unit="videos",
            warmup=1,
            repeat=1,
            notes="narrow I3D stand-in, dlib, random IR-SE50; 4 FVD videos + 4 LiA/ArcFace videos per call",
        ),
        BenchCase(
            "tables",
            "onestyle Table 1 protocol: OneStyle 128x128 k=128, 4 videos of 64 frames, r_t/ArcFace on 4 videos",
            _onestyle_table1(True, 4, 4),
            items=8,
            unit="videos",
            warmup=1,
            repeat=1,
            quick=False,
            notes=random + "paper: 2048 FVD videos and 100 LiA/ArcFace videos of 64 frames; no face in random frames",
        ),
        BenchCase(
            "tables",
            "onestyle Tables 2-3 protocol, smoke: OneStyle 32x32, FVD16 of 4 videos, action accuracy of 4",
            _onestyle_table2(False, 4),
            items=8,
            unit="videos",
            warmup=1,
            repeat=1,
            notes="narrow I3D stand-in, a pose stand-in; synthetic data, 4 test pairs",
        ),
        BenchCase(
            "tables",
            "onestyle Tables 2-3 protocol: OneStyle 128x128, FVD16 of 4 videos, skeleton recogniser on 4 of 32 frames",
            _onestyle_table2(True, 4),
            items=8,
            unit="videos",
            warmup=1,
            repeat=1,
            quick=False,
            notes=random + "Keypoint R-CNN at 256 (random weights); paper: 2048 FVD videos, 108 recognised videos",
        ),
        BenchCase(
            "tables",
            "onestyle Fig. 5a protocol, smoke: OneStyle 32x32, 1 clip of 8 frames inverted in 2 steps",
            _onestyle_fig5a(False, 8, 2),
            items=1,
            unit="clips",
            warmup=0,
            repeat=1,
            notes="LPIPS-VGG with a random backbone, dlib; synthetic clips",
        ),
        BenchCase(
            "tables",
            "onestyle Fig. 5a protocol: OneStyle 128x128 k=128, 1 clip of 32 frames inverted in 5 steps",
            _onestyle_fig5a(True, 32, 5),
            items=1,
            unit="clips",
            warmup=0,
            repeat=1,
            quick=False,
            notes=random + "LPIPS-VGG (random backbone); paper: 39 clips x 120 frames x 250 steps, "
            "so about 39 x 120/32 x 250/5 times this per-clip time",
        ),
    ]
