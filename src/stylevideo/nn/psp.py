"""pSp inversion encoders (Richardson et al., "Encoding in Style", CVPR 2021).

- :class:`PSPEncoderW`: pSp's ``BackboneEncoderUsingLastLayerIntoW``: an IR-SE50 backbone,
  global average pooling and one equalized linear layer to a single ``w`` (StyleInV Eq. 1:
  ``x_hat = G(E(x) + w_avg)``; StyleInV's stage 2).
- :class:`GradualStyleEncoder`: pSp's W+ encoder: a feature pyramid over the backbone's
  stride-4/8/16 maps (``c1, c2, c3`` -> ``p1, p2`` by upsample-and-add of 1x1 lateral convs)
  and one map2style block per style vector (coarse from ``c3``, middle from ``p2``, fine
  from ``p1``) -> ``[B, n_styles, 512]`` (VidStyleODE's content encoder).
- :class:`PSP`: encoder + StyleGAN2 decoder + ``latent_avg``; :func:`load_psp_checkpoint`
  builds one from an official pSp checkpoint (``{"state_dict": {"encoder.*", "decoder.*"},
  "opts": ..., "latent_avg": ...}``); :func:`official_psp_encoder` reads the pSp W encoder
  StyleInV pickles (``training/networks_psp.py``).

Module names are pSp's, so its ``encoder.*`` entries load by prefix; ``widths``/``units``
shrink the backbone for tests.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylevideo.nn.irse import WIDTHS, IRSEBackbone
from stylevideo.nn.layers import EqualLinear
from stylevideo.nn.nvlabs_pickle import Record, plain
from stylevideo.nn.stylegan2 import Generator
from stylevideo.nn.stylegan2_checkpoints import fully_connected, generator_from_rosinality_state

__all__ = [
    "PSP",
    "GradualStyleBlock",
    "GradualStyleEncoder",
    "PSPEncoderW",
    "backbone_layout",
    "load_psp_checkpoint",
    "official_psp_encoder",
    "psp_from_checkpoint",
]


class PSPEncoderW(nn.Module):
    """``E: image -> w`` (pSp ``BackboneEncoderUsingLastLayerIntoW``): backbone, global average
    pool, ``EqualLinear(widths[-1], w_dim)``. The output is the offset from ``w_avg`` (Eq. 1)."""

    def __init__(
        self,
        w_dim: int = 512,
        num_layers: int = 50,
        mode: str = "ir_se",
        in_channels: int = 3,
        widths: Sequence[int] = WIDTHS,
        units: Sequence[int] | None = None,
    ):
        super().__init__()
        backbone = IRSEBackbone(num_layers, mode, in_channels, widths, units)
        self.input_layer, self.body = backbone.input_layer, backbone.body
        self.stage_ends = backbone.stage_ends
        self.output_pool = nn.AdaptiveAvgPool2d(1)
        self.linear = EqualLinear(backbone.out_channels, w_dim)
        self.w_dim = w_dim

    def forward(self, x: Tensor) -> Tensor:
        x = self.body(self.input_layer(x))
        return self.linear(self.output_pool(x).flatten(1))


class GradualStyleBlock(nn.Module):
    """map2style: ``log2(spatial)`` stride-2 3x3 convs with leaky ReLU (slope 0.01, PyTorch's
    default as in pSp), then ``EqualLinear(out, out)`` on the 1x1 result."""

    def __init__(self, in_channels: int, out_channels: int, spatial: int):
        super().__init__()
        num_pools = int(np.log2(spatial))
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, 2, 1), nn.LeakyReLU()]
        for _ in range(num_pools - 1):
            layers += [nn.Conv2d(out_channels, out_channels, 3, 2, 1), nn.LeakyReLU()]
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(out_channels, out_channels)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        x = self.convs(x)
        if x.shape[-2:] != (1, 1):
            raise ValueError(
                f"map2style expected a 1x1 map after its convolutions, got {tuple(x.shape)}; "
                "the input image is larger than this encoder's design size"
            )
        return self.linear(x.flatten(1))


class GradualStyleEncoder(nn.Module):
    """pSp's W+ encoder with its feature pyramid: ``[B, 3, H, W] -> [B, n_styles, style_dim]``.

    Styles ``0..coarse-1`` come from ``c3`` (stride 16), ``coarse..middle-1`` from
    ``p2 = up(c3) + latlayer1(c2)`` (stride 8), the rest from ``p1 = up(p2) + latlayer2(c1)``
    (stride 4); upsampling is bilinear with ``align_corners=True``. ``spatial`` are the
    map2style depths (pSp: 16, 32, 64 for 256x256 inputs).
    """

    def __init__(
        self,
        n_styles: int = 18,
        num_layers: int = 50,
        mode: str = "ir_se",
        in_channels: int = 3,
        widths: Sequence[int] = WIDTHS,
        units: Sequence[int] | None = None,
        style_dim: int = 512,
        coarse: int = 3,
        middle: int = 7,
        spatial: Sequence[int] = (16, 32, 64),
    ):
        super().__init__()
        if not 0 < coarse <= middle <= n_styles:
            raise ValueError(f"need 0 < coarse <= middle <= n_styles, got {coarse}, {middle}, {n_styles}")
        backbone = IRSEBackbone(num_layers, mode, in_channels, widths, units)
        self.input_layer, self.body = backbone.input_layer, backbone.body
        self.stage_ends = backbone.stage_ends
        self.n_styles, self.coarse_ind, self.middle_ind = n_styles, coarse, middle
        c_last = backbone.out_channels
        self.styles = nn.ModuleList(
            GradualStyleBlock(
                c_last if i < coarse else style_dim,
                style_dim,
                spatial[0] if i < coarse else spatial[1] if i < middle else spatial[2],
            )
            for i in range(n_styles)
        )
        self.latlayer1 = nn.Conv2d(backbone.widths[2], style_dim, 1)
        self.latlayer2 = nn.Conv2d(backbone.widths[1], style_dim, 1)
        if c_last != style_dim:
            raise ValueError(
                f"the pyramid adds c3 ({c_last} channels) to {style_dim}-channel laterals; "
                "the last stage width must equal style_dim"
            )

    @staticmethod
    def _upsample_add(x: Tensor, y: Tensor) -> Tensor:
        return F.interpolate(x, size=y.shape[-2:], mode="bilinear", align_corners=True) + y

    def pyramid(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The three pyramid levels ``(c3, p2, p1)`` at strides 16, 8 and 4."""
        x = self.input_layer(x)
        c1 = c2 = None
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i == self.stage_ends[1]:
                c1 = x
            elif i == self.stage_ends[2]:
                c2 = x
        c3 = x
        p2 = self._upsample_add(c3, self.latlayer1(c2))
        p1 = self._upsample_add(p2, self.latlayer2(c1))
        return c3, p2, p1

    def forward(self, x: Tensor) -> Tensor:
        levels = self.pyramid(x)
        latents = [
            style(levels[0 if i < self.coarse_ind else 1 if i < self.middle_ind else 2])
            for i, style in enumerate(self.styles)
        ]
        return torch.stack(latents, dim=1)


class PSP(nn.Module):
    """Encoder + StyleGAN2 decoder (pSp's ``pSp`` model).

    ``invert(x)`` gives the codes (``+ latent_avg`` when ``start_from_latent_avg``): ``[B, w_dim]``
    for a W encoder, ``[B, n_styles, w_dim]`` for W+; ``forward(x)`` decodes them
    (``noise_mode`` as in :class:`~stylevideo.nn.stylegan2.SynthesisNetwork`) and, with
    ``resize``, average-pools the image to ``output_size`` (pSp's ``face_pool``, 256).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: Generator,
        latent_avg: Tensor | None,
        start_from_latent_avg: bool = True,
        output_size: int = 256,
    ):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.start_from_latent_avg, self.output_size = start_from_latent_avg, output_size
        if start_from_latent_avg and latent_avg is None:
            raise ValueError("start_from_latent_avg needs a latent_avg")
        self.register_buffer("latent_avg", latent_avg if latent_avg is not None else torch.zeros(0))

    def invert(self, x: Tensor) -> Tensor:
        codes = self.encoder(x)
        if self.start_from_latent_avg:
            codes = codes + self.latent_avg.to(codes.dtype)
        return codes

    def forward(self, x: Tensor, resize: bool = True, noise_mode: str = "const") -> Tensor:
        images = self.decoder.synthesis(self.invert(x), noise_mode)
        if resize and images.shape[-1] != self.output_size:
            images = F.adaptive_avg_pool2d(images, self.output_size)
        return images


_ENCODERS = ("GradualStyleEncoder", "BackboneEncoderUsingLastLayerIntoW")


def backbone_layout(state: dict[str, Tensor], path) -> dict:
    """``in_channels``, ``mode``, ``widths`` and ``units`` of an IR/IR-SE backbone state dict.

    A stage starts at unit 0 and wherever the width grows (true of IR-50/100/152)."""
    if "input_layer.0.weight" not in state:
        raise KeyError(f"{path}: no encoder.input_layer.0.weight; not a pSp checkpoint")
    n = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body."))
    depth = [state[f"body.{i}.res_layer.1.weight"].shape[0] for i in range(n)]
    starts = [0] + [i for i in range(1, n) if depth[i] != depth[i - 1]]
    if len(starts) != 4:
        raise ValueError(f"{path}: backbone widths {depth} do not form four stages")
    return dict(
        in_channels=state["input_layer.0.weight"].shape[1],
        mode="ir_se" if "body.0.res_layer.5.fc1.weight" in state else "ir",
        widths=[depth[i] for i in starts],
        units=[b - a for a, b in zip(starts, starts[1:] + [n], strict=True)],
    )


#: pSp's GradualStyleEncoder: styles below 3 come from c3, below 7 from p2, the rest from p1.
PSP_COARSE, PSP_MIDDLE = 3, 7


def load_psp_checkpoint(path: str | os.PathLike) -> PSP:
    """An official pSp checkpoint -> :class:`PSP` in eval mode (:func:`psp_from_checkpoint`)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"pSp checkpoint {path} does not exist")
    with torch.serialization.safe_globals([argparse.Namespace]):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    return psp_from_checkpoint(ckpt, path)


def psp_from_checkpoint(ckpt: dict, path: object = "checkpoint") -> PSP:
    """The content of an official pSp checkpoint (``{'state_dict', 'opts', 'latent_avg'}``) -> :class:`PSP`.

    The encoder type, input channels, ``learn_in_w``/``start_from_latent_avg`` and the output
    size come from the checkpoint's ``opts``; the number of styles from the decoder
    (``2 log2(res) - 2``), the map2style depths from the convolutions of each style (pSp's
    coarse/middle/fine split at styles 3 and 7). Supported encoders: ``GradualStyleEncoder`` (W+)
    and ``BackboneEncoderUsingLastLayerIntoW`` (W). The decoder's ``w_avg`` is set to
    ``latent_avg`` (its first row for W+).
    """
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise KeyError(
            f"{path}: expected a pSp checkpoint with a 'state_dict' entry, found "
            f"{sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__}"
        )
    state, opts = ckpt["state_dict"], ckpt.get("opts") or {}
    opts = vars(opts) if isinstance(opts, argparse.Namespace) else dict(opts)
    decoder = generator_from_rosinality_state({k[8:]: v for k, v in state.items() if k.startswith("decoder.")}, path)
    encoder_state = {k[8:]: v for k, v in state.items() if k.startswith("encoder.")}
    kind = opts.get("encoder_type", "GradualStyleEncoder")
    layout = backbone_layout(encoder_state, path)
    if kind == "GradualStyleEncoder":
        convs = [
            sum(1 for k in encoder_state if k.startswith(f"styles.{i}.convs.") and k.endswith(".weight"))
            for i in range(sum(1 for k in encoder_state if k.startswith("styles.") and k.endswith("linear.weight")))
        ]
        n = len(convs)
        groups = [convs[:PSP_COARSE], convs[PSP_COARSE:PSP_MIDDLE], convs[PSP_MIDDLE:]]
        if any(len(set(g)) > 1 for g in groups):
            raise ValueError(f"{path}: map2style depths {convs} differ within pSp's coarse/middle/fine groups")
        # a depth of c stride-2 convolutions reaches 1x1 from 2^c pixels (absent groups: pSp's 16/32/64)
        spatial = [2 ** g[0] if g else default for g, default in zip(groups, (16, 32, 64), strict=True)]
        encoder: nn.Module = GradualStyleEncoder(
            n,
            **layout,
            style_dim=encoder_state["latlayer1.weight"].shape[0],
            coarse=min(PSP_COARSE, n),
            middle=min(PSP_MIDDLE, n),
            spatial=spatial,
        )
    elif kind == "BackboneEncoderUsingLastLayerIntoW":
        encoder = PSPEncoderW(encoder_state["linear.weight"].shape[0], **layout)
    else:
        raise ValueError(f"{path}: encoder_type {kind!r} is not supported (supported: {', '.join(_ENCODERS)})")
    encoder.load_state_dict(encoder_state)
    latent_avg = ckpt.get("latent_avg")
    latent_avg = None if latent_avg is None else latent_avg.float()
    if latent_avg is not None:
        decoder.w_avg.copy_(latent_avg if latent_avg.ndim == 1 else latent_avg[0])
        if kind == "GradualStyleEncoder" and latent_avg.ndim == 1:
            latent_avg = latent_avg.expand(decoder.num_ws, -1).clone()
    start = bool(opts.get("start_from_latent_avg", latent_avg is not None))
    return PSP(encoder, decoder, latent_avg, start_from_latent_avg=start).eval()


def official_psp_encoder(psp: Record, source: object = "pickle") -> tuple[dict, dict[str, Tensor], Tensor]:
    """StyleInV's pickled ``pSp`` (``training/networks_psp.py``: an IR-SE backbone into W) ->
    ``(layout, PSPEncoderW state, latent_avg)``; ``layout``: ``mode``, ``in_channels``, ``widths``,
    ``units`` and ``w_dim``. Backbone names are pSp's (ours); the ``linear`` layer's gains are folded."""
    opts = plain(psp.attr("opts", {}))
    if opts.get("encoder_type") != "BackboneEncoderUsingLastLayerIntoW" or not opts.get("learn_in_w", True):
        raise ValueError(f"{source}: pSp encoder {opts.get('encoder_type')!r}; StyleInV's stage 2 is a W encoder")
    encoder = psp["encoder"]
    state = {k: v for k, v in encoder.tensors().items() if k.startswith(("input_layer.", "body."))}
    layout = backbone_layout(state, source)
    ours = PSPEncoderW(encoder.tensors()["linear.weight"].shape[0], 50, **layout)
    state |= fully_connected(encoder["linear"], "linear.", ours.linear)
    latent_avg = psp.tensors().get("latent_avg") if opts.get("start_from_latent_avg", True) else None
    latent_avg = torch.zeros(ours.w_dim) if latent_avg is None else latent_avg.reshape(-1)
    return layout | {"w_dim": ours.w_dim}, state, latent_avg
