"""Temporal GAN inversion of a real clip with a trained onestyle checkpoint (section 5.4).

    python -m stylevideo.methods.onestyle.invert \
        --ckpt runs/onestyle_mead/<run>/checkpoints/last.ckpt \
        --video clip.mp4 --actor M003 --action happy --frames 120 --out inversion/ \
        [--pti_steps 350] [--reenact_actor W009 --reenact_action sad]

Reads ``--frames`` frames from ``--start`` (resized to the model's resolution), recovers
``m*`` with the actor/action given (ids or, when the checkpoint carries the data's label
maps, names), optionally fine-tunes the synthesis network with ``m*`` fixed (pivotal
tuning), and writes to ``--out``: ``motion.pt`` (``m*``, conditions, losses),
``inversion.mp4`` (real | inverted | tuned, side by side) and, with ``--reenact_*``,
``reenacted.mp4``: the recovered motion on another actor and/or action. LPIPS is LPIPS-VGG,
as the authors' ``projector.py`` (``lpips.PerceptualLoss(model="net-lin", net="vgg")``); the
VGG16 backbone from ``--lpips_weights``, else the weight cache.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from stylevideo.methods.onestyle.inversion import invert_motion, pivotal_tuning
from stylevideo.methods.onestyle.module import OneStyle
from stylevideo.video.io import count_frames, frames_to_tensor, read_frames, write_video

__all__ = ["main", "resolve_label"]


def _label_maps(checkpoint: dict) -> dict[str, dict[str, int]]:
    """The data module's label maps stored in a Lightning checkpoint (empty if none)."""
    for value in checkpoint.values():
        if isinstance(value, dict) and isinstance(value.get("label_maps"), dict):
            return value["label_maps"]
    return {}


def resolve_label(value: str | None, label: str, maps: dict[str, dict[str, int]], count: int) -> int | None:
    """An id from ``--actor``/``--action``: an integer or a name in the checkpoint's label maps."""
    if value is None:
        if count:
            raise SystemExit(f"the model is conditioned on {count} {label} classes: pass --{label}")
        return None
    if not count:
        raise SystemExit(f"the model has no {label} condition; drop --{label}")
    ids = maps.get(label, {})
    if value in ids:
        return ids[value]
    try:
        index = int(value)
    except ValueError:
        known = ", ".join(sorted(ids)) or "none stored in the checkpoint; pass an integer id"
        raise SystemExit(f"unknown {label} {value!r} (known: {known})") from None
    if not 0 <= index < count:
        raise SystemExit(f"--{label} {index} is out of range: the model has {count} {label} classes")
    return index


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m stylevideo.methods.onestyle.invert",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--ckpt", required=True, help="a onestyle Lightning checkpoint")
    p.add_argument("--video", required=True, help="the real clip (video file or frame folder)")
    p.add_argument("--actor", help="actor id or name (conditional models)")
    p.add_argument("--action", help="action id or name (conditional models)")
    p.add_argument("--frames", type=int, default=120, help="frames to invert (paper: 120)")
    p.add_argument("--start", type=int, default=0, help="first frame of the clip")
    p.add_argument("--steps", type=int, default=250, help="optimisation steps for m*")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument(
        "--mse_weight",
        type=float,
        default=None,
        help="weight of each frame's MSE next to its LPIPS in Eq. 5 (default: the authors' 100 / frames)",
    )
    p.add_argument("--pti_steps", type=int, default=350, help="pivotal-tuning steps (0: none)")
    p.add_argument("--pti_lr", type=float, default=3e-4)
    p.add_argument("--chunk", type=int, default=16, help="frames per forward/backward")
    p.add_argument("--reenact_actor", help="actor to re-enact the recovered motion with")
    p.add_argument("--reenact_action", help="action to re-enact the recovered motion with")
    p.add_argument("--lpips_weights", help="torchvision VGG16 weights for LPIPS-VGG (default: weight cache)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate of the written videos")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> Path:
    args = _parser().parse_args(argv)
    from stylevideo.features.lpips_vgg import lpips_vgg

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    checkpoint = torch.load(args.ckpt, map_location="cpu", weights_only=True)
    model = OneStyle.load_from_checkpoint(args.ckpt, map_location=device).eval()
    hp, maps = model.hparams, _label_maps(checkpoint)
    actor = resolve_label(args.actor, "actor", {"actor": maps.get(hp.actor_label, {})}, hp.num_actors)
    action = resolve_label(args.action, "action", {"action": maps.get(hp.action_label, {})}, hp.num_actions)
    total = count_frames(args.video)
    if args.start < 0 or args.frames < 1 or args.start + args.frames > total:
        raise SystemExit(f"{args.video} has {total} frames; cannot read {args.frames} from frame {args.start}")
    frames = frames_to_tensor(read_frames(args.video, range(args.start, args.start + args.frames)), hp.resolution).to(
        device
    )
    lpips = lpips_vgg(args.lpips_weights).to(device)
    G, ramp = model.G_ema, float(model.ramp)
    z_c = None if hp.num_actors else torch.randn(hp.style_dim, device=device)
    common = dict(perceptual=lpips, actor=actor, action=action, z_c=z_c, ramp=ramp, chunk=args.chunk)
    result = invert_motion(G, frames, steps=args.steps, lr=args.lr, mse_weight=args.mse_weight, **common)
    print(f"inversion: loss {result.history[0]:.4f} -> {result.loss:.4f} over {len(frames)} frames")
    t = torch.arange(len(frames), device=device, dtype=torch.float32)[None]
    content = dict(
        actor=None if actor is None else torch.tensor([actor], device=device),
        action=None if action is None else torch.tensor([action], device=device),
        z_c=None if z_c is None else z_c[None],
        ramp=ramp,
    )
    with torch.no_grad():
        panels = [
            frames,
            G(t, m=result.m[None], noise_mode="const", chunk=args.chunk, **content)[0],
        ]
    pti_history: list[float] = []
    if args.pti_steps > 0:
        tuned, pti_history = pivotal_tuning(
            G,
            frames,
            result.m,
            steps=args.pti_steps,
            lr=args.pti_lr,
            mse_weight=args.mse_weight,
            **common,
        )
        print(f"pivotal tuning: loss {pti_history[0]:.4f} -> {pti_history[-1]:.4f}")
        with torch.no_grad():
            panels.append(tuned(t, m=result.m[None], noise_mode="const", chunk=args.chunk, **content)[0])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "m": result.m.cpu(),
            "actor": actor,
            "action": action,
            "video": str(args.video),
            "start": args.start,
            "frames": args.frames,
            "history": result.history,
            "loss": result.loss,
            "pti_history": pti_history,
        },
        out / "motion.pt",
    )
    write_video(out / "inversion.mp4", torch.cat(panels, dim=-1).clamp(-1, 1).cpu(), fps=args.fps)
    if args.reenact_actor is not None or args.reenact_action is not None:
        new_actor = (
            actor
            if args.reenact_actor is None
            else resolve_label(args.reenact_actor, "actor", {"actor": maps.get(hp.actor_label, {})}, hp.num_actors)
        )
        new_action = (
            action
            if args.reenact_action is None
            else resolve_label(
                args.reenact_action,
                "action",
                {"action": maps.get(hp.action_label, {})},
                hp.num_actions,
            )
        )
        video = model.sample_videos(
            1,
            args.frames,
            m=result.m,
            seed=args.seed,
            actor=new_actor,
            action=new_action,
            z_c=None if z_c is None else z_c,
        )
        write_video(out / "reenacted.mp4", torch.cat([frames.cpu(), video[0].cpu()], dim=-1), fps=args.fps)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
