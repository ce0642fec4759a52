"""LIA as a LightningModule: self-supervised training on source/driving pairs (section 3.3).

One iteration, as in the authors' trainer: the generator phase on Eq. 10
``L = L_recon + lambda L_vgg + L_adv`` (the counted step), then the discriminator phase
(non-saturating logistic loss on ``x_d`` against the detached ``x_{s->d}``). Defaults are the
paper's (section 4): Adam lr 0.002, lambda = 10, M = 20, N = 512; the StyleGAN2 discriminator
at the authors' widths (channel multiplier 1). Where the paper is silent, the authors' trainer:
Adam's lr and betas adjusted as for StyleGAN2's lazy regularisation (G every 4, D every 16
iterations; G lr 0.0016, betas (0, 0.992), D lr 0.00188, betas (0, 0.9906)), and the pair
augmentation of :mod:`~stylevideo.methods.lia.augment` (TaiChi, TED). Batches come from the
:class:`~stylevideo.video.sampling.SourceDriving` sampler: ``frames [B, 2, 3, H, W]`` =
(x_s, x_d), two random frames of one video.
"""

from __future__ import annotations

import torch
from torch import nn

from stylevideo.features.vgg import PERCEPTUAL_LAYERS, VGG19_WEIGHTS, vgg19_features
from stylevideo.methods.gan import GANModule
from stylevideo.methods.lia.augment import PairAugment
from stylevideo.methods.lia.autoencoder import LIAAutoencoder
from stylevideo.methods.lia.losses import PerceptualLoss, reconstruction_loss
from stylevideo.nn.gan_losses import (
    d_logistic_loss,
    g_nonsaturating_loss,
    lazy_regularization_adam,
    r1_penalty,
)
from stylevideo.nn.stylegan2 import Discriminator

__all__ = ["LIA"]


class LIA(GANModule):
    """Latent Image Animator (Wang et al., ICLR 2022).

    Args:
        resolution: image size (256 in the paper; G has ``log2(resolution) - 2`` blocks).
        latent_dim: N, the size of latent codes and directions (512).
        motion_dim: M, the number of directions in D_m (20; Table 5 ablates 5..100).
        motion_dictionary: False for Table 4's ablation (the MLP outputs ``w_{r->d}``).
        mlp_layers, mlp_activation: the magnitude MLP (5 layers; the authors' have no activation).
        channel_base, channel_max: widths ``min(channel_base // res, channel_max)`` of E, G and D
            (16384 / 512: the authors' channel multiplier 1).
        align_corners: warping convention of ``grid_sample``: False, the authors' (their
            checkpoints and ours are interchangeable); True only for models trained with it
            before (they cannot be exported to the authors' layout), see
            :func:`~stylevideo.methods.lia.networks.warp`.
        lr, betas: Adam, for G (E, MLP, D_m, G) and D (the paper's lr 0.002; StyleGAN2's betas).
        g_reg_every: G's Adam is set as for a regulariser every ``g_reg_every`` iterations
            (``lr * c``, ``beta ** c``, ``c = k / (k + 1)``), as in the authors' trainer, which
            runs none (4; 0: ``lr``, ``betas`` as given). D's uses ``r1_interval`` (16) alike.
        augment_crop, augment_flip, augment_jitter: the pair augmentation (crop fraction, flip,
            colour jitter; :class:`~stylevideo.methods.lia.augment.PairAugment`): TaiChi
            0.875 / True / 0.1, TED None / True / 0.1, VoxCeleb none (the authors').
        lambda_recon, lambda_vgg, lambda_adv: weights of Eq. 10 (1, 10, 1).
        vgg_scales: the image pyramid of the perceptual loss (256, 128, 64, 32 at 256x256).
        vgg_weights: VGG19 file (default: ``vgg19-dcbb9e9d.pth`` in the weight cache folder).
        r1_gamma, r1_interval: optional lazy R1 on D (not in the paper or the authors' trainer: 0);
            ``r1_interval`` also sets D's Adam adjustment (the authors' ``d_reg_every`` = 16).
        mbstd_group: minibatch-std group of D.
        animate_chunk: frames decoded at once by :meth:`animate`.
        channels_last: train with channels-last convolutions (None: on the CPU only, where
            oneDNN runs them about 20% faster; the grouped modulated convs stay as they are).
    """

    def __init__(
        self,
        resolution: int = 256,
        latent_dim: int = 512,
        motion_dim: int = 20,
        motion_dictionary: bool = True,
        mlp_layers: int = 5,
        mlp_activation: str | None = None,
        channel_base: int = 16384,
        channel_max: int = 512,
        align_corners: bool = False,
        lr: float = 0.002,
        betas: tuple[float, float] = (0.0, 0.99),
        g_reg_every: int = 4,
        augment_crop: float | None = None,
        augment_flip: bool = False,
        augment_jitter: float = 0.0,
        lambda_recon: float = 1.0,
        lambda_vgg: float = 10.0,
        lambda_adv: float = 1.0,
        vgg_scales: tuple[float, ...] = (1.0, 0.5, 0.25, 0.125),
        vgg_weights: str | None = None,
        r1_gamma: float = 0.0,
        r1_interval: int = 16,
        mbstd_group: int = 4,
        animate_chunk: int = 16,
        channels_last: bool | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        if lambda_vgg > 0 and resolution < PerceptualLoss.min_resolution(vgg_scales):
            raise ValueError(
                f"vgg_scales={tuple(vgg_scales)} at resolution {resolution}: the coarsest level is "
                "too small for VGG19 up to relu5_1 (needs resolution >= "
                f"{PerceptualLoss.min_resolution(vgg_scales)}); "
                "drop the smallest scales"
            )
        self.autoencoder = LIAAutoencoder(
            resolution,
            latent_dim,
            motion_dim,
            motion_dictionary,
            mlp_layers,
            mlp_activation,
            channel_base,
            channel_max,
            align_corners,
        )
        self.D = Discriminator(resolution, channel_base, channel_max, mbstd_group=mbstd_group)
        #: Adam states ``(G, D)`` in the layout of :meth:`configure_optimizers`' optimizers, loaded
        #: there (``load_official_checkpoint`` imports the authors' ``g_optim``/``d_optim``); a run
        #: resumed from one of our checkpoints then restores its own states over them.
        self.initial_optimizer_states: tuple[dict | None, dict | None] = (None, None)
        self.augment = PairAugment(augment_crop, augment_flip, augment_jitter)
        # The frozen VGG19 stays out of the module tree: not in checkpoints, loaded only to train.
        object.__setattr__(self, "_perceptual", None)

    @classmethod
    def required_weights(cls, hparams, stage: str | None = None, module: LIA | None = None) -> dict[str, str | None]:
        """VGG19 for Eq. 8 when training with ``lambda_vgg > 0`` (unless ``module`` already holds
        its perceptual network); see :mod:`stylevideo.features.requirements`."""
        needed = stage in (None, "fit") and hparams["lambda_vgg"] > 0
        if not needed or (module is not None and module._perceptual is not None):
            return {}
        return {VGG19_WEIGHTS: hparams["vgg_weights"]}

    # -- perceptual network ------------------------------------------------------------------------
    def set_vgg(self, vgg: nn.Module) -> None:
        """Use ``vgg`` (images -> list of feature maps) for Eq. 8 instead of VGG19's weights."""
        object.__setattr__(
            self,
            "_perceptual",
            PerceptualLoss(vgg.requires_grad_(False).eval(), self.hparams.vgg_scales),
        )

    def perceptual_loss(self) -> PerceptualLoss:
        """Eq. 8's loss module on this module's device (VGG19 loaded on first use)."""
        if self._perceptual is None:
            self.set_vgg(vgg19_features(PERCEPTUAL_LAYERS, self.hparams.vgg_weights))
        return self._perceptual.to(self.device)

    def on_fit_start(self) -> None:
        if self.hparams.lambda_vgg > 0:
            self.perceptual_loss()  # a missing VGG19 file fails here, before any step
        self.apply_memory_format()

    # -- memory format -----------------------------------------------------------------------------
    def uses_channels_last(self) -> bool:
        cl = self.hparams.channels_last
        return self.device.type == "cpu" if cl is None else cl

    def apply_memory_format(self) -> None:
        """Store the 4-D weights (E, G, D, VGG) channels-last or contiguous (``channels_last``)."""
        fmt = torch.channels_last if self.uses_channels_last() else torch.contiguous_format
        modules = [self.autoencoder, self.D] + ([self._perceptual] if self._perceptual is not None else [])
        for module in modules:
            for p in module.parameters():
                if p.ndim == 4:
                    p.data = p.data.contiguous(memory_format=fmt)

    def to_memory_format(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, 3, H, W]`` in the training memory format."""
        fmt = torch.channels_last if self.uses_channels_last() else torch.contiguous_format
        return x.contiguous(memory_format=fmt)

    # -- training ----------------------------------------------------------------------------------
    def optimized_parameters(self) -> tuple[list[tuple[str, nn.Parameter]], list[tuple[str, nn.Parameter]]]:
        """The named parameters of the G optimizer (E, MLP, D_m, G without the frozen noise
        strengths) and of the D optimizer, in the optimizers' order."""
        g = [(name, p) for name, p in self.autoencoder.named_parameters() if p.requires_grad]
        return g, list(self.D.named_parameters())

    def configure_optimizers(self):
        hp = self.hparams
        g_params, d_params = ([p for _, p in named] for named in self.optimized_parameters())
        opt_g = torch.optim.Adam(g_params, **lazy_regularization_adam(hp.lr, hp.betas, hp.g_reg_every))
        opt_d = torch.optim.Adam(d_params, **lazy_regularization_adam(hp.lr, hp.betas, hp.r1_interval))
        for opt, state in zip((opt_g, opt_d), self.initial_optimizer_states, strict=True):
            if state is not None:
                opt.load_state_dict(state)
        return [opt_g, opt_d]

    @staticmethod
    def source_driving(batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        frames = batch["frames"]
        if frames.ndim != 5 or frames.shape[1] != 2:
            raise ValueError(
                "LIA trains on (source, driving) pairs: batch['frames'] must be [B, 2, 3, H, W] "
                f"(sampler SourceDriving), got {tuple(frames.shape)}"
            )
        return frames[:, 0], frames[:, 1]

    def generator_losses(self, x_sd: torch.Tensor, x_d: torch.Tensor) -> dict[str, torch.Tensor]:
        """The weighted terms of Eq. 10: recon (Eq. 7), vgg (Eq. 8), adv (Eq. 9)."""
        hp = self.hparams
        losses = {"recon": hp.lambda_recon * reconstruction_loss(x_sd, x_d)}
        if hp.lambda_vgg > 0:
            losses["vgg"] = hp.lambda_vgg * self.perceptual_loss()(x_sd, x_d)
        if hp.lambda_adv > 0:
            losses["adv"] = hp.lambda_adv * g_nonsaturating_loss(self.D(x_sd))
        return losses

    def training_step(self, batch: dict, batch_idx: int) -> None:
        hp = self.hparams
        x_s, x_d = map(self.to_memory_format, self.augment(*self.source_driving(batch)))
        opt_g, opt_d = self.optimizers()
        it = self.iteration
        logs = {}

        with self.toggled_optimizer(opt_g):
            x_sd = self.autoencoder(x_s, x_d)
            losses = self.generator_losses(x_sd, x_d)
            logs["loss/g"] = self.optimize(opt_g, losses, counted=True)
            logs.update({f"loss/{k}": v.detach() for k, v in losses.items()})

        if hp.lambda_adv > 0:
            with self.toggled_optimizer(opt_d):
                x_sd = x_sd.detach()
                logs["loss/d"] = self.optimize(opt_d, {"d": d_logistic_loss(self.D(x_d), self.D(x_sd))})
                if hp.r1_gamma > 0 and it % hp.r1_interval == 0:
                    real = x_d.detach().float().requires_grad_(True)
                    with torch.autocast(self.device.type, enabled=False):
                        r1 = r1_penalty(self.D(real), real)
                    self.optimize(opt_d, {"r1": hp.r1_gamma / 2 * r1 * hp.r1_interval})
                    logs["loss/r1"] = r1.detach()
        self.log_dict(logs, prog_bar=True, batch_size=x_s.shape[0])

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Reconstruction of ``x_d`` from ``x_s``: ``val/l1`` (pixels in [0, 1], Table 1)."""
        x_s, x_d = self.source_driving(batch)
        x_sd = self.autoencoder(x_s, x_d).clamp(-1, 1)
        self.log("val/l1", (x_sd - x_d).abs().mean() / 2, batch_size=x_s.shape[0], sync_dist=True)

    # -- generation interface ---------------------------------------------------------------
    @torch.no_grad()
    def animate(self, source: torch.Tensor, driving: torch.Tensor, *, relative: bool = True) -> torch.Tensor:
        """Animate ``source [B, 3, H, W]`` with ``driving [B, T, 3, H, W]``: ``[B, T, 3, H, W]``.

        ``relative=True``: relative transfer (Eq. 12, cross-identity); False: absolute (Eq. 11,
        same-identity reconstruction with the first frame as source).
        """
        self.apply_memory_format()
        was_training = self.autoencoder.training
        self.autoencoder.eval()
        try:
            out = self.autoencoder.animate(
                source.to(self.device),
                driving.to(self.device),
                relative,
                chunk=self.hparams.animate_chunk,
            )
        finally:
            self.autoencoder.train(was_training)
        return out.clamp(-1, 1)

    @torch.no_grad()
    def reference_image(self, source: torch.Tensor) -> torch.Tensor:
        """``x_r`` of each source image (appendix B.4), in [-1, 1]."""
        return self.autoencoder.reference_image(source.to(self.device)).clamp(-1, 1)

    @torch.no_grad()
    def manipulate(self, source: torch.Tensor, direction: int, magnitudes: torch.Tensor | None = None) -> torch.Tensor:
        """Walk ``z_{s->s}`` along ``d_direction`` (Fig. 6): ``[B, K, 3, H, W]`` in [-1, 1].

        Default magnitudes: 16 steps over [-3, 3), the authors' linear-manipulation demo.
        """
        if magnitudes is None:
            magnitudes = torch.arange(16) * (6 / 16) - 3
        return self.autoencoder.manipulate(source.to(self.device), direction, magnitudes).clamp(-1, 1)
