"""Fine-tuning-based style transfer (section 3.5, Fig. 5, appendix F).

The stage-1 StyleGAN2 is fine-tuned on an image dataset (e.g. cartoons) with its mapping
network and every synthesis layer at resolution <= 32 frozen, so the W space keeps its
meaning; besides the adversarial loss, a perceptual loss (LPIPS-VGG, weight 30 in the
authors' command) and an identity loss (ArcFace, weight 1) tie the fine-tuned images to
the parent's for the same ``w`` and noise. Training is otherwise the parent's (StyleGAN2
with R1, EMA, ADA; the authors disable path-length regularisation and let ADA react faster,
``ada_kimg=100``, when fine-tuning). Any StyleInV model of the parent then decodes its
latents with the fine-tuned generator (``StyleInV.decode(w_t, generator)``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from stylevideo.data_modules.base import ClipRecord, VideoDataModule
from stylevideo.methods.psp import IdentityLoss
from stylevideo.methods.stylegan2 import StyleGAN2
from stylevideo.methods.styleinv.checkpoints import GENERATOR_ARCH, read_checkpoint
from stylevideo.nn.gan_losses import g_nonsaturating_loss
from stylevideo.nn.stylegan2 import Generator
from stylevideo.video.io import list_frame_files
from stylevideo.video.sampling import FrameSampler, RandomFrames

__all__ = ["ImageFolderDataModule", "StyleTransferFinetune", "frozen_parameter_names"]


def frozen_parameter_names(g: Generator, max_frozen_res: int = 32) -> set[str]:
    """Names of the generator parameters fixed during fine-tuning: the mapping network and the
    synthesis layers whose resolution is at most ``max_frozen_res`` (the 4x4 input, conv and
    ToRGB, then for ``convs[2j]``, ``convs[2j+1]``, ``to_rgbs[j]`` resolution ``2^(j+3)``)."""
    frozen = set()
    for name, _ in g.named_parameters():
        parts = name.split(".")
        if parts[0] == "mapping" or parts[1] in ("input", "conv1", "to_rgb1"):
            frozen.add(name)
        elif parts[1] == "convs" and 2 ** (int(parts[2]) // 2 + 3) <= max_frozen_res:
            frozen.add(name)
        elif parts[1] == "to_rgbs" and 2 ** (int(parts[2]) + 3) <= max_frozen_res:
            frozen.add(name)
    return frozen


class StyleTransferFinetune(StyleGAN2):
    """StyleGAN2 fine-tuning from the stage-1 checkpoint with frozen low-resolution layers and
    perceptual + identity losses against the frozen parent ``G_raw``.

    Args:
        generator_ckpt: the parent (a StyleGAN2 Lightning checkpoint: G, G_ema and D are loaded).
        max_frozen_res: highest frozen synthesis resolution (32).
        perceptual_weight, identity_weight: loss weights (30, 1; 0 switches a term off, e.g. the
            identity loss for non-face images).
        perceptual_pretrained: LPIPS-VGG with the ImageNet backbone (``vgg16_weights`` or the
            weight cache); False uses a random backbone (CPU smoke runs).
        arcface_weights: the ArcFace IR-SE50 file (else the weight cache).
        styleinv_ckpt: a StyleInV checkpoint of the parent; then ``sample_videos`` shows its
            videos decoded by the fine-tuned generator (section 3.5, Fig. 9).
        Other arguments: :class:`~stylevideo.methods.stylegan2.StyleGAN2`'s (defaults: the
        authors' fine-tuning settings).
    """

    def __init__(
        self,
        generator_ckpt: str | None = None,
        max_frozen_res: int = 32,
        perceptual_weight: float = 30.0,
        identity_weight: float = 1.0,
        perceptual_pretrained: bool = True,
        vgg16_weights: str | None = None,
        arcface_weights: str | None = None,
        styleinv_ckpt: str | None = None,
        lr: float = 0.002,
        betas: tuple[float, float] = (0.0, 0.99),
        r1_gamma: float = 10.0,
        r1_interval: int = 16,
        style_mixing: float = 0.9,
        ema_kimg: float = 10.0,
        ada_target: float | None = 0.6,
        ada_interval: int = 4,
        ada_kimg: float = 100.0,
        mbstd_group: int = 4,
        sample_psi: float = 1.0,
    ):
        ckpt = read_checkpoint(
            generator_ckpt,
            "generator_ckpt",
            "stage 1 (lightning fit --config experiments/stylegan2_<dataset>.yaml)",
        )
        parent, state = ckpt.get("hyper_parameters", {}), ckpt.get("state_dict", {})
        if not any(k.startswith("D.") for k in state):
            raise KeyError(
                f"generator_ckpt={generator_ckpt} is not a StyleGAN2 Lightning checkpoint "
                "(no D.*): "
                "fine-tuning needs the parent's generator and discriminator"
            )
        arch = {k: parent[k] for k in GENERATOR_ARCH}
        super().__init__(
            **arch,
            lr=lr,
            betas=betas,
            r1_gamma=r1_gamma,
            r1_interval=r1_interval,
            pl_weight=0.0,
            style_mixing=style_mixing,
            ema_kimg=ema_kimg,
            noise_mode=parent.get("noise_mode", "random"),
            ada_target=ada_target,
            ada_interval=ada_interval,
            ada_kimg=ada_kimg,
            mbstd_group=mbstd_group,
            sample_psi=sample_psi,
        )
        own = {k: v for k, v in state.items() if k.split(".")[0] in ("G", "G_ema", "D")}
        self.load_state_dict(own, strict=False)
        self.G_raw = self.make_ema(self.G_ema)
        self.frozen = frozen_parameter_names(self.G, max_frozen_res)
        for name, p in self.G.named_parameters():
            p.requires_grad_(name not in self.frozen)
        self._perceptual, self._identity, self._styleinv = [], [], []
        if perceptual_weight > 0:
            from stylevideo.features.lpips_vgg import lpips_vgg

            self._perceptual = [lpips_vgg(vgg16_weights, perceptual_pretrained)]
        if identity_weight > 0:
            from stylevideo.features.arcface import load_arcface

            self._identity = [IdentityLoss(load_arcface(arcface_weights))]
        if styleinv_ckpt is not None:
            from stylevideo.methods.styleinv.model import StyleInV

            self._styleinv = [StyleInV.load_from_checkpoint(styleinv_ckpt, map_location="cpu").eval()]

    @classmethod
    def required_weights(
        cls, hparams, stage: str | None = None, module: StyleTransferFinetune | None = None
    ) -> dict[str, str | None]:
        """LPIPS-VGG16 (perceptual loss) and ArcFace (identity loss), read when built; see
        :mod:`stylevideo.features.requirements`."""
        from stylevideo.features.arcface import ARCFACE_WEIGHTS
        from stylevideo.features.lpips_vgg import VGG16_WEIGHTS

        out = {}
        if hparams["perceptual_weight"] > 0 and hparams["perceptual_pretrained"]:
            out[VGG16_WEIGHTS] = hparams["vgg16_weights"]
        if hparams["identity_weight"] > 0:
            out[ARCFACE_WEIGHTS] = hparams["arcface_weights"]
        return out

    @classmethod
    def required_files(
        cls, hparams, stage: str | None = None, module: StyleTransferFinetune | None = None
    ) -> dict[str, tuple[str | None, str]]:
        """The parent StyleGAN2 checkpoint and, if set, the StyleInV checkpoint it decodes."""
        parent = "the StyleGAN2 Lightning checkpoint of stage 1 (experiments/stylegan2_<dataset>.yaml)"
        out = {"generator_ckpt": (hparams["generator_ckpt"], parent)}
        if hparams["styleinv_ckpt"] is not None:
            out["styleinv_ckpt"] = (hparams["styleinv_ckpt"], "a StyleInV checkpoint of the parent generator")
        return out

    def train(self, mode: bool = True):
        super().train(mode)
        self.G_raw.eval()
        return self

    def configure_optimizers(self):
        """As StyleGAN2's, with only the trainable generator parameters (no path length)."""
        hp = self.hparams
        opt_g = torch.optim.Adam([p for p in self.G.parameters() if p.requires_grad], lr=hp.lr, betas=tuple(hp.betas))
        return [opt_g, super().configure_optimizers()[1]]

    def transfer_losses(self, images: Tensor, ws: Tensor, noise: list[Tensor]) -> dict[str, Tensor]:
        """Perceptual and identity terms between the fine-tuned images and the parent's
        ``G_raw(ws)`` with the same noise (section 3.5)."""
        hp, losses = self.hparams, {}
        with torch.no_grad():
            raw = self.G_raw.synthesis(ws, noise=noise)
        if self._perceptual:
            losses["perceptual"] = hp.perceptual_weight * self._perceptual[0].to(images.device)(images, raw).mean()
        if self._identity:
            losses["id"] = hp.identity_weight * self._identity[0].to(images.device)(images, raw)
        return losses

    def generator_losses(self, step: dict) -> dict[str, Tensor]:
        """The adversarial loss plus the transfer losses (section 3.5); the other phases are
        StyleGAN2's (:class:`~stylevideo.methods.gan.StyleGAN2Loop`)."""
        hp = self.hparams
        ws = self.G.mix_styles(self.G.map(self.z(step["n"]), update_w_avg=True), hp.style_mixing)
        noise = self.G.synthesis.make_noise(step["n"], "random", self.device)
        images = self.G.synthesis(ws, noise=noise)
        losses = {"adv": g_nonsaturating_loss(self.D(self.augment(images)))}
        return losses | self.transfer_losses(images, ws.detach(), noise)

    @torch.no_grad()
    def sample_videos(
        self,
        n: int,
        num_frames: int,
        *,
        fps_scale: float = 1.0,
        seed: int | None = None,
        **conditions,
    ) -> Tensor:
        """With ``styleinv_ckpt``: StyleInV videos decoded by the fine-tuned EMA generator (the
        style-transferred videos); otherwise still images, as StyleGAN2."""
        if not self._styleinv:
            return super().sample_videos(n, num_frames, fps_scale=fps_scale, seed=seed, **conditions)
        styleinv = self._styleinv[0].to(self.device)
        return styleinv.sample_videos(n, num_frames, fps_scale=fps_scale, seed=seed, generator=self.G_ema)


class ImageFolderDataModule(VideoDataModule):
    """A folder of images (png/jpg) as training data: one frame per item (the fine-tuning set).

    The folder is read as one frame folder; every epoch draws ``samples_per_epoch`` random
    images (default: as many as there are files)."""

    layout = "a folder of .png/.jpg images"

    def __init__(
        self,
        root: str | None = None,
        resolution: int | tuple[int, int] = 256,
        sampler: FrameSampler | None = None,
        batch_size: int = 8,
        num_workers: int = 0,
        samples_per_epoch: int | None = None,
        seed: int = 0,
        strict: bool = False,
    ):
        super().__init__(
            root,
            resolution,
            sampler or RandomFrames(1),
            batch_size,
            num_workers,
            True,
            samples_per_epoch,
            1,
            strict,
            seed,
        )

    def build_index(self) -> list[ClipRecord]:
        root = self.check_root()
        count = len(list_frame_files(root))
        if self.samples_per_epoch is None:
            self.samples_per_epoch = count
        return [ClipRecord(Path(root), count, root.name, split=split) for split in ("train", "val")]
