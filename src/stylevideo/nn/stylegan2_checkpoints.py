"""Released StyleGAN2 files onto the shared networks of :mod:`stylevideo.nn.stylegan2`.

Three formats, told apart by their content (not their suffix):

- rosinality/stylegan2-pytorch ``.pt`` (``{"g_ema", "d", "latent_avg", ...}``; pSp, onestyle,
  LIA and VidStyleODE use this layout): the synthesis names are ours, the mapping is renamed;
- NVlabs ``.pkl`` (stylegan2-ada-pytorch, StyleGAN-Human, StyleInV's stage 1): read without
  executing anything (:mod:`stylevideo.nn.nvlabs_pickle`) and mapped name by name (the
  table in docs/importers.md); StyleGAN3 and StyleGAN-V pickles are read, and refused here
  with the architecture named (the project has no network for their synthesis);
- stylevideo Lightning checkpoints (``state_dict`` with ``G_ema.*`` / ``G.*`` / ``D.*`` and the
  architecture in ``hyper_parameters``).

:func:`stylevideo.nn.stylegan2.load_generator` and ``load_discriminator`` are the public entry points.
"""

from __future__ import annotations

import argparse
import math
import os
import zipfile
from collections.abc import Mapping

import torch
from torch import Tensor

from stylevideo.nn.layers import EqualLinear, make_kernel
from stylevideo.nn.nvlabs_pickle import Record, read_network_pickle
from stylevideo.nn.stylegan2 import BLUR, Discriminator, Generator, stylegan2_channels

__all__ = [
    "fully_connected",
    "generator_from_rosinality_state",
    "load_discriminator",
    "load_generator",
    "load_rosinality_checkpoint",
    "nvlabs_architecture",
    "nvlabs_discriminator_state",
    "nvlabs_generator_state",
    "read_stylegan2_file",
    "widths_to_channels",
]

_ROSINALITY_PREFIXES = ("input.", "conv1.", "to_rgb1.", "convs.", "to_rgbs.", "noises.")
# the first bytes of a legacy (non-zip) torch.save file: protocol 2 and torch's magic number
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


def read_stylegan2_file(path: str | os.PathLike):
    """``("torch", dict)`` for a ``torch.save`` file (read weights-only) or ``("nvlabs", content)``
    for an NVlabs network pickle (read as data)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist")
    with open(path, "rb") as f:
        head = f.read(len(_LEGACY_TORCH_MAGIC))
    if zipfile.is_zipfile(path) or head == _LEGACY_TORCH_MAGIC:
        with torch.serialization.safe_globals([argparse.Namespace]):
            try:
                return "torch", torch.load(path, map_location="cpu", weights_only=True)
            except Exception as e:
                raise ValueError(f"{path} could not be read as a torch checkpoint: {e}") from e
    return "nvlabs", read_network_pickle(path)


# -- rosinality ---------------------------------------------------------------------------------


def widths_to_channels(widths: dict[int, int], source: object) -> tuple[int, int]:
    """``(channel_base, channel_max)`` reproducing ``widths`` by ``min(base // res, max)``."""
    resolution = max(widths)
    channel_max, channel_base = widths[4], resolution * widths[resolution]
    if stylegan2_channels(resolution, channel_base, channel_max) != widths:
        raise ValueError(f"{source}: channel widths {widths} do not follow min(channel_base // res, channel_max)")
    return channel_base, channel_max


def generator_from_rosinality_state(state: Mapping[str, Tensor], source: object = "state dict") -> Generator:
    """A :class:`Generator` holding a rosinality ``g_ema``-layout state dict (constant noise).

    The architecture (resolution, z/w size, mapping depth, channel widths) is read from the
    state dict; ``source`` names it in errors. pSp's decoder and onestyle/LIA/VidStyleODE's
    StyleGAN2 checkpoints use this layout.
    """
    ours = {}
    for key, value in state.items():
        if key.endswith(("blur.kernel", "upsample.kernel")):
            continue  # constant FIR kernels: ours are non-persistent buffers
        if key.startswith("style."):
            ours["mapping.layers." + key[len("style.") :]] = value
        elif key.startswith(_ROSINALITY_PREFIXES):
            ours["synthesis." + key] = value
        else:
            raise KeyError(f"{source}: unexpected key {key!r} in a rosinality StyleGAN2 generator state dict")
    mapping = sorted(int(k.split(".")[2]) for k in ours if k.startswith("mapping.layers.") and k.endswith("weight"))
    w_dim, z_dim = ours[f"mapping.layers.{mapping[0]}.weight"].shape
    resolution = 2 ** (len({k.split(".")[2] for k in ours if k.startswith("synthesis.to_rgbs.")}) + 2)
    widths = {4: ours["synthesis.input.input"].shape[1]}
    for j in range(int(math.log2(resolution)) - 2):
        widths[2 ** (j + 3)] = ours[f"synthesis.convs.{2 * j}.conv.weight"].shape[1]
    channel_base, channel_max = widths_to_channels(widths, source)
    g = Generator(resolution, z_dim, w_dim, len(mapping), channel_base, channel_max, noise_mode="const")
    missing, unexpected = g.load_state_dict(ours, strict=False)
    if unexpected or set(missing) - {"w_avg"}:
        raise KeyError(
            f"{source}: state dict does not match the architecture; missing={missing}, unexpected={unexpected}"
        )
    return g


def _rosinality_generator(ckpt: dict, key: str, path) -> tuple[Generator, Tensor]:
    if key not in ckpt:
        raise KeyError(f"{path}: no {key!r} entry (found {sorted(ckpt)}); expected a rosinality StyleGAN2 checkpoint")
    g = generator_from_rosinality_state(ckpt[key], path)
    latent_avg = ckpt.get("latent_avg")
    latent_avg = g.mean_latent() if latent_avg is None else latent_avg.float()
    if latent_avg.ndim == 1:
        g.w_avg.copy_(latent_avg)
    return g.eval(), latent_avg


def load_rosinality_checkpoint(path: str | os.PathLike, key: str = "g_ema") -> tuple[Generator, Tensor]:
    """A rosinality-layout StyleGAN2 checkpoint -> ``(generator, latent_avg)``.

    With ``noise_mode="const"`` (the checkpoint's own noise buffers) and no truncation,
    the generator reproduces the original network's output. ``latent_avg`` is the
    checkpoint's (pSp, onestyle and VidStyleODE store one) or, if absent, the mean of
    4096 mapped z; it is also copied to ``generator.w_avg`` when it is one vector.
    """
    kind, ckpt = read_stylegan2_file(path)
    if kind != "torch" or not isinstance(ckpt, dict):
        raise KeyError(f"{path}: not a rosinality StyleGAN2 checkpoint (a torch.save'd dict with {key!r})")
    return _rosinality_generator(ckpt, key, path)


def _rosinality_discriminator(state: Mapping[str, Tensor], path) -> Discriminator:
    """rosinality's ``d`` state dict has our names; the architecture comes from its shapes."""
    blocks = sorted({int(k.split(".")[1]) for k in state if k.startswith("convs.") and k.split(".")[1] != "0"})
    resolution = 2 ** (len(blocks) + 2)
    widths = {resolution: state["convs.0.0.weight"].shape[0]}
    for i in blocks:
        widths[resolution // 2**i] = state[f"convs.{i}.conv2.1.weight"].shape[0]
    base, cmax = widths_to_channels(widths, path)
    d = Discriminator(resolution, base, cmax, mbstd_channels=state["final_conv.0.weight"].shape[1] - widths[4])
    d.load_state_dict(state)
    return d


# -- NVlabs ----------------------------------------------------------------------------------------

STYLEGAN2_ADA = "StyleGAN2-ADA"


def nvlabs_architecture(net: Record) -> str:
    """Which NVlabs architecture a pickled generator or discriminator is."""
    names = net.class_names()
    if names & {"GenInput", "TemporalInput", "MotionMappingNetwork", "TemporalDifferenceEncoder"}:
        return "StyleGAN-V (video generator with motion codes / time-conditioned discriminator)"
    if "SynthesisInput" in names:
        return "StyleGAN3 (alias-free synthesis: SynthesisInput and L<i> layers)"
    generator, discriminator = (
        {"SynthesisBlock", "SynthesisLayer", "ToRGBLayer"},
        {"DiscriminatorBlock", "DiscriminatorEpilogue"},
    )
    if generator <= names or discriminator <= names:
        return STYLEGAN2_ADA
    return f"unknown ({net.name} with {sorted(names)})"


def _require_stylegan2_ada(net: Record, source, what: str) -> None:
    arch = nvlabs_architecture(net)
    if arch != STYLEGAN2_ADA:
        raise ValueError(
            f"{source}: the {what} is {arch}; the project has no network for this architecture "
            f"(loaded: StyleGAN2-ADA / StyleGAN-Human / StyleInV stage-1 StyleGAN2). Its parameters "
            "can still be read by name: stylevideo.nn.nvlabs_pickle.read_network_pickle"
        )


def _value(x):
    """numpy scalars (NVlabs keeps gains as numpy floats) as Python numbers."""
    return x.item() if hasattr(x, "item") and not isinstance(x, Tensor) else x


def _check_filters(net: Record, source) -> None:
    """Every ``resample_filter`` buffer must be the [1, 3, 3, 1] filter our layers use."""
    expected = make_kernel(BLUR)
    for name, t in net.tensors().items():
        if name.endswith("resample_filter") and not (t.shape == expected.shape and torch.allclose(t, expected)):
            raise ValueError(f"{source}: {name} is not the [1, 3, 3, 1] low-pass filter this project uses")


def _consumed(theirs: dict[str, Tensor], used: set[str], source) -> None:
    left = sorted(k for k in theirs if k not in used and not k.endswith("resample_filter"))
    if left:
        raise KeyError(f"{source}: tensors with no place in the shared network: {left[:8]}")


def _mapping_state(theirs: dict[str, Tensor], prefix: str, ours: str, used: set[str]) -> tuple[dict, int]:
    """NVlabs ``fc<i>`` / ``embed`` -> ours ``layers.<i+1>`` / ``embed``; returns the layer count."""
    out, n = {}, 0
    while f"{prefix}fc{n}.weight" in theirs:
        for p in ("weight", "bias"):
            out[f"{ours}layers.{n + 1}.{p}"] = theirs[f"{prefix}fc{n}.{p}"]
            used.add(f"{prefix}fc{n}.{p}")
        n += 1
    for p in ("weight", "bias"):
        if f"{prefix}embed.{p}" in theirs:
            out[f"{ours}embed.{p}"] = theirs[f"{prefix}embed.{p}"]
            used.add(f"{prefix}embed.{p}")
    return out, n


def nvlabs_generator_state(g: Record, source: object = "pickle") -> tuple[dict, dict[str, Tensor]]:
    """An NVlabs StyleGAN2-ADA generator -> ``(Generator kwargs, state dict in our names)``.

    Per-block ``b<res>.conv0/conv1/torgb`` become ``convs.<2j>/<2j+1>``, ``to_rgbs.<j>``
    (``b4``: ``conv1``, ``to_rgb1``), ``affine`` the modulation, ``noise_const`` /
    ``noise_strength`` the noise buffers and strengths, ``const`` the constant input; the
    mapping's ``fc<i>`` our ``layers.<i+1>``. ``conv_clamp``, the aspect ratio, the label size and
    the mapping's learning-rate multiplier come from the pickled attributes and shapes.
    """
    _require_stylegan2_ada(g, source, "generator")
    _check_filters(g, source)
    kw, theirs = g.init_kwargs, g.tensors()
    blocks = sorted(int(name[1:]) for name in g["synthesis"].children if name.startswith("b"))
    resolution, used = blocks[-1], set()
    for res in blocks:
        block = g[f"synthesis.b{res}"]
        if block.attr("architecture", "skip") != "skip":
            raise ValueError(f"{source}: synthesis architecture {block.attr('architecture')!r}; only 'skip' is mapped")
    if kw.get("img_channels", 3) != 3:
        raise ValueError(f"{source}: {kw['img_channels']} image channels; the shared generator makes RGB")
    mapping, n_layers = _mapping_state(theirs, "mapping.", "mapping.", used)
    fc0 = g["mapping.fc0"]
    if fc0.attr("activation", "lrelu") != "lrelu":
        raise ValueError(f"{source}: mapping activation {fc0.attr('activation')!r}; only 'lrelu' is mapped")
    const = theirs["synthesis.b4.const"]
    widths = {4: const.shape[0]} | {r: theirs[f"synthesis.b{r}.conv0.weight"].shape[0] for r in blocks[1:]}
    channel_base, channel_max = widths_to_channels(widths, source)
    clamp = _value(g["synthesis.b4.conv1"].attr("conv_clamp", None))
    ours = dict(mapping)
    ours["synthesis.input.input"] = const[None]
    if "mapping.w_avg" in theirs:
        ours["w_avg"] = theirs["mapping.w_avg"]
        used.add("mapping.w_avg")

    def take(name: str) -> Tensor:
        used.add(name)
        return theirs[name]

    def layer(dst: str, src: str, noise: int) -> None:
        ours[f"{dst}.conv.weight"] = take(f"{src}.weight")[None]
        ours[f"{dst}.conv.modulation.weight"] = take(f"{src}.affine.weight")
        ours[f"{dst}.conv.modulation.bias"] = take(f"{src}.affine.bias")
        ours[f"{dst}.activate.bias"] = take(f"{src}.bias")
        if f"{src}.noise_const" in theirs:
            ours[f"synthesis.noises.noise_{noise}"] = take(f"{src}.noise_const")[None, None]
            ours[f"{dst}.noise.weight"] = take(f"{src}.noise_strength").reshape(1)
        else:  # use_noise=False: a zero strength adds nothing
            ours[f"{dst}.noise.weight"] = torch.zeros(1)

    def torgb(dst: str, src: str) -> None:
        ours[f"{dst}.conv.weight"] = take(f"{src}.weight")[None]
        ours[f"{dst}.conv.modulation.weight"] = take(f"{src}.affine.weight")
        ours[f"{dst}.conv.modulation.bias"] = take(f"{src}.affine.bias")
        ours[f"{dst}.bias"] = take(f"{src}.bias").view(1, -1, 1, 1)

    used.add("synthesis.b4.const")
    layer("synthesis.conv1", "synthesis.b4.conv1", 0)
    torgb("synthesis.to_rgb1", "synthesis.b4.torgb")
    for j, res in enumerate(blocks[1:]):
        layer(f"synthesis.convs.{2 * j}", f"synthesis.b{res}.conv0", 2 * j + 1)
        layer(f"synthesis.convs.{2 * j + 1}", f"synthesis.b{res}.conv1", 2 * j + 2)
        torgb(f"synthesis.to_rgbs.{j}", f"synthesis.b{res}.torgb")
    _consumed(theirs, used, source)
    w_dim, fc0_in = ours["mapping.layers.1.weight"].shape
    embed = ours["mapping.embed.weight"].shape[0] if "mapping.embed.weight" in ours else 0
    kwargs = dict(
        resolution=resolution,
        z_dim=fc0_in - embed,
        w_dim=w_dim,
        mapping_layers=n_layers,
        channel_base=channel_base,
        channel_max=channel_max,
        lr_mlp=float(_value(fc0.attr("bias_gain", 0.01))),
        w_avg_beta=_value(g["mapping"].attr("w_avg_beta", None)) or 0.995,
        c_dim=ours["mapping.embed.weight"].shape[1] if embed else 0,
        aspect_ratio=const.shape[2] / 4,
        conv_clamp=clamp,
    )
    if embed not in (0, w_dim):
        raise ValueError(f"{source}: label embedding of {embed} features; the shared mapping embeds to w_dim={w_dim}")
    return kwargs, ours


def nvlabs_discriminator_state(d: Record, source: object = "pickle") -> tuple[dict, dict[str, Tensor]]:
    """An NVlabs StyleGAN2-ADA discriminator -> ``(Discriminator kwargs, state dict in our names)``.

    ``b<res>.fromrgb`` is our ``convs.0``; ``b<res>.conv0/conv1/skip`` our residual block's
    ``conv1/conv2/skip``; ``b4.mbstd/conv/fc/out`` the minibatch std (group size and channels
    from its attributes), ``final_conv`` and ``final_linear``; a label mapping ``mapping``.
    """
    _require_stylegan2_ada(d, source, "discriminator")
    _check_filters(d, source)
    kw, theirs = d.init_kwargs, d.tensors()
    blocks = sorted((int(name[1:]) for name in d.children if name.startswith("b") and name != "b4"), reverse=True)
    for name in [f"b{r}" for r in blocks] + ["b4"]:
        if d[name].attr("architecture", "resnet") != "resnet":
            raise ValueError(f"{source}: discriminator architecture {d[name].attr('architecture')!r}; only 'resnet'")
    if kw.get("img_channels", 3) != 3:
        raise ValueError(f"{source}: {kw['img_channels']} image channels; the shared discriminator reads RGB")
    resolution, used, ours = blocks[0], set(), {}

    def take(dst: str, src: str) -> None:
        ours[dst] = theirs[src]
        used.add(src)

    take("convs.0.0.weight", f"b{resolution}.fromrgb.weight")
    take("convs.0.1.bias", f"b{resolution}.fromrgb.bias")
    for i, res in enumerate(blocks, start=1):
        take(f"convs.{i}.conv1.0.weight", f"b{res}.conv0.weight")
        take(f"convs.{i}.conv1.1.bias", f"b{res}.conv0.bias")
        take(f"convs.{i}.conv2.1.weight", f"b{res}.conv1.weight")
        take(f"convs.{i}.conv2.2.bias", f"b{res}.conv1.bias")
        take(f"convs.{i}.skip.1.weight", f"b{res}.skip.weight")
    take("final_conv.0.weight", "b4.conv.weight")
    take("final_conv.1.bias", "b4.conv.bias")
    for p in ("weight", "bias"):
        take(f"final_linear.0.{p}", f"b4.fc.{p}")
        take(f"final_linear.1.{p}", f"b4.out.{p}")
    mapping, n_layers = _mapping_state(theirs, "mapping.", "mapping.", used)
    if n_layers and float(_value(d["mapping.fc0"].attr("bias_gain", 0.01))) != 0.01:
        raise ValueError(f"{source}: label mapping learning-rate multiplier is not 0.01 (the shared mapping's)")
    ours |= mapping
    _consumed(theirs, used, source)
    if "mbstd" not in d["b4"]:
        raise ValueError(f"{source}: a discriminator without minibatch std (mbstd_num_channels=0) is not mapped")
    mbstd = d["b4.mbstd"]
    widths = {resolution: theirs[f"b{resolution}.fromrgb.weight"].shape[0]}
    widths |= {res // 2: theirs[f"b{res}.conv1.weight"].shape[0] for res in blocks}
    channel_base, channel_max = widths_to_channels(widths, source)
    c4 = widths[4]
    kwargs = dict(
        resolution=resolution,
        channel_base=channel_base,
        channel_max=channel_max,
        mbstd_group=_value(mbstd.attr("group_size", 4)),
        mbstd_channels=_value(mbstd.attr("num_channels", 1)),
        aspect_ratio=theirs["b4.fc.weight"].shape[1] / (c4 * 16),
        conv_clamp=_value(d[f"b{resolution}.conv0"].attr("conv_clamp", None)),
        c_dim=ours["mapping.embed.weight"].shape[1] if "mapping.embed.weight" in ours else 0,
        cmap_dim=theirs["b4.out.weight"].shape[0] if "mapping.embed.weight" in ours else None,
        mapping_layers=n_layers or 8,
    )
    return kwargs, ours


def fully_connected(layer: Record, prefix: str, ours: EqualLinear) -> dict[str, Tensor]:
    """An NVlabs ``FullyConnectedLayer`` as the state of an :class:`EqualLinear` (keys ``prefix``
    + ``weight`` / ``bias``) computing the same map: its weight and bias gains (learning-rate
    multiplier and ``1/sqrt(fan_in)``) folded into the stored values where ours differ."""
    theirs = layer.tensors()
    out = {prefix + "weight": theirs["weight"] * (float(_value(layer.attr("weight_gain"))) / ours.scale)}
    if "bias" in theirs:
        out[prefix + "bias"] = theirs["bias"] * (float(_value(layer.attr("bias_gain"))) / ours.lr_mul)
    return out


def _nvlabs_network(content, key: str, path) -> Record:
    if not isinstance(content, dict) or key not in content or not isinstance(content[key], Record):
        found = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise KeyError(f"{path}: no network {key!r} in the pickle (found {found})")
    return content[key]


# -- stylevideo checkpoints ----------------------------------------------------------------------


def _stylevideo_part(ckpt: dict, key: str, path) -> tuple[dict, dict]:
    state, hparams = ckpt["state_dict"], ckpt.get("hyper_parameters", {})
    part = {k[len(key) + 1 :]: v for k, v in state.items() if k.startswith(key + ".")}
    if not part:
        prefixes = sorted({k.split(".")[0] for k in state})
        raise KeyError(f"{path}: no {key}.* entries in the checkpoint's state_dict (found {prefixes})")
    return part, hparams


_GENERATOR_KEYS = ("resolution", "z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max")
_GENERATOR_OPTIONAL = ("lr_mlp", "c_dim", "aspect_ratio", "conv_clamp")


def _stylevideo_generator(ckpt: dict, key: str, path) -> Generator:
    state, hparams = _stylevideo_part(ckpt, key, path)
    arch = dict(hparams.get("generator_arch") or {})
    arch |= {k: hparams[k] for k in (*_GENERATOR_KEYS, *_GENERATOR_OPTIONAL) if k in hparams and k not in arch}
    missing = [k for k in _GENERATOR_KEYS if k not in arch]
    if missing:
        raise KeyError(f"{path}: the checkpoint's hyper-parameters lack the generator's {missing}")
    g = Generator(**{k: arch[k] for k in (*_GENERATOR_KEYS, *_GENERATOR_OPTIONAL) if k in arch}, noise_mode="const")
    g.load_state_dict(state)
    return g


# -- the public loaders (re-exported by stylevideo.nn.stylegan2) ---------------------------------------


def load_generator(path: str | os.PathLike, key: str | None = None) -> tuple[Generator, Tensor]:
    """A released or trained StyleGAN2 generator -> ``(generator in eval mode, w_avg)``.

    Accepts a rosinality ``.pt`` (``key`` default ``g_ema``), an NVlabs ``.pkl`` (``G_ema``; ``G``
    in the pickles that hold no ``G_ema``, as StyleInV's stage-2/3 files) or a stylevideo
    Lightning checkpoint (``G_ema``). The generator's noise mode is
    ``const`` (the file's own noise buffers), so ``generator(z, c=c)`` reproduces NVlabs'
    ``G_ema(z, c, noise_mode='const')`` and ``generator(z, psi=0.7, c=c)`` their
    ``truncation_psi=0.7`` (``w_avg`` is the file's).
    """
    kind, content = read_stylegan2_file(path)
    if kind == "nvlabs":
        key = key or ("G" if isinstance(content, dict) and "G_ema" not in content and "G" in content else "G_ema")
        kwargs, state = nvlabs_generator_state(_nvlabs_network(content, key, path), path)
        g = Generator(**kwargs, noise_mode="const")
        g.load_state_dict(state, strict=False)  # w_avg absent when tracking was off: zeros
        return g.eval(), g.w_avg.clone()
    if not isinstance(content, dict):
        raise KeyError(f"{path}: not a StyleGAN2 checkpoint (a {type(content).__name__})")
    if "state_dict" in content:
        g = _stylevideo_generator(content, key or "G_ema", path)
        return g.eval(), g.w_avg.clone()
    return _rosinality_generator(content, key or "g_ema", path)


def load_discriminator(path: str | os.PathLike, key: str | None = None) -> Discriminator:
    """The discriminator of a rosinality ``.pt`` (``d``), NVlabs ``.pkl`` (``D``) or stylevideo
    checkpoint (``D``), in eval mode; ``D(img, c)`` reproduces NVlabs' ``D(img, c)``."""
    kind, content = read_stylegan2_file(path)
    if kind == "nvlabs":
        kwargs, state = nvlabs_discriminator_state(_nvlabs_network(content, key or "D", path), path)
        d = Discriminator(**kwargs)
        d.load_state_dict(state)
        return d.eval()
    if not isinstance(content, dict):
        raise KeyError(f"{path}: not a StyleGAN2 checkpoint (a {type(content).__name__})")
    if "state_dict" in content:
        state, hparams = _stylevideo_part(content, key or "D", path)
        d = Discriminator(
            hparams.get("resolution", 256),
            hparams.get("channel_base", 32768),
            hparams.get("channel_max", 512),
            mbstd_group=hparams.get("mbstd_group", 4),
        )
        d.load_state_dict(state)
        return d.eval()
    key = key or "d"
    if key not in content:
        raise KeyError(
            f"{path}: no {key!r} entry (found {sorted(content)}); expected a rosinality StyleGAN2 checkpoint"
        )
    return _rosinality_discriminator(content[key], path).eval()
