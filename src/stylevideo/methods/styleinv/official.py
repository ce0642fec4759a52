"""StyleInV's stage-3 snapshots (``network-snapshot-*.pkl`` of ``train_styleinv.py``: ``G``, ``D``,
``SI``, ``SI_ema``) onto :class:`~stylevideo.methods.styleinv.model.StyleInV`, read without
executing them (:mod:`stylevideo.nn.nvlabs_pickle`).

Name map (their ``training/networks_styleinv.py``, ``styleinv/*.py``, ``networks_sgv.py`` -> ours):

- ``SI.mapping.motion_encoder.frame_0_const`` -> ``SI.ape.c0``; ``...conv.<i>`` (``EqLRConv1d``,
  kernel 11 with its right half masked, padding 5) -> ``SI.ape.mapping.<i>`` (kernel 6, left padding
  5): ``weight[:, :, :6]`` with the gain ``1/sqrt(in * 11)`` folded into ``1/sqrt(in * 6)``;
  ``...time_encoder.{periods,phase,aligners}_predictor`` -> ``SI.ape.*_predictor``; their
  ``freqs`` / ``phase_scales`` buffers are checked against ours;
- ``SI.mapping.fcf0/1`` -> ``SI.style.fc1/2``; ``SI.encoder`` (IR-SE backbone, ``adains``,
  ``linear``) -> ``SI.encoder`` (same names); every ``FullyConnectedLayer``'s gains folded;
- ``D`` (StyleGAN-V's discriminator): ``b<R>.fromrgb`` -> ``from_rgb``; ``b<res>`` -> ``frame_blocks``
  above ``concat_res``, ``video_blocks`` from it down; ``time_encoder.const_embed`` ->
  ``time_encoder.const_embed``; ``mapping.embed/fc<i>`` -> ``embed`` / ``mapping.<i>``;
  ``b4.conv/fc/out`` -> ``final_conv`` / ``final_linear``.

Their time is ``Ts`` in [0, 1] (``t / (max_num_frames - 1)``); ours is in frames.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from stylevideo.methods.styleinv.discriminator import SparseVideoDiscriminator
from stylevideo.methods.styleinv.encoder import StyleInVNet
from stylevideo.methods.styleinv.model import StyleInV
from stylevideo.nn.irse import UNITS
from stylevideo.nn.nvlabs_pickle import Record, plain, read_network_pickle
from stylevideo.nn.psp import official_psp_encoder
from stylevideo.nn.stylegan2_checkpoints import fully_connected, widths_to_channels

__all__ = ["load_official_checkpoint", "official_d_state", "official_si_state"]


def _motion_options(si: Record, source) -> dict:
    """The StyleInV hyper-parameters of the motion generator, from its pickled configs."""
    mapping = plain(si.attr("mapping_opts"))
    encoder = plain(si.attr("encoder_opts"))
    motion, time_enc = mapping["motion"], mapping["motion"]["time_enc"]
    checks = {
        "motion.type acyclic_pe": motion.get("type") == "acyclic_pe",
        "motion.fourier": motion.get("fourier", False),
        "motion.gen_strategy conv or abl_no_ffa": motion.get("gen_strategy") in ("conv", "abl_no_ffa"),
        "c_dim 0 (unconditional)": mapping.get("c_dim", 0) == 0,
        "concat_content, layers_after_fuse 2": mapping.get("concat_content") and mapping.get("layers_after_fuse") == 2,
        "motion.v_dim = 2 time_enc.dim": motion["v_dim"] == 2 * time_enc["dim"],
        "encoder adain_mode block, no modulation": encoder.get("adain_mode") == "block"
        and not encoder.get("use_modulation"),
        "input_residual (E predicts w_t - w0)": si.attr("input_residual", True) or si.attr("skip_encoder", False),
        "no PCA head, no mutual-information head": not (encoder.get("pca") or {}).get("use_pca")
        and not si.attr("mutual_recon", False),
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise ValueError(f"{source}: this StyleInV has options the project does not implement: {failed}")
    ffa = motion["gen_strategy"] == "conv"
    ks = motion["kernel_size"]
    return dict(
        motion_z_dim=motion["z_dim"],
        v_dim=motion["v_dim"],
        delta_z=motion["motion_z_distance"],
        kernel_size=(ks + 1) // 2 if ffa else ks,  # FFA: the unmasked left half, centre included
        min_period=float(time_enc["min_period_len"]),
        max_period=float(time_enc["max_period_len"]),
        first_frame_aware=ffa,
        use_encoder=not si.attr("skip_encoder", False),
        normalize_adain=bool(encoder.get("normalize_adain", False)),
        clip_length=int(mapping["sampling"]["max_num_frames"]),
    )


def official_si_state(si: Record, ours: StyleInVNet, source: object = "pickle") -> dict[str, Tensor]:
    """Their ``StyleInV`` network (``SI`` or ``SI_ema``) as the state dict of our :class:`StyleInVNet`."""
    theirs = si.tensors()
    motion = si["mapping.motion_encoder"]
    state = {}
    if ours.ape.first_frame_aware:
        state["ape.c0"] = theirs["mapping.motion_encoder.frame_0_const"]
    for i, conv in enumerate(ours.ape.mapping):
        layer = motion[f"conv.{i}"]
        weight = layer.tensors()["weight"][:, :, : conv.kernel_size]
        if conv.causal and not layer.attr("mask_right"):
            raise ValueError(f"{source}: first-frame-aware motion convolutions without mask_right")
        state[f"ape.mapping.{i}.weight"] = weight * (float(layer.attr("weight_gain")) / conv.scale)
        state[f"ape.mapping.{i}.bias"] = layer.tensors()["bias"] * (float(layer.attr("bias_gain")) / conv.lr_mul)
    time_encoder = motion["time_encoder"]
    for name in ("periods_predictor", "phase_predictor", "aligners_predictor"):
        state |= fully_connected(time_encoder[name], f"ape.{name}.", getattr(ours.ape, name))
    freqs, scales = time_encoder.tensors()["freqs"].reshape(-1), time_encoder.tensors()["phase_scales"].reshape(-1)
    if not (
        torch.allclose(freqs, ours.ape.omega, rtol=1e-5) and torch.allclose(scales, ours.ape.phase_scale, rtol=1e-5)
    ):
        raise ValueError(f"{source}: the time encoder's frequencies differ from the configured periods")
    state |= fully_connected(si["mapping.fcf0"], "style.fc1.", ours.style.fc1)
    state |= fully_connected(si["mapping.fcf1"], "style.fc2.", ours.style.fc2)
    if ours.encoder is not None:
        state |= {k: v for k, v in theirs.items() if k.startswith(("encoder.input_layer.", "encoder.body."))}
        state |= {k: v for k, v in theirs.items() if k.startswith("encoder.adains.") and ".conv" in k}
        for i, block in enumerate(ours.encoder.adains):
            for norm in ("norm1", "norm2"):
                prefix = f"encoder.adains.{i}.{norm}.fc."
                state |= fully_connected(si[prefix[:-1]], prefix, getattr(block, norm).fc)
        state |= fully_connected(si["encoder.linear"], "encoder.linear.", ours.encoder.linear)
    return state


def official_d_state(d: Record, ours: SparseVideoDiscriminator, source: object = "pickle") -> dict[str, Tensor]:
    """Their StyleGAN-V discriminator (``networks_sgv.Discriminator``) as our
    :class:`SparseVideoDiscriminator`'s state."""
    theirs = d.tensors()
    blocks = sorted(
        (int(n[1:]) for n in d.children if n.startswith("b") and n[1:].isdigit() and n != "b4"), reverse=True
    )
    state = {
        "from_rgb.0.weight": theirs[f"b{blocks[0]}.fromrgb.weight"],
        "from_rgb.1.bias": theirs[f"b{blocks[0]}.fromrgb.bias"],
    }
    frame = [r for r in blocks if r > ours.concat_res]
    for group, resolutions in (("frame_blocks", frame), ("video_blocks", blocks[len(frame) :])):
        for i, res in enumerate(resolutions):
            for dst, src in (("conv0.0.weight", "conv0.weight"), ("conv0.1.bias", "conv0.bias")):
                state[f"{group}.{i}.{dst}"] = theirs[f"b{res}.{src}"]
            for dst, src in (
                ("conv1.1.weight", "conv1.weight"),
                ("conv1.2.bias", "conv1.bias"),
                ("skip.1.weight", "skip.weight"),
            ):
                state[f"{group}.{i}.{dst}"] = theirs[f"b{res}.{src}"]
    if "time_encoder.const_embed.weight" in theirs:
        state["time_encoder.const_embed.weight"] = theirs["time_encoder.const_embed.weight"]
    coefs = theirs["time_encoder.time_encoder.fourier_coefs"].reshape(-1)
    if not torch.allclose(coefs, ours.time_encoder.freqs, rtol=1e-6):
        raise ValueError(
            f"{source}: the discriminator's time frequencies differ from max_frames={ours.time_encoder.max_frames}"
        )
    state |= fully_connected(d["mapping.embed"], "embed.", ours.embed)
    for i, layer in enumerate(ours.mapping):
        state |= fully_connected(d[f"mapping.fc{i}"], f"mapping.{i}.", layer)
    state["final_conv.0.weight"], state["final_conv.1.bias"] = theirs["b4.conv.weight"], theirs["b4.conv.bias"]
    state |= fully_connected(d["b4.fc"], "final_linear.0.", ours.final_linear[0])
    state |= fully_connected(d["b4.out"], "final_linear.1.", ours.final_linear[1])
    return state


def _d_options(d: Record, source) -> dict:
    cfg, theirs = plain(d.attr("cfg")), d.tensors()
    if cfg.get("dummy_c") or cfg["pe"].get("t_is_frame_idx") or d["b4.mbstd"].attr("num_channels", 1) != 1:
        raise ValueError(
            f"{source}: discriminator options the project does not implement (dummy_c / t_is_frame_idx / mbstd)"
        )
    blocks = [int(n[1:]) for n in d.children if n.startswith("b") and n[1:].isdigit() and n != "b4"]
    widths = {res: theirs[f"b{res}.conv0.weight"].shape[0] for res in blocks} | {4: theirs["b4.conv.weight"].shape[0]}
    channel_base, channel_max = widths_to_channels(widths, source)
    frames = cfg["sampling"]["num_frames_per_video"]
    return dict(
        d_channel_base=channel_base,
        d_channel_max=channel_max,
        mbstd_group=int(d["b4.mbstd"].attr("group_size")),
        concat_res=cfg["concat_res"],
        num_frames_div_factor=cfg["num_frames_div_factor"],
        d_const_dim=theirs["time_encoder.const_embed.weight"].shape[1]
        if "time_encoder.const_embed.weight" in theirs
        else 0,
        d_mapping_layers=sum(1 for n in d["mapping"].children if n.startswith("fc")),
        d_conv_clamp=d[f"b{max(blocks)}.conv0"].attr("conv_clamp", None),
        num_sparse=frames - 1,
        first_frame_in_d=True,
    )


def load_official_checkpoint(path: str | Path, psp: str | Path | None = None, **overrides) -> StyleInV:
    """A StyleInV stage-3 snapshot -> :class:`StyleInV` (eval mode) with their ``G`` (frozen),
    ``SI``, ``SI_ema`` and ``D``; ``latents(w0, t, z=z)`` is their ``SI_ema(G(w0), w0, z, t / (L-1))``.

    ``psp``: their stage-2 pickle (``psp-*.pkl``), whose encoder inverts real images for
    :meth:`StyleInV.animate`; default: the file the snapshot names (``SI.checkpoint``).
    ``overrides``: other :class:`StyleInV` arguments (loss weights, ``noise_mode``, ...).
    """
    content = read_network_pickle(path)
    missing = [
        k for k in ("G", "D", "SI", "SI_ema") if not isinstance(content, dict) or not isinstance(content.get(k), Record)
    ]
    if missing:
        raise KeyError(f"{path}: not a StyleInV stage-3 snapshot (no {missing})")
    si = content["SI"]
    psp = Path(psp if psp is not None else si.attr("checkpoint", ""))
    if not psp.is_file():
        raise FileNotFoundError(
            f"{path}: the stage-2 pickle {psp} (pSp + G, psp-*.pkl) holds the inversion encoder; pass psp=<file>"
        )
    psp_content = read_network_pickle(psp)
    if not isinstance(psp_content, dict) or "pSp" not in psp_content:
        raise KeyError(f"{psp}: not a StyleInV stage-2 pickle (no 'pSp')")
    layout, encoder_state, latent_avg = official_psp_encoder(psp_content["pSp"], psp)
    units = tuple(layout["units"])
    num_layers = next((n for n, u in UNITS.items() if u == units), 50)
    arch = {"num_layers": num_layers, "widths": tuple(layout["widths"]), "units": units, "w_dim": layout["w_dim"]}
    options = _motion_options(si, path) | _d_options(content["D"], path)
    model = StyleInV(
        generator_ckpt=str(path),
        encoder_arch=arch,
        num_layers=num_layers,
        widths=arch["widths"],
        units=units,
        **options | overrides,
    )
    model.SI.load_state_dict(official_si_state(si, model.SI, path))
    model.SI_ema.load_state_dict(official_si_state(content["SI_ema"], model.SI_ema, path))
    model.D.load_state_dict(official_d_state(content["D"], model.D, path))
    model.inverter.load_state_dict(encoder_state)
    model.inverter_w_avg.copy_(latent_avg)
    return model.eval()
