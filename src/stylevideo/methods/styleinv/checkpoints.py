"""How one StyleInV stage hands its result to the next (config keys ``generator_ckpt``,
``encoder_ckpt``).

- Stage 1 -> 2, 3 and style transfer: the generator, from a Lightning checkpoint of
  :class:`~stylevideo.methods.stylegan2.StyleGAN2` (or of the style-transfer fine-tuning,
  which has the same ``G_ema``) -- its EMA generator --, a rosinality StyleGAN2 checkpoint
  (``g_ema``) or an NVlabs pickle (the authors' stage-1 snapshots: ``G_ema``; their stage-2/3
  pickles: ``G``), all through :func:`stylevideo.nn.stylegan2.load_generator`.
- Stage 2 -> 3: the W inversion encoder and its ``w_avg``, from a Lightning checkpoint of
  :class:`~stylevideo.methods.psp.PSPInversion`.

The architecture of what is loaded is returned as a plain dict, which the next stage keeps
in its hyper-parameters, so its own checkpoints rebuild without the earlier files.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from stylevideo.nn import stylegan2
from stylevideo.nn.nvlabs_pickle import RefusedGlobal
from stylevideo.nn.stylegan2 import Generator

__all__ = [
    "GENERATOR_ARCH",
    "GENERATOR_OPTIONS",
    "STAGE_INPUTS",
    "build_generator",
    "load_generator",
    "load_inversion_encoder",
    "read_checkpoint",
]

_PIPELINE = (
    "all three stages in a row: python -m stylevideo.methods.styleinv.pipeline styleinv_<dataset> "
    "(or make train EXP=styleinv_<dataset>)"
)
#: What each stage input must name (config key -> description), for the run's up-front check.
STAGE_INPUTS = {
    "generator_ckpt": "the checkpoint of stage 1 (lightning fit --config experiments/stylegan2_<dataset>.yaml) "
    f"or a rosinality StyleGAN2 or NVlabs pickle; {_PIPELINE}",
    "encoder_ckpt": f"the checkpoint of stage 2 (lightning fit --config experiments/psp_<dataset>.yaml); {_PIPELINE}",
}

#: The :class:`Generator` constructor arguments that define its architecture.
GENERATOR_ARCH = ("resolution", "z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max")
#: Those released networks may set (absent from older checkpoints: the defaults).
GENERATOR_OPTIONS = ("lr_mlp", "c_dim", "aspect_ratio", "conv_clamp")


def read_checkpoint(path: str | os.PathLike | None, key: str, produced_by: str) -> dict:
    """``torch.load`` a checkpoint named by config key ``key``, or a clear error."""
    if path is None:
        raise ValueError(
            f"{key} is not set: it must name the checkpoint of {produced_by} "
            "(runs/<experiment>/<run id>/checkpoints/last.ckpt)"
        )
    if not Path(path).is_file():
        raise FileNotFoundError(f"{key}={path} does not exist: expected the checkpoint of {produced_by}")
    with torch.serialization.safe_globals([argparse.Namespace]):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # unpickling refused or a corrupt file: name the file
            raise ValueError(f"{key}={path} could not be read as a checkpoint: {e}") from e


def build_generator(arch: dict) -> Generator:
    """An untrained :class:`Generator` of the given architecture (constant noise)."""
    missing = [k for k in GENERATOR_ARCH if k not in arch]
    if missing:
        raise KeyError(f"generator architecture lacks {missing}")
    return Generator(**{k: arch[k] for k in GENERATOR_ARCH + GENERATOR_OPTIONS if k in arch}, noise_mode="const")


def load_generator(path: str | os.PathLike | None, key: str = "generator_ckpt") -> tuple[Generator, dict]:
    """The stage-1 generator (frozen, eval mode) and its architecture dict (``Generator.arch``)."""
    produced_by = (
        "stage 1 (lightning fit --config experiments/stylegan2_<dataset>.yaml), a rosinality StyleGAN2 "
        "or an NVlabs network pickle"
    )
    if path is None:
        raise ValueError(f"{key} is not set: it must name the checkpoint of {produced_by}")
    if not Path(path).is_file():
        raise FileNotFoundError(f"{key}={path} does not exist: expected the checkpoint of {produced_by}")
    try:
        g, _ = stylegan2.load_generator(path)
    except (KeyError, ValueError, RefusedGlobal) as e:
        raise type(e)(f"{key}={path}: {e}; expected the checkpoint of {produced_by}") from e
    return g.eval().requires_grad_(False), dict(g.arch)


def load_inversion_encoder(
    path: str | os.PathLike | None, key: str = "encoder_ckpt"
) -> tuple[dict, dict, torch.Tensor]:
    """The stage-2 encoder: ``(state of its PSPEncoderW, its architecture, w_avg)``."""
    ckpt = read_checkpoint(path, key, "stage 2 (lightning fit --config experiments/psp_<dataset>.yaml)")
    state, hparams = ckpt.get("state_dict", {}), ckpt.get("hyper_parameters", {})
    encoder = {k[len("encoder.") :]: v for k, v in state.items() if k.startswith("encoder.")}
    if not encoder or "w_avg" not in state:
        raise KeyError(f"{key}={path} is not a PSPInversion checkpoint (no encoder.* / w_avg entries)")
    arch = {
        "num_layers": hparams.get("num_layers", 50),
        "widths": tuple(hparams.get("widths", (64, 128, 256, 512))),
        "units": None if hparams.get("units") is None else tuple(hparams["units"]),
        "w_dim": encoder["linear.weight"].shape[0],
    }
    return encoder, arch, state["w_avg"]
