"""Image StyleGAN2 trained on the frames of a video dataset (Karras et al., CVPR 2020).

StyleInV's stage 1 (styleinv.txt appendix F: "The StyleGAN2 image generator is firstly
trained on all frames of the video dataset with class-aware sampling") and the
pretrained generators of the other methods come from here. Defaults are config-f's:
Adam lr 0.002, betas (0, 0.99); R1 gamma 10 every 16 iterations; path length weight 2
every 4 iterations on half the batch; style mixing 0.9; G EMA with a 10 kimg half-life.
ADA (``ada_target``, off by default as in StyleGAN2; StyleInV's code base uses 0.6).
"""

from __future__ import annotations

import torch
from einops import rearrange, repeat

from stylevideo.methods.gan import StyleGAN2Loop
from stylevideo.nn.ada import AdaptiveAugment, AugmentPipe
from stylevideo.nn.gan_losses import (
    d_logistic_loss,
    g_nonsaturating_loss,
    lazy_regularization_adam,
    r1_penalty,
)
from stylevideo.nn.stylegan2 import Discriminator, Generator, NoiseMode

__all__ = ["StyleGAN2"]


class StyleGAN2(StyleGAN2Loop):
    """StyleGAN2 G + residual D with lazy R1 / path-length regularisation, EMA and ADA.

    Batches are the data layer's dicts; every frame of ``frames [B,T,3,H,W]`` is one
    training image. ``sample_videos`` returns still videos (the EMA generator's image
    repeated), so the whole generation interface works from the image model.
    """

    def __init__(
        self,
        resolution: int = 256,
        z_dim: int = 512,
        w_dim: int = 512,
        mapping_layers: int = 8,
        channel_base: int = 32768,
        channel_max: int = 512,
        lr: float = 0.002,
        betas: tuple[float, float] = (0.0, 0.99),
        r1_gamma: float = 10.0,
        r1_interval: int = 16,
        pl_weight: float = 2.0,
        pl_interval: int = 4,
        pl_batch_shrink: int = 2,
        pl_decay: float = 0.01,
        style_mixing: float = 0.9,
        ema_kimg: float = 10.0,
        noise_mode: NoiseMode = "random",
        ada_target: float | None = None,
        ada_interval: int = 4,
        ada_kimg: float = 500.0,
        mbstd_group: int = 4,
        sample_psi: float = 1.0,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.G = Generator(resolution, z_dim, w_dim, mapping_layers, channel_base, channel_max, noise_mode=noise_mode)
        self.D = Discriminator(resolution, channel_base, channel_max, mbstd_group=mbstd_group)
        self.G_ema = self.make_ema(self.G)
        self.ada = (
            AdaptiveAugment(AugmentPipe.bgc(), target=ada_target, interval=ada_interval, ada_kimg=ada_kimg)
            if ada_target is not None
            else None
        )
        self.register_buffer("mean_path_length", torch.zeros(()))

    def train(self, mode: bool = True):
        """The EMA generator stays in eval mode (it never tracks w_avg or batch statistics)."""
        super().train(mode)
        self.G_ema.eval()
        return self

    def configure_optimizers(self):
        hp = self.hparams
        opt_g = torch.optim.Adam(
            self.G.parameters(), **lazy_regularization_adam(hp.lr, hp.betas, hp.pl_interval if hp.pl_weight > 0 else 0)
        )
        opt_d = torch.optim.Adam(
            self.D.parameters(), **lazy_regularization_adam(hp.lr, hp.betas, hp.r1_interval if hp.r1_gamma > 0 else 0)
        )
        return [opt_g, opt_d]

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return self.ada(images) if self.ada is not None else images

    def z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.hparams.z_dim, device=self.device)

    # -- the phases of StyleGAN2Loop's iteration ----------------------------------------------
    def prepare_step(self, batch: dict) -> dict:
        real = rearrange(batch["frames"], "b t c h w -> (b t) c h w")
        return {"real": real, "n": real.shape[0]}

    def discriminator_losses(self, step: dict) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        with torch.no_grad():
            fake = self.G(self.z(step["n"]), mixing_prob=self.hparams.style_mixing)
        real_logits = self.D(self.augment(step["real"]))
        return {"d": d_logistic_loss(real_logits, self.D(self.augment(fake)))}, real_logits

    def r1_penalties(self, step: dict) -> dict[str, torch.Tensor]:
        real = step["real"].detach().float().requires_grad_(True)
        return {"r1": r1_penalty(self.D(self.augment(real)), real)}

    def generator_losses(self, step: dict) -> dict[str, torch.Tensor]:
        fake = self.G(self.z(step["n"]), mixing_prob=self.hparams.style_mixing)
        return {"g": g_nonsaturating_loss(self.D(self.augment(fake)))}

    def path_length_sample(self, step: dict, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.G(self.z(m), mixing_prob=self.hparams.style_mixing, return_ws=True)

    def _held_out_d_sign(self, batch: dict, stage: str) -> None:
        """``r_v``: the mean sign of D on held-out real frames (ADA, section 3: compared with
        ``r_t`` on training frames it shows D overfitting). FVD/FID come from metric callbacks."""
        real = rearrange(batch["frames"], "b t c h w -> (b t) c h w")
        self.log(f"{stage}/d_real_sign", self.D(real).sign().mean(), batch_size=real.shape[0], sync_dist=True)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._held_out_d_sign(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._held_out_d_sign(batch, "test")

    @torch.no_grad()
    def sample_videos(
        self, n: int, num_frames: int, *, fps_scale: float = 1.0, seed: int | None = None, **conditions
    ) -> torch.Tensor:
        """``[n, num_frames, 3, H, W]`` in [-1, 1]: one EMA-generator image per video, repeated."""
        if conditions:
            raise ValueError(f"StyleGAN2 is unconditional; got conditions {sorted(conditions)}")
        gen = torch.Generator(self.device)
        gen.manual_seed(seed if seed is not None else int(torch.randint(2**31, ())))
        z = torch.randn(n, self.hparams.z_dim, device=self.device, generator=gen)
        images = self.G_ema(z, psi=self.hparams.sample_psi, noise_mode="const").clamp(-1, 1)
        return repeat(images, "n c h w -> n t c h w", t=num_frames)
