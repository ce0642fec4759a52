"""VidStyleODE's spatiotemporal content encoder f_C (vidstyleode.txt section 3, supp. 7, 9.2).

Every frame is inverted into W+ by a frozen inversion network (pSp); the symmetric pooling
``z_C = E[Z]`` (the mean over the frames) makes the content code independent of frame
order. Table 6's ablations are a switch: the first frame's code, or a random frame's.

An inverter is any module mapping frames ``[N, 3, H, W]`` in [-1, 1] to absolute W+ codes
``[N, num_ws, w_dim]`` (latent average included): :class:`PretrainedPSPInverter` (the paper:
pSp, FFHQ for faces) or :class:`StandInInverter`. Without one (``None``), the codes come
precomputed with the frames (the batch key ``inversion``, as the authors' Fashion setting reads
PTI inversions of StyleGAN-Human): :meth:`ContentEncoder.pool` turns them into ``z_C``.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from stylevideo.features.weights import register_weights, resolve_weights
from stylevideo.methods.vidstyleode.frozen import FrozenModule, PretrainedModule, resize_frames
from stylevideo.nn.irse import WIDTHS
from stylevideo.nn.psp import GradualStyleEncoder, load_psp_checkpoint

__all__ = [
    "CONTENT_MODES",
    "ContentEncoder",
    "PSPInverter",
    "PretrainedPSPInverter",
    "StandInInverter",
]

register_weights(
    "psp_ffhq_encode",
    "psp_ffhq_encode.pt",
    url="https://drive.google.com/file/d/1bMTNWkh5LArlaWSc_wa8VKyq2V42T2z0/view",
    description="pSp StyleGAN inversion on FFHQ (pixel2style2pixel, W+ GradualStyleEncoder)",
)

ContentMode = Literal["mean", "first", "random"]
CONTENT_MODES = ("mean", "first", "random")


class ContentEncoder(nn.Module):
    """f_C: ``frames [B, K, 3, H, W] -> z_C [B, num_ws, w_dim]`` through a frozen ``inverter``
    (None: codes only come precomputed, through :meth:`pool`).

    ``mode``: ``"mean"`` (the paper: ``z_C = E[Z]``), ``"first"`` or ``"random"`` (Table 6).
    """

    def __init__(self, inverter: nn.Module | None, mode: ContentMode = "mean"):
        super().__init__()
        if mode not in CONTENT_MODES:
            raise ValueError(f"content mode must be one of {CONTENT_MODES}, got {mode!r}")
        self.inverter, self.mode = inverter, mode
        if inverter is not None:
            self.inverter.requires_grad_(False)

    @torch.no_grad()
    def invert(self, frames: Tensor) -> Tensor:
        """``Z``: the W+ code of every frame, ``[B, K, num_ws, w_dim]``."""
        if self.inverter is None:
            raise ValueError(
                "this VidStyleODE has no inverter: its W+ codes come with the data (batch key 'inversion', "
                "FashionVideoDataModule(inversion_root=...)); set model.init_args.inverter to invert frames"
            )
        if frames.ndim != 5:
            raise ValueError(f"ContentEncoder expects frames [B, K, 3, H, W], got {tuple(frames.shape)}")
        codes = self.inverter(rearrange(frames, "b k c h w -> (b k) c h w"))
        return rearrange(codes.float(), "(b k) l d -> b k l d", b=frames.shape[0])

    def pool(self, codes: Tensor, mode: ContentMode | None = None) -> Tensor:
        """``Z [B, K, L, D] -> z_C [B, L, D]`` by ``mode`` (default: the encoder's)."""
        mode = mode or self.mode
        if mode == "mean":
            return codes.mean(dim=1)
        if mode == "first":
            return codes[:, 0]
        if mode == "random":
            pick = torch.randint(codes.shape[1], (codes.shape[0],), device=codes.device)
            return codes[torch.arange(codes.shape[0], device=codes.device), pick]
        raise ValueError(f"content mode must be one of {CONTENT_MODES}, got {mode!r}")

    def forward(self, frames: Tensor, mode: ContentMode | None = None) -> Tensor:
        return self.pool(self.invert(frames), mode)


class StandInInverter(FrozenModule):
    """STAND-IN for pSp: a random-weight strided CNN to W+ codes (``scale`` * linear output).

    It inverts nothing; it has the inverter interface so the method runs without pSp.
    """

    def __init__(
        self,
        num_ws: int = 8,
        w_dim: int = 64,
        channels: int = 16,
        input_size: int = 32,
        scale: float = 0.5,
    ):
        super().__init__()
        self.num_ws, self.w_dim, self.input_size, self.scale = num_ws, w_dim, input_size, scale
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.to_ws = nn.Linear(channels, num_ws * w_dim)
        self.freeze()

    def forward(self, images: Tensor) -> Tensor:
        x = resize_frames(images, (self.input_size, self.input_size))
        ws = self.scale * self.to_ws(F.normalize(self.features(x), dim=1))
        return rearrange(ws, "n (l d) -> n l d", l=self.num_ws)


class PSPInverter(FrozenModule):
    """pSp inversion (Richardson et al. 2021): frames resized to ``input_size`` (pSp's 256),
    ``E(x) + latent_avg``; a W encoder's single code is used for every layer."""

    def __init__(self, encoder: nn.Module, latent_avg: Tensor, input_size: int = 256):
        super().__init__()
        self.encoder, self.input_size = encoder, input_size
        self.num_ws, self.w_dim = latent_avg.shape
        self.register_buffer("latent_avg", latent_avg.float().clone())
        self.freeze()

    def forward(self, images: Tensor) -> Tensor:
        codes = self.encoder(resize_frames(images, (self.input_size, self.input_size)))
        if codes.ndim == 2:
            codes = codes[:, None].expand(-1, self.num_ws, -1)
        return codes + self.latent_avg.to(codes.dtype)


class PretrainedPSPInverter(PretrainedModule, PSPInverter):
    """:class:`PSPInverter` from an official pSp checkpoint (only the encoder and ``latent_avg``
    are kept). ``num_ws``, ``w_dim``: the W+ shape it must produce (FFHQ 1024: 18 x 512)."""

    def __init__(
        self,
        weights: str = "psp_ffhq_encode",
        path: str | None = None,
        num_ws: int = 18,
        w_dim: int = 512,
        input_size: int = 256,
    ):
        with torch.device("meta"):
            # pSp's layout (coarse 3, middle 7) until the checkpoint's own replaces it
            encoder = GradualStyleEncoder(
                num_ws,
                widths=(*WIDTHS[:3], w_dim),
                style_dim=w_dim,
                coarse=min(3, num_ws),
                middle=min(7, num_ws),
            )
            PSPInverter.__init__(self, encoder, torch.empty(num_ws, w_dim), input_size)
        self.weights, self.path = weights, path

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """The file :meth:`load` reads (any stage: the weights are not in checkpoints)."""
        return {self.weights: self.path}

    def load(self) -> None:
        file = resolve_weights(self.weights, self.path)
        psp = load_psp_checkpoint(file)
        shape = (psp.decoder.num_ws, psp.decoder.w_dim)
        if shape != (self.num_ws, self.w_dim):
            raise ValueError(
                f"{file}: a pSp for {shape[0]} x {shape[1]} W+ codes; the configuration "
                f"declares num_ws={self.num_ws}, w_dim={self.w_dim}"
            )
        self.encoder = psp.encoder
        avg = psp.latent_avg if psp.start_from_latent_avg else None
        self.latent_avg = torch.zeros(shape) if avg is None else avg.float().expand(*shape).clone()
