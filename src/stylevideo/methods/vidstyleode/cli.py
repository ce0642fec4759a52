"""``python -m stylevideo.methods.vidstyleode <application>``: VidStyleODE on real videos.

Every application loads a trained run (``--run runs/<experiment>/<id>``: its ``config.yaml``
and ``checkpoints/last.ckpt``; or ``--config`` and ``--ckpt``), reads the input videos
(files or frame folders; a still image for ``animate --source``) and writes one mp4: the
inputs and the result side by side.

    edit         --video V --source-text S --target-text T [--alpha A]   text-guided editing
    animate      --source IMAGE --driving V                              image animation
    transfer     --content V1 --motion V2                                swap the global dynamics
    blend        --content V --video-a A --video-b B --box x0 y0 x1 y1   A's motion inside the box
    mix          --content V --video-a A --video-b B --lam L [L ...]     (1 - L) z_dA + L z_dB
    interpolate  --video V --every N [--factor F]                        frames between observed
    extrapolate  --video V --observed N --future M                       frames after the last
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import yaml

from stylevideo.methods.vidstyleode.apps import box_mask
from stylevideo.methods.vidstyleode.frozen import resize_frames
from stylevideo.video.io import count_frames, frames_to_tensor, read_frames, video_grid, write_video

__all__ = ["load_model", "main", "read_input"]

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def load_model(config: str | Path, ckpt: str | Path | None, device: str = "cpu"):
    """The ``model`` of a run's ``config.yaml`` with the weights of ``ckpt`` (pretrained parts
    read from their files), in eval mode on ``device``."""
    from jsonargparse import ArgumentParser
    from lightning.pytorch import LightningModule

    config = Path(config)
    if not config.is_file():
        raise FileNotFoundError(f"{config} does not exist (expected a run's config.yaml)")
    spec = (yaml.safe_load(config.read_text()) or {}).get("model")
    if not spec:
        raise ValueError(f"{config} has no 'model' section")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(LightningModule, "model")
    model = parser.instantiate_classes(parser.parse_object({"model": spec})).model
    model.load_pretrained()
    if ckpt is not None:
        ckpt = Path(ckpt)
        if not ckpt.is_file():
            raise FileNotFoundError(f"checkpoint {ckpt} does not exist")
        # a Lightning checkpoint of this project (its hyper-parameters are weights_only-safe types)
        checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
        model.on_load_checkpoint(checkpoint)
        model.load_state_dict(checkpoint["state_dict"])
    return model.eval().to(device)


def read_input(
    path: str | Path, size: tuple[int, int], frames: int | None = None, stride: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """A video file, frame folder or image as ``[T, 3, H, W]`` in [-1, 1] at ``size`` and the
    frame numbers it holds, ``[T]`` float (every ``stride``-th frame: 0, stride, 2 stride, ...):
    the times the model must see them at."""
    path = Path(path)
    if path.suffix.lower() in _IMAGE_SUFFIXES:
        from PIL import Image

        if not path.is_file():
            raise FileNotFoundError(f"image {path} does not exist")
        image = np.asarray(Image.open(path).convert("RGB"))
        return frames_to_tensor(torch.from_numpy(image)[None], size), torch.zeros(1)
    total = count_frames(path)
    indices = np.arange(0, total, stride)[:frames]
    if indices.size == 0:
        raise ValueError(f"{path} has no frames to read (stride {stride})")
    return frames_to_tensor(read_frames(path, indices), size), torch.from_numpy(indices).float()


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--run", type=Path, help="run folder (config.yaml, checkpoints/last.ckpt)")
    common.add_argument("--config", type=Path, help="the run's config.yaml (default: <run>/config.yaml)")
    common.add_argument("--ckpt", type=Path, help="checkpoint (default: <run>/checkpoints/last.ckpt)")
    common.add_argument("--out", type=Path, required=True, help="output .mp4")
    common.add_argument("--frames", type=int, default=None, help="read at most this many frames per video")
    common.add_argument("--stride", type=int, default=1, help="read every stride-th frame")
    common.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="input size (default: frame_size)")
    common.add_argument("--fps", type=float, default=25.0, help="frame rate of the output")
    common.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser = argparse.ArgumentParser(
        prog="python -m stylevideo.methods.vidstyleode",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    apps = parser.add_subparsers(dest="app", required=True)
    p = apps.add_parser("edit", parents=[common], help="text-guided appearance editing")
    p.add_argument("--video", required=True)
    p.add_argument("--source-text", required=True)
    p.add_argument("--target-text", required=True)
    p.add_argument("--alpha", type=float, default=1.0)
    p = apps.add_parser("animate", parents=[common], help="animate a still image with a driving video")
    p.add_argument("--source", required=True, help="image (or video: its first frame)")
    p.add_argument("--driving", required=True)
    p = apps.add_parser("transfer", parents=[common], help="one video's content, another's dynamics")
    p.add_argument("--content", required=True)
    p.add_argument("--motion", required=True)
    for name, helptext in (
        ("blend", "local motion: A's dynamics inside a box, B's outside"),
        ("mix", "interpolate between two dynamics codes"),
    ):
        p = apps.add_parser(name, parents=[common], help=helptext)
        p.add_argument("--content", required=True)
        p.add_argument("--video-a", required=True)
        p.add_argument("--video-b", required=True)
        if name == "blend":
            p.add_argument(
                "--box",
                type=float,
                nargs=4,
                required=True,
                metavar=("X0", "Y0", "X1", "Y1"),
                help="region (fractions of the frame) that takes A's dynamics",
            )
            p.add_argument("--at", choices=("initial", "trajectory"), default="initial")
        else:
            p.add_argument("--lam", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    p = apps.add_parser("interpolate", parents=[common], help="generate frames between observed ones")
    p.add_argument("--video", required=True)
    p.add_argument("--every", type=int, default=2, help="observe every N-th read frame")
    p.add_argument("--factor", type=int, default=1, help="output frames per input frame interval")
    p = apps.add_parser("extrapolate", parents=[common], help="continue a video past its last frame")
    p.add_argument("--video", required=True)
    p.add_argument("--observed", type=int, required=True, help="frames observed from the start")
    p.add_argument("--future", type=int, required=True, help="frames generated after them")
    return parser


def _same_length(*videos: torch.Tensor) -> list[torch.Tensor]:
    n = min(v.shape[0] for v in videos)
    return [v[:n] for v in videos]


def _run(model, args, size) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(inputs, outputs): lists of ``[T, 3, H, W]`` videos for the side-by-side grid. Frames
    read with ``--stride`` keep their frame numbers as times (the dynamics see the real spacing)."""

    def read(path):
        video, t = read_input(path, size, args.frames, args.stride)
        return video.to(model.device), t.to(model.device)

    if args.app == "edit":
        video, t = read(args.video)
        return [video], [model.edit(video[None], args.source_text, args.target_text, args.alpha, t=t)[0]]
    if args.app == "animate":
        (source, _), (driving, t) = read(args.source), read(args.driving)
        return [source[0].expand_as(driving), driving], [model.animate(source[:1], driving[None], t=t)[0]]
    if args.app == "transfer":
        (content, _), (motion, t) = read(args.content), read(args.motion)
        return [content, motion], [model.transfer_motion(content[None], motion[None], t=t)[0]]
    if args.app in ("blend", "mix"):
        (content, _), (a, t), (b, _) = read(args.content), read(args.video_a), read(args.video_b)
        a, b = _same_length(a, b)
        t = t[: a.shape[0]]
        if args.app == "blend":
            mask = box_mask(model.dynamics.grid, args.box)
            out = [model.blend_motion(content[None], a[None], b[None], mask, at=args.at, t=t)[0]]
        else:
            out = [model.interpolate_dynamics(content[None], a[None], b[None], lam, t=t)[0] for lam in args.lam]
        return [content[: a.shape[0]], a, b], out
    video, t = read(args.video)
    if args.app == "interpolate":
        observed = torch.arange(0, video.shape[0], args.every, device=video.device)
        steps = torch.arange(0, int(observed[-1]) * args.factor + 1, device=video.device) / args.factor
        t_query = t[0] + steps * args.stride  # factor frames per interval between two read frames
        result = model.resample(video[observed][None], t[observed], t_query)[0]
        return [video[: int(observed[-1]) + 1]], [result]
    observed = min(args.observed, video.shape[0])
    t_query = t[0] + torch.arange(observed + args.future, device=video.device).float() * args.stride
    result = model.resample(video[:observed][None], t[:observed], t_query)[0]
    return [video[:observed]], [result]


def _tile(inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> torch.Tensor:
    """One row: inputs then outputs, resized to the outputs' size, padded to the longest."""
    size = outputs[0].shape[-2:]
    videos = [resize_frames(v.float(), size) for v in inputs] + [v.float() for v in outputs]
    length = max(v.shape[0] for v in videos)
    padded = [torch.cat([v, v[-1:].expand(length - v.shape[0], -1, -1, -1)]) for v in videos]
    return video_grid(torch.stack(padded).cpu(), nrow=len(padded))


def main(argv: list[str] | None = None) -> Path:
    args = _parser().parse_args(argv)
    config = args.config or (args.run / "config.yaml" if args.run else None)
    ckpt = args.ckpt or (args.run / "checkpoints" / "last.ckpt" if args.run else None)
    if config is None:
        raise SystemExit("give --run RUN_DIR or --config CONFIG (and --ckpt)")
    model = load_model(config, ckpt, args.device)
    size = tuple(args.size) if args.size else tuple(model.hparams.frame_size)
    with torch.no_grad():
        inputs, outputs = _run(model, args, size)
    path = write_video(args.out, _tile(inputs, outputs), fps=args.fps)
    print(f"wrote {path}")
    return Path(path)
