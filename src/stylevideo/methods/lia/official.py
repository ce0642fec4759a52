"""The authors' checkpoints (wyhsirius/LIA: vox.pt, taichi.pt, ted.pt) <-> :class:`LIA`.

Their files are ``{"gen": <Generator state dict>, ...}`` (training checkpoints add ``"dis"``,
the optimizers and the argparse ``"args"``). Their module layout maps onto ours by renaming:

    enc.net_app.convs.{i}      E.convs.{i}        (the last index: E.to_latent)
    enc.fc.{i}                 mlp.{i}
    dec.direction.weight       D_m.weight
    dec.input / dec.conv1      G.input / G.conv1
    dec.convs.{2j} / {2j+1}    G.blocks.{j}.conv_up / conv
    dec.to_flows.{j}           G.blocks.{j}.to_flow
    dec.to_rgbs.{j}            G.blocks.{j}.to_rgb
    dis.*                      D.*

Their fused leaky ReLU biases are ``[1, C, 1, 1]`` (ours ``[C]``), and their state dicts carry
the constant FIR kernels as buffers (ours are not saved): on loading those are checked against
ours, on export they are written. ``dec.to_rgb1`` exists in their generator but is never used
by its forward pass: it is ignored on loading and exported as zeros.

Their training checkpoints (``trainer.py`` at wyhsirius/LIA@2a5bbfa) also hold the Adam states
``g_optim`` (over ``Generator.parameters()``) and ``d_optim`` (over ``Discriminator.parameters()``),
indexed by position in those lists: the state dicts' keys without the FIR kernels, in order.
They are mapped parameter by parameter onto our optimizers' order
(:meth:`LIA.optimized_parameters`); their unused ``to_rgb1`` and the noise strengths (never
used by their forward pass, frozen here) get no gradient there and carry no state.
"""

from __future__ import annotations

import argparse
import math
import os
import re

import torch
from torch import nn

from stylevideo.methods.lia.module import LIA
from stylevideo.nn.layers import FusedLeakyReLU
from stylevideo.nn.stylegan2 import stylegan2_channels

__all__ = [
    "export_official_checkpoint",
    "export_official_state_dict",
    "load_official_checkpoint",
    "official_key_map",
]

#: Keys of the authors' generator that its forward pass never uses (``Synthesis.to_rgb1``).
UNUSED_OFFICIAL_KEYS = ("dec.to_rgb1.conv.0.weight", "dec.to_rgb1.conv.1.bias", "dec.to_rgb1.bias")


def _official_name(key: str, num_enc_convs: int) -> str:
    """Our autoencoder key -> the authors' generator key."""
    rules = (
        (r"E\.convs\.(.*)", r"enc.net_app.convs.\1"),
        (r"E\.to_latent\.(.*)", rf"enc.net_app.convs.{num_enc_convs}.\1"),
        (r"mlp\.(.*)", r"enc.fc.\1"),
        (r"D_m\.weight", r"dec.direction.weight"),
        (r"G\.(input|conv1)\.(.*)", r"dec.\1.\2"),
        (r"G\.blocks\.(\d+)\.to_flow\.(.*)", r"dec.to_flows.\1.\2"),
        (r"G\.blocks\.(\d+)\.to_rgb\.(.*)", r"dec.to_rgbs.\1.\2"),
    )
    for pattern, repl in rules:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, repl, key)
    m = re.fullmatch(r"G\.blocks\.(\d+)\.(conv_up|conv)\.(.*)", key)
    if m:
        return f"dec.convs.{2 * int(m.group(1)) + (m.group(2) == 'conv')}.{m.group(3)}"
    raise KeyError(f"no official name for {key!r}")


def official_key_map(model: LIA) -> dict[str, tuple[str, str]]:
    """``{official key: (our key, kind)}`` for every tensor the authors' checkpoint holds.

    ``kind`` is ``"param"`` (ours has the same shape), ``"bias4d"`` (a fused leaky ReLU bias,
    ``[C]`` here, ``[1, C, 1, 1]`` there) or ``"kernel"`` (a constant FIR kernel, not saved here).
    Official keys start with ``gen.`` (the autoencoder) or ``dis.`` (the discriminator).
    """
    out = {}
    parts = (
        ("gen", model.autoencoder, lambda k: _official_name(k, len(model.autoencoder.E.convs))),
        ("dis", model.D, lambda k: k),
    )
    for prefix, module, rename in parts:
        relu_biases = {f"{name}.bias" for name, m in module.named_modules() if isinstance(m, FusedLeakyReLU)}
        for key, _ in module.named_parameters():
            out[f"{prefix}.{rename(key)}"] = (key, "bias4d" if key in relu_biases else "param")
        for key, _ in module.named_buffers():
            if not key.endswith("kernel"):
                raise KeyError(f"unexpected buffer {key!r} in {type(module).__name__}")
            out[f"{prefix}.{rename(key)}"] = (key, "kernel")
    return out


def _check_authors_warping(model: LIA) -> None:
    """Refuse a model that warps with ``align_corners=True``: the authors' ``grid_sample`` uses
    ``False`` (``networks/styledecoder.py:434``), and no weight conversion maps one convention
    onto the other: sampling the same positions with ``False`` needs the grid ``g`` scaled to
    ``g (W - 1) / W``, i.e. the flow ``phi = tanh(head)`` replaced by
    ``phi (W - 1) / W - grid / W``, a position- and resolution-dependent function of ``tanh``
    that no change of the flow head's weights reproduces."""
    if any(block.align_corners for block in model.autoencoder.G.blocks):
        raise ValueError(
            "this LIA model warps with align_corners=True, the authors' code with align_corners=False "
            "(grid_sample's default in their networks/styledecoder.py): their code would run it differently, "
            "and there is no exact conversion, so it is not exported. Export models trained with "
            "align_corners=False (the default)."
        )


def export_official_state_dict(model: LIA) -> dict[str, dict[str, torch.Tensor]]:
    """``{"gen": ..., "dis": ...}`` in the authors' layout (their ``Generator``/``Discriminator``
    load these with ``strict=True``). Models warping with ``align_corners=True`` are refused."""
    _check_authors_warping(model)
    sources = {
        "gen": dict(model.autoencoder.named_parameters()) | dict(model.autoencoder.named_buffers()),
        "dis": dict(model.D.named_parameters()) | dict(model.D.named_buffers()),
    }
    out: dict[str, dict[str, torch.Tensor]] = {"gen": {}, "dis": {}}
    for official, (ours, kind) in official_key_map(model).items():
        prefix, key = official.split(".", 1)
        value = sources[prefix][ours].detach().clone()
        out[prefix][key] = value.view(1, -1, 1, 1) if kind == "bias4d" else value
    gen = out["gen"]
    c4 = model.autoencoder.G.input.input.shape[1]
    gen["dec.to_rgb1.conv.0.weight"] = torch.zeros(3, c4, 1, 1)
    gen["dec.to_rgb1.conv.1.bias"] = torch.zeros(1, 3, 1, 1)
    gen["dec.to_rgb1.bias"] = torch.zeros(1, 3, 1, 1)
    return out


def export_official_checkpoint(model: LIA, path: str | os.PathLike) -> None:
    """Write ``model`` as an authors'-layout checkpoint (``{"gen", "dis"}``) for their code."""
    torch.save(export_official_state_dict(model), path)


def _read(path: str | os.PathLike) -> dict:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"LIA checkpoint {path} does not exist")
    with torch.serialization.safe_globals([argparse.Namespace]):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(ckpt, dict) and "gen" in ckpt:
        return ckpt
    if isinstance(ckpt, dict) and any(str(k).startswith("enc.net_app.") for k in ckpt):
        return {"gen": ckpt}
    keys = sorted(ckpt)[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
    raise ValueError(
        f"{path} is not an official LIA checkpoint (expected a dict with 'gen', the authors' "
        f"Generator state dict); found {keys}"
    )


def _architecture(gen: dict[str, torch.Tensor], path) -> dict:
    """LIA constructor arguments read from the shapes of an official generator state dict."""
    try:
        num_blocks = len({k.split(".")[2] for k in gen if k.startswith("dec.to_flows.")})
        resolution = 2 ** (num_blocks + 2)
        latent_dim = gen["enc.fc.0.weight"].shape[1]
        motion_dim = gen["dec.direction.weight"].shape[1]
        mlp_layers = len({k.split(".")[2] for k in gen if k.startswith("enc.fc.")})
        widths = {resolution: gen["enc.net_app.convs.0.0.weight"].shape[0]}
        for i in range(1, int(math.log2(resolution)) - 1):
            widths[resolution >> i] = gen[f"enc.net_app.convs.{i}.conv2.1.weight"].shape[0]
    except KeyError as e:
        raise ValueError(f"{path}: not an official LIA generator state dict (missing {e})") from None
    channel_max, channel_base = widths[4], resolution * widths[resolution]
    if stylegan2_channels(resolution, channel_base, channel_max) != widths:
        raise ValueError(f"{path}: encoder widths {widths} do not follow min(channel_base // res, channel_max)")
    arch = dict(
        resolution=resolution,
        latent_dim=latent_dim,
        motion_dim=motion_dim,
        mlp_layers=mlp_layers,
        channel_base=channel_base,
        channel_max=channel_max,
    )
    if resolution < 128:  # keep the pyramid levels VGG19 can take (the released models are 256x256)
        arch["vgg_scales"] = tuple(s for s in (1.0, 0.5, 0.25, 0.125) if resolution * s >= 16)
    return arch


def _load_into(model: LIA, official: dict[str, torch.Tensor], prefix: str, path) -> None:
    module: nn.Module = model.autoencoder if prefix == "gen" else model.D
    mapping = {k[len(prefix) + 1 :]: v for k, v in official_key_map(model).items() if k.startswith(prefix + ".")}
    ignored = set(UNUSED_OFFICIAL_KEYS) if prefix == "gen" else set()
    missing = sorted(set(mapping) - set(official))
    unexpected = sorted(set(official) - set(mapping) - ignored)
    if missing or unexpected:
        raise KeyError(
            f"{path}: '{prefix}' does not match LIA's layout; missing {missing[:10]}, unexpected {unexpected[:10]}"
        )
    buffers = dict(module.named_buffers())
    state = {}
    for key, (ours, kind) in mapping.items():
        value = official[key]
        if kind == "kernel":
            if not torch.allclose(value.float().cpu(), buffers[ours].float().cpu()):
                raise ValueError(f"{path}: {prefix}.{key} is not the FIR kernel [1, 3, 3, 1] this LIA uses")
            continue
        state[ours] = value.reshape(-1) if kind == "bias4d" else value
    module.load_state_dict(state, strict=True)


def _optimizer_state(
    model: LIA, ckpt: dict, prefix: str, named_params: list[tuple[str, nn.Parameter]], path
) -> dict | None:
    """The authors' ``g_optim`` (``prefix="gen"``) / ``d_optim`` (``"dis"``) as a state dict of our
    optimizer over ``named_params``; None when the file holds none."""
    name = {"gen": "g_optim", "dis": "d_optim"}[prefix]
    if name not in ckpt:
        return None
    if prefix not in ckpt:
        raise ValueError(f"{path}: holds {name!r} but not the {prefix!r} state dict its parameters belong to")
    theirs = ckpt[name]
    ours_to_official, kernels = {}, set()
    for official, (ours, kind) in official_key_map(model).items():
        if official.startswith(prefix + "."):
            key = official[len(prefix) + 1 :]
            if kind == "kernel":
                kernels.add(key)
            else:
                ours_to_official[ours] = key
    order = [key for key in ckpt[prefix] if key not in kernels]  # their parameters() order
    groups = theirs.get("param_groups", []) if isinstance(theirs, dict) else []
    if len(groups) != 1 or len(groups[0]["params"]) != len(order):
        raise ValueError(
            f"{path}: {name!r} does not match {prefix!r}: {len(order)} parameters in the state dict, "
            f"param groups of sizes {[len(g['params']) for g in groups]} (expected one group of {len(order)})"
        )
    index = dict(zip(order, groups[0]["params"], strict=True))
    state = {}
    for j, (ours, p) in enumerate(named_params):
        their_state = theirs["state"].get(index[ours_to_official[ours]])
        if their_state is not None:  # moments of a [1, C, 1, 1] bias become [C] like the bias
            state[j] = {
                k: v.reshape(p.shape) if torch.is_tensor(v) and v.ndim and v.numel() == p.numel() else v
                for k, v in their_state.items()
            }
    group = {k: v for k, v in groups[0].items() if k != "params"} | {"params": list(range(len(named_params)))}
    return {"state": state, "param_groups": [group]}


def load_official_checkpoint(path: str | os.PathLike, *, optimizer_states: bool = True, **overrides) -> LIA:
    """An official LIA checkpoint as a :class:`LIA` (eval mode) reproducing the authors' outputs.

    The architecture is read from the file; warping uses their ``align_corners=False``. A
    discriminator (``"dis"``, in training checkpoints) is loaded too, and so are their Adam states
    (``g_optim``, ``d_optim``) when ``optimizer_states``: training continues from them, with their
    learning rates and betas (their trainer's ``0.002 * 4/5``, ``(0, 0.99 ** (4/5))`` for G and
    ``0.002 * 16/17``, ``(0, 0.99 ** (16/17))`` for D), as a resumed optimizer does.
    ``overrides`` are further :class:`LIA` arguments (training settings such as ``vgg_weights``;
    ``lr``/``betas`` only with ``optimizer_states=False`` when the file holds optimizer states).
    """
    if overrides.get("align_corners"):
        raise ValueError(
            f"{path}: official LIA checkpoints were trained with align_corners=False; "
            "loading one with align_corners=True would run it differently"
        )
    ckpt = _read(path)
    has_optimizers = optimizer_states and any(k in ckpt for k in ("g_optim", "d_optim"))
    if has_optimizers and {"lr", "betas"} & set(overrides):
        raise ValueError(
            f"{path}: holds the authors' optimizer states, which bring their own lr and betas; "
            "pass optimizer_states=False to train with other lr/betas"
        )
    kwargs = _architecture(ckpt["gen"], path) | {"align_corners": False} | overrides
    model = LIA(**kwargs)
    _load_into(model, ckpt["gen"], "gen", path)
    if "dis" in ckpt:
        _load_into(model, ckpt["dis"], "dis", path)
    if has_optimizers:
        g_params, d_params = model.optimized_parameters()
        model.initial_optimizer_states = (
            _optimizer_state(model, ckpt, "gen", g_params, path),
            _optimizer_state(model, ckpt, "dis", d_params, path),
        )
    return model.eval()
