"""The onestyle authors' released generators (Zenodo record 7930268) as :class:`OneStyle`.

``mead_sz256_latent256_dyn128_120k.pt``, ``mead_sz128_latent256_dyn128_117k.pt``,
``mead_sz128_latent128_dyn64_120k.pt``, ``RAVDESS_sz128_latent128_dyn64_120kv.pt``: files of
their ``train.py`` (``torch.save`` at lines 464-478: ``g``, ``d``, ``d2``, ``g_ema``, the
optimizers, ``args``, an argparse Namespace, and ``ada_aug_p``); ``g_ema`` is what their
``generate.py`` loads. Their ``Generator(size, latent - dyn_size, num_person, num_classes,
latent - dyn_size, dyn_size, n_mlp, channel_multiplier)`` (``train.py:632``) maps onto
:class:`OneStyleGenerator` with the options that reproduce it:

    args.size                   resolution
    args.latent - args.dyn_size style_dim (person/class embeddings, the mapping MLP)
    args.dyn_size               k (z_m, F_t, time2vec)
    args.num_person             num_actors
    args.num_classes            num_actions
    args.n_mlp                  mapping_layers (their scripts set 8)
    args.channel_multiplier     g_channels: their width table (:func:`authors_channels`)
    fixed in their model.py     motion_layers 4, lr_mlp 0.01, content_fusion "sum",
                                time2vec_linear_last True

The architecture is read from the ``g_ema`` tensors; every architecture argument ``args``
holds must agree with them (an error names the argument otherwise). Their parameters map by
renaming, except time2vec's, which are concatenated:

    style.{i}                    F_c.mapping.layers.{i}
    person_embed / class_embed   F_c.actor_embed / F_c.action_embed
    dyn_sty.{i}                  F_t.layers.{i}
    dynstyle_gen.sinewavemixer   time2vec: omega = [w, w0], phi = [b, b0]
    input, conv1, to_rgb1, convs, to_rgbs, noises   synthesis.*

Their constant FIR kernels (``*.kernel`` buffers) are checked against ours. Their
discriminators (``d``, ``d2``) are other architectures than our D_t / D_s and are not loaded.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re

import torch

from stylevideo.methods.onestyle.generator import OneStyleGenerator
from stylevideo.methods.onestyle.module import OneStyle

__all__ = ["authors_channels", "convert_official_state", "load_official_checkpoint", "official_arguments"]

#: Their ``args`` entries that set the generator's architecture.
ARCHITECTURE_ARGS = ("size", "latent", "dyn_size", "num_person", "num_classes", "n_mlp", "channel_multiplier")
#: Their training ``args`` with an equivalent :class:`OneStyle` argument (same formulas in both trainers).
TRAINING_ARGS = {
    "lr": "lr",
    "r1": "r1_gamma",
    "d_reg_every": "r1_interval",
    "path_regularize": "pl_weight",
    "g_reg_every": "pl_interval",
    "path_batch_shrink": "pl_batch_shrink",
}
_SYNTHESIS = ("input.", "conv1.", "to_rgb1.", "convs.", "to_rgbs.", "noises.")
_MIXER = "dynstyle_gen.sinewavemixer."


def authors_channels(channel_multiplier: int = 2) -> dict[int, int]:
    """Their generator's widths per resolution (``model.py``, ``Generator.channels``); 4x4 is
    also the width of their constant input (``ConstantInput(256)``)."""
    m = channel_multiplier
    return {4: 256, 8: 512, 16: 512, 32: 1024, 64: 256 * m, 128: 128 * m, 256: 64 * m, 512: 32 * m, 1024: 16 * m}


def _architecture(g_ema: dict[str, torch.Tensor], path) -> dict:
    """Their architecture arguments (and the widths) read from the ``g_ema`` tensors."""
    try:
        num_blocks = len({k.split(".")[1] for k in g_ema if k.startswith("to_rgbs.")})
        style_dim = g_ema["person_embed.weight"].shape[1]
        dyn_size = g_ema[_MIXER + "w"].shape[1] + 1
        widths = {4: g_ema["conv1.conv.weight"].shape[1]}
        for j in range(num_blocks):
            widths[2 ** (j + 3)] = g_ema[f"convs.{2 * j}.conv.weight"].shape[1]
        arch = {
            "size": 2 ** (num_blocks + 2),
            "latent": style_dim + dyn_size,
            "dyn_size": dyn_size,
            "num_person": g_ema["person_embed.weight"].shape[0],
            "num_classes": g_ema["class_embed.weight"].shape[0],
            "n_mlp": sum(1 for k in g_ema if re.fullmatch(r"style\.\d+\.weight", k)),
            "motion_layers": sum(1 for k in g_ema if re.fullmatch(r"dyn_sty\.\d+\.weight", k)),
            "input_channels": g_ema["input.input"].shape[1],
        }
    except KeyError as e:
        raise ValueError(f"{path}: 'g_ema' is not an onestyle generator state dict of the authors (no {e})") from None
    return arch | {"widths": widths}


def official_arguments(
    g_ema: dict[str, torch.Tensor], args: dict | None = None, path: object = "g_ema", check_widths: bool = True
) -> dict:
    """:class:`OneStyle` arguments reproducing the authors' generator ``g_ema`` trained with ``args``.

    Raises ``ValueError`` naming the argument when ``args`` disagrees with the tensors or holds
    a value this generator cannot take. ``check_widths=False`` skips the check of the widths
    against their table for ``args.channel_multiplier`` (a caller that states the widths).
    """
    args = dict(args or {})
    arch = _architecture(g_ema, path)
    widths = arch.pop("widths")
    for name in ARCHITECTURE_ARGS:
        if name not in args:
            continue
        value = args[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{path}: args.{name}={value!r} is not an integer")
        if name in arch and value != arch[name]:
            raise ValueError(f"{path}: args.{name}={value}, but its g_ema has {name} = {arch[name]}")
    multiplier = args.get("channel_multiplier")
    if (
        check_widths
        and multiplier is not None
        and any(authors_channels(multiplier).get(res) != width for res, width in widths.items())
    ):
        raise ValueError(
            f"{path}: args.channel_multiplier={multiplier}, but its g_ema has widths {widths}, "
            f"not the authors' table for it, {authors_channels(multiplier)} (model.py)"
        )
    for name, least in (("num_person", 1), ("num_classes", 1), ("dyn_size", 2)):
        if arch[name] < least:
            raise ValueError(f"{path}: {name} = {arch[name]}; this generator needs {name} >= {least}")
    if arch["input_channels"] != widths[4]:
        raise ValueError(f"{path}: constant input of {arch['input_channels']} channels, conv1 takes {widths[4]}")
    if arch["motion_layers"] != 4:
        raise ValueError(f"{path}: F_t (dyn_sty) has {arch['motion_layers']} layers; the authors' model has 4")
    kwargs = dict(
        resolution=arch["size"],
        k=arch["dyn_size"],
        style_dim=arch["latent"] - arch["dyn_size"],
        num_actors=arch["num_person"],
        num_actions=arch["num_classes"],
        mapping_layers=arch["n_mlp"],
        motion_layers=4,
        lr_mlp=0.01,
        omega_std=1.0,
        content_fusion="sum",
        g_channels=widths,
        time2vec_linear_last=True,
        ramp_start=0,  # their training is past its transition (transit_end, 4000 by default): lambda = 1
        ramp_end=0,
    )
    return kwargs | {ours: args[theirs] for theirs, ours in TRAINING_ARGS.items() if theirs in args}


def convert_official_state(g_ema: dict[str, torch.Tensor], generator: OneStyleGenerator, path="g_ema") -> dict:
    """Their generator state dict -> ours (keys of ``generator.state_dict()``); FIR kernels checked."""
    out, kernels = {}, dict(generator.named_buffers())
    for key, value in g_ema.items():
        if key.endswith(".kernel"):
            ours = kernels.get("synthesis." + key)
            if ours is None or ours.shape != value.shape or not torch.allclose(ours.cpu(), value.float().cpu()):
                raise ValueError(f"{path}: {key} is not the FIR kernel [1, 3, 3, 1] of this generator")
        elif key.startswith(_SYNTHESIS):
            out["synthesis." + key] = value
        elif key.startswith("style."):
            out["F_c.mapping.layers." + key[len("style.") :]] = value
        elif key.startswith("dyn_sty."):
            out["F_t.layers." + key[len("dyn_sty.") :]] = value
        elif key in ("person_embed.weight", "class_embed.weight"):
            out[f"F_c.{'actor' if key.startswith('person') else 'action'}_embed.weight"] = value
        elif not key.startswith(_MIXER):
            raise ValueError(f"{path}: unexpected key {key!r} in the authors' onestyle generator")
    try:  # t2v: [sin(t w + b), t w0 + b0], our time2vec with the linear term last
        out["time2vec.omega"] = torch.cat([g_ema[_MIXER + "w"][0], g_ema[_MIXER + "w0"][0]])
        out["time2vec.phi"] = torch.cat([g_ema[_MIXER + "b"], g_ema[_MIXER + "b0"]])
    except KeyError as e:
        raise ValueError(f"{path}: no {e} (their time2vec)") from None
    return out


def _load_generator(generator: OneStyleGenerator, g_ema: dict, path, name: str) -> None:
    state = convert_official_state(g_ema, generator, f"{path}: {name}")
    expected = generator.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    shapes = sorted(
        f"{k} {tuple(v.shape)} (ours {tuple(expected[k].shape)})"
        for k, v in state.items()
        if k in expected and v.shape != expected[k].shape
    )
    if missing or unexpected or shapes:
        raise ValueError(
            f"{path}: {name!r} does not match the generator built from its arguments; "
            f"missing {missing[:8]}, unexpected {unexpected[:8]}, shapes {shapes[:8]}"
        )
    generator.load_state_dict(state)


def load_official_checkpoint(path: str | os.PathLike, **overrides) -> OneStyle:
    """A released onestyle generator as :class:`OneStyle` (eval mode, action ramp 1).

    ``G_ema(t [B, T], z_m=..., actor=..., action=..., ramp=1, noise_mode="const")`` returns
    their ``g_ema(actor, z_m, t, class_label=action, transition_factor=1,
    randomize_noise=False)`` for every frame. ``G`` holds their ``g`` when the file has it
    (else a copy of ``g_ema``); D_t and D_s are new (their discriminators differ from the
    paper's). ``overrides`` are further :class:`OneStyle` arguments (discriminator widths,
    training settings) and replace those read from the file; ``g_channels`` states the widths
    (then they are not checked against the authors' table for ``args.channel_multiplier``).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"onestyle checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ValueError(f"{path}: not a checkpoint of the authors' train.py ({e})") from None
    if not isinstance(ckpt, dict) or "g_ema" not in ckpt:
        found = sorted(ckpt)[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ValueError(f"{path}: expected the authors' layout {{'g_ema', 'args', ...}}, found {found}")
    args = ckpt.get("args")
    args = vars(args) if isinstance(args, argparse.Namespace) else args
    kwargs = official_arguments(ckpt["g_ema"], args, path, check_widths="g_channels" not in overrides) | overrides
    model = OneStyle(**kwargs)
    _load_generator(model.G_ema, ckpt["g_ema"], path, "g_ema")
    _load_generator(model.G, ckpt.get("g", ckpt["g_ema"]), path, "g" if "g" in ckpt else "g_ema")
    model.ramp.fill_(1.0)
    return model.eval()
