"""StyleInV stage 3: the motion generator trained with first-frame-aware sparse training.

Section 3.4, Eq. 3-6 and appendix F. Per iteration (the authors' phase order):

1. Encoder step (the counted step): ``w0 = f(z)`` from the frozen mapping network,
   ``x0 = G(w0)``, ``y_t = G(StyleInV(w0, t))`` (Eq. 2) at ``t0 = 0`` and three sparse
   times (Eq. 3); loss ``lambda_adv softplus(-D([x0, y_t1..3], delta))`` (Eq. 3, 6)
   ``+ lambda_L2 L_L2`` (Eq. 4) ``+ lambda_reg L_reg`` (Eq. 5).
2. Discriminator step on fresh fakes and on real clips ``[x_0, x_t1..3]`` (``t0 = 0``, the
   :class:`~stylevideo.video.sampling.SparseFrames` sampler), with lazy R1 (gamma 1, every
   ``r1_interval`` iterations) and ADA (``bgc``, target 0.6, one transform per video).

G is frozen and synthesises with one constant noise for every frame (``noise_mode``).
Generation (``sample_videos``, ``animate``) uses the EMA copy of the motion generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from stylevideo.methods.gan import GANModule, ema_beta
from stylevideo.methods.styleinv.checkpoints import (
    STAGE_INPUTS,
    build_generator,
    load_generator,
    load_inversion_encoder,
)
from stylevideo.methods.styleinv.discriminator import SparseVideoDiscriminator
from stylevideo.methods.styleinv.encoder import StyleInVNet
from stylevideo.nn.ada import AdaptiveAugment, AugmentPipe
from stylevideo.nn.gan_losses import (
    d_logistic_loss,
    g_nonsaturating_loss,
    lazy_regularization_adam,
    r1_penalty,
)
from stylevideo.nn.psp import PSPEncoderW
from stylevideo.nn.stylegan2 import Generator

__all__ = ["StyleInV", "ffhq_aligned", "first_frame_l2", "latent_regularization", "sample_sparse_times"]


def first_frame_l2(x0: Tensor, y0: Tensor) -> Tensor:
    """Eq. 4, ``L_L2 = ||G(w0) - G(StyleInV(w0, 0))||``: the mean squared pixel error, as in the
    authors' implementation (``lambda_L2 = 10`` is set for this normalisation)."""
    return F.mse_loss(y0, x0)


def latent_regularization(residual: Tensor) -> Tensor:
    """Eq. 5, ``L_reg = sum_{i=0..3} ||E(G(w0), t_i)||_2``: the L2 norms of the encoder
    outputs ``[B, T, w_dim]`` summed over the timestamps, averaged over the batch. The
    authors average over the timestamps too (``loss_styleinv.py``), so their
    ``lambda_w_reg = 0.05`` is ``lambda_reg = 0.05 / 4`` here."""
    return residual.norm(dim=-1).sum(dim=1).mean()


def ffhq_aligned(images: Tensor, size: int) -> Tensor:
    """FFHQ-aligned crops ``[B, 3, size, size]`` of face images ``[B, 3, H, W]`` in [-1, 1]: dlib's
    68 landmarks of the largest face, FFHQ's oriented square
    (:func:`~stylevideo.video.preprocess.face_align.ffhq_quad`), warped to ``size``; how the
    authors prepare an animation's first frame (``generate_animation.py``: ``crop_ffhq``).
    Needs the ``face`` extra (dlib)."""
    from stylevideo.video.io import frames_to_tensor
    from stylevideo.video.preprocess.face_align import DlibLandmarks, align_face, ffhq_quad

    finder, out = DlibLandmarks(), []
    for i, image in enumerate(images):
        frame = ((image.detach().float().cpu().permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
        box = finder.detect(frame)
        if box is None:
            raise ValueError(
                f"animate: no face found in source image {i} to FFHQ-align "
                "(animate_align=True is for face models; set it to false for other data)"
            )
        aligned = align_face(frame, ffhq_quad(finder.predict(frame, box)), size)
        out.append(frames_to_tensor(torch.from_numpy(np.ascontiguousarray(aligned))[None]))
    return torch.cat(out).to(images.device)


def _distances(clip_length: int, num_sparse: int, max_distance: int) -> list[int]:
    """Powers of two in ``[num_sparse - 1, min(max_distance, clip_length - 1)]``."""
    hi = min(max_distance, clip_length - 1)
    powers = [2**i for i in range(max(hi, 1).bit_length()) if num_sparse - 1 <= 2**i <= hi]
    if num_sparse < 2 or not powers:
        raise ValueError(
            f"no power-of-two distance in [{num_sparse - 1}, {hi}] for num_sparse={num_sparse} "
            f"frames in clips of clip_length={clip_length} with max_distance={max_distance}"
        )
    return powers


def sample_sparse_times(
    batch: int,
    clip_length: int,
    num_sparse: int = 3,
    max_distance: int = 32,
    device=None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The generator's timestamps ``[B, 1 + num_sparse]``: ``t0 = 0`` and ``num_sparse`` sorted
    times in a clip of ``clip_length`` frames (section 3.4, the authors' sampler): the distance
    between the first and the last is a power of two in ``[num_sparse - 1, min(max_distance,
    clip_length - 1)]``, the window starts at a fractional offset, the inner times are
    distinct integer offsets inside it."""
    powers = _distances(clip_length, num_sparse, max_distance)
    choices = torch.tensor(powers, dtype=torch.float32, device=device)
    d = choices[torch.randint(len(powers), (batch,), device=device, generator=generator)]
    offset = torch.rand(batch, device=device, generator=generator) * (clip_length - d - 1)
    span = max(powers) - 1
    scores = torch.rand(batch, max(span, 1), device=device, generator=generator)
    scores = scores.masked_fill(torch.arange(max(span, 1), device=device) >= d[:, None] - 1, 2.0)
    inner = scores.argsort(dim=1)[:, : num_sparse - 2].float() + 1
    sparse = torch.cat([offset[:, None], (offset + d)[:, None], offset[:, None] + inner], dim=1)
    return torch.cat([torch.zeros(batch, 1, device=device), sparse.sort(dim=1).values], dim=1)


class StyleInV(GANModule):
    """StyleInV: ``x_t = G(E(G(w0), s_t) + w0)`` (Eq. 2) over a frozen stage-1 generator.

    Args:
        generator_ckpt: stage-1 checkpoint (StyleGAN2 Lightning or rosinality).
        encoder_ckpt: stage-2 checkpoint (:class:`~stylevideo.methods.psp.PSPInversion`); its
            weights initialise E's backbone and final layer, and it inverts real images for
            :meth:`animate`. ``None`` only with ``use_encoder=False`` (then ``animate`` is off).
        motion_z_dim, v_dim: anchor noise and motion code sizes (512, 512).
        delta_z, kernel_size, min_period, max_period: FFA-APE (16, 6; periods in frames).
        first_frame_aware: FFA-APE (True) or StyleGAN-V's APE (Table 3 #2).
        use_encoder: False is Table 3 #1 (``w_t = s_t + w0``).
        first_frame_in_d: D sees ``G(w0)`` and the real first frame (FFA-D, Eq. 3; Table 3 #4).
        lambda_adv: weight of Eq. 3's adversarial term in the encoder's loss (1; the authors'
            TaiChi configuration 0.1).
        lambda_l2: Eq. 4 weight (10; 0 removes it, Table 3 #3 with ``first_frame_in_d=False``).
        lambda_reg: Eq. 5 weight (0.0125: the paper's 0.05 on the authors' mean over the four
            timestamps, i.e. 0.05 / 4 on the sum of Eq. 5).
        clip_length, num_sparse, max_distance: the sparse timestamps (128 frames, 3, 32).
        r1_gamma, r1_interval: lazy R1 (1, every 16).
        lr_encoder, lr_d, betas: Adam (1e-4, 2e-3, (0, 0.99)).
        ada_target, ada_interval, ada_kimg: ADA ``bgc`` (0.6; None: off).
        noise_mode: G's noise (``const``; ``none`` for SkyTimelapse).
        ema_kimg: half-life of the motion generator's EMA (20 kimg, the authors' 256x256 setting).
        d_channel_base, d_channel_max, mbstd_group, concat_res, num_frames_div_factor, d_const_dim,
            d_mapping_layers, d_conv_clamp: the discriminator (:class:`SparseVideoDiscriminator`;
            ``d_conv_clamp`` 256 as the authors' ``train_styleinv.py``).
        num_layers, widths, units, normalize_adain: E's backbone (must match stage 2).
        sample_psi: truncation of ``w0`` in ``sample_videos``.
        animate_align: :meth:`animate` FFHQ-aligns its source images first (:func:`ffhq_aligned`,
            as the authors' animation demo; face datasets).
        generation_chunk: frames per generator call when generating long videos.
        generator_arch, encoder_arch: filled in from the checkpoints and saved, so a
            StyleInV checkpoint rebuilds without the stage-1/2 files.
    """

    def __init__(
        self,
        generator_ckpt: str | None = None,
        encoder_ckpt: str | None = None,
        motion_z_dim: int = 512,
        v_dim: int = 512,
        delta_z: int = 16,
        kernel_size: int = 6,
        min_period: float | None = None,
        max_period: float | None = None,
        first_frame_aware: bool = True,
        use_encoder: bool = True,
        first_frame_in_d: bool = True,
        lambda_adv: float = 1.0,
        lambda_l2: float = 10.0,
        lambda_reg: float = 0.0125,
        clip_length: int = 128,
        num_sparse: int = 3,
        max_distance: int = 32,
        r1_gamma: float = 1.0,
        r1_interval: int = 16,
        lr_encoder: float = 1e-4,
        lr_d: float = 2e-3,
        betas: tuple[float, float] = (0.0, 0.99),
        ada_target: float | None = 0.6,
        ada_interval: int = 4,
        ada_kimg: float = 500.0,
        noise_mode: str = "const",
        ema_kimg: float = 20.0,
        d_channel_base: int = 16384,
        d_channel_max: int = 512,
        mbstd_group: int = 8,
        concat_res: int = 16,
        num_frames_div_factor: int = 2,
        d_const_dim: int = 256,
        d_mapping_layers: int = 2,
        d_conv_clamp: float | None = 256.0,
        num_layers: int = 50,
        widths: Sequence[int] = (64, 128, 256, 512),
        units: Sequence[int] | None = None,
        normalize_adain: bool = True,
        sample_psi: float = 1.0,
        animate_align: bool = False,
        generation_chunk: int = 16,
        generator_arch: dict | None = None,
        encoder_arch: dict | None = None,
    ):
        super().__init__()
        if noise_mode not in ("const", "none"):
            raise ValueError(f"noise_mode must be 'const' or 'none' (one noise for all frames), got {noise_mode!r}")
        _distances(clip_length, num_sparse, max_distance)  # fail early on an impossible sampler
        self.G, generator_arch = self._generator(generator_ckpt, generator_arch)
        inverter_state, encoder_arch, inv_w_avg = self._inverter(encoder_ckpt, encoder_arch, use_encoder)
        self.save_hyperparameters()
        self.hparams.generator_arch, self.hparams.encoder_arch = generator_arch, encoder_arch
        if encoder_arch is not None:
            if (
                tuple(encoder_arch["widths"]) != tuple(widths)
                or encoder_arch["units"] != (None if units is None else tuple(units))
                or encoder_arch["num_layers"] != num_layers
            ):
                raise ValueError(
                    f"the stage-2 encoder has widths={encoder_arch['widths']}, "
                    f"units={encoder_arch['units']}, "
                    f"num_layers={encoder_arch['num_layers']}; set the same here"
                )
            self.inverter = PSPEncoderW(self.G.w_dim, num_layers, "ir_se", 3, widths, units).eval()
            self.inverter.requires_grad_(False)
            self.register_buffer("inverter_w_avg", inv_w_avg.clone())
        else:
            self.inverter = None
        self.SI = StyleInVNet(
            self.G.w_dim,
            motion_z_dim,
            v_dim,
            delta_z,
            kernel_size,
            min_period,
            max_period,
            first_frame_aware,
            use_encoder,
            num_layers,
            widths,
            units,
            normalize_adain,
        )
        if inverter_state is not None:
            self.inverter.load_state_dict(inverter_state)
            if use_encoder:
                self.SI.encoder.load_inversion_encoder(inverter_state)
        self.SI_ema = self.make_ema(self.SI)
        self.D = SparseVideoDiscriminator(
            self.G.resolution,
            d_channel_base,
            d_channel_max,
            1 + num_sparse if first_frame_in_d else num_sparse,
            concat_res,
            num_frames_div_factor,
            clip_length,
            d_const_dim,
            d_mapping_layers,
            mbstd_group,
            d_conv_clamp,
        )
        self.ada = (
            AdaptiveAugment(AugmentPipe.bgc(), target=ada_target, interval=ada_interval, ada_kimg=ada_kimg)
            if ada_target is not None
            else None
        )

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def required_files(
        cls, hparams, stage: str | None = None, module: StyleInV | None = None
    ) -> dict[str, tuple[str | None, str]]:
        """The stage checkpoints the constructor reads (none when their architectures are given and
        the files absent: a StyleInV checkpoint being restored); :mod:`stylevideo.features.requirements`."""

        def restoring(key: str, arch: str) -> bool:
            path = hparams[key]
            return hparams[arch] is not None and (path is None or not Path(path).is_file())

        out = {}
        if not restoring("generator_ckpt", "generator_arch"):
            out["generator_ckpt"] = (hparams["generator_ckpt"], STAGE_INPUTS["generator_ckpt"])
        if not restoring("encoder_ckpt", "encoder_arch") and (hparams["encoder_ckpt"] or hparams["use_encoder"]):
            out["encoder_ckpt"] = (hparams["encoder_ckpt"], STAGE_INPUTS["encoder_ckpt"])
        return out

    @staticmethod
    def _generator(path: str | None, arch: dict | None) -> tuple[Generator, dict]:
        if arch is not None and (path is None or not Path(path).is_file()):  # restoring a StyleInV checkpoint
            return build_generator(arch).eval().requires_grad_(False), arch
        return load_generator(path)

    @staticmethod
    def _inverter(path: str | None, arch: dict | None, use_encoder: bool):
        if arch is not None and (path is None or not Path(path).is_file()):
            return None, arch, torch.zeros(arch["w_dim"])
        if path is None and not use_encoder:
            return None, None, None
        return load_inversion_encoder(path)

    def train(self, mode: bool = True):
        """The generator, the EMA motion generator and the inverter stay in eval mode."""
        super().train(mode)
        for module in (self.G, self.SI_ema, self.inverter):
            if module is not None:
                module.eval()
        return self

    def configure_optimizers(self):
        hp = self.hparams
        opt_si = torch.optim.Adam(self.SI.parameters(), lr=hp.lr_encoder, betas=tuple(hp.betas))
        opt_d = torch.optim.Adam(
            self.D.parameters(),
            **lazy_regularization_adam(hp.lr_d, hp.betas, hp.r1_interval if hp.r1_gamma > 0 else 0),
        )
        return [opt_si, opt_d]

    # -- the generator side ---------------------------------------------------------------------
    def synthesize(self, ws: Tensor, generator: Generator | None = None) -> Tensor:
        """Frames from latents ``[..., w_dim]`` with the frozen generator's constant noise."""
        g = generator if generator is not None else self.G
        return g.synthesis(ws.flatten(0, -2), self.hparams.noise_mode).unflatten(0, ws.shape[:-1])

    def fakes(self, batch: int) -> dict[str, Tensor]:
        """One FFA-ST draw: ``w0``, ``x0 = G(w0)``, times ``t [B, 4]`` (``t0 = 0``), the frames
        ``y [B, 4, 3, H, W]`` at those times (Eq. 3) and the encoder outputs (Eq. 5)."""
        hp = self.hparams
        with torch.no_grad():
            w0 = self.G.mapping(torch.randn(batch, self.G.z_dim, device=self.device))
            x0 = self.synthesize(w0)
        t = sample_sparse_times(batch, hp.clip_length, hp.num_sparse, hp.max_distance, self.device)
        z = self.SI.ape.sample_noise(batch, hp.clip_length - 1, device=self.device)
        w_t, residual = self.SI(x0, w0, t, z)
        return {"w0": w0, "x0": x0, "t": t, "y": self.synthesize(w_t), "residual": residual}

    def d_input(self, first: Tensor, frames: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """What D sees: ``[first, frames_1..3]`` (FFA-D) or ``frames_1..3`` alone, with times."""
        if self.hparams.first_frame_in_d:
            return torch.cat([first[:, None], frames[:, 1:]], dim=1), t
        return frames[:, 1:], t[:, 1:]

    def augment(self, videos: Tensor) -> Tensor:
        return self.ada(videos) if self.ada is not None else videos

    # -- training ---------------------------------------------------------------------------------
    def training_step(self, batch: dict, batch_idx: int) -> None:
        hp = self.hparams
        opt_si, opt_d = self.optimizers()
        real, real_t = batch["frames"], batch["t"].to(batch["frames"].dtype)
        if real.shape[1] != 1 + hp.num_sparse or real.shape[-1] != self.G.resolution:
            raise ValueError(
                f"expected real clips [B, {1 + hp.num_sparse}, 3, {self.G.resolution}, "
                f"{self.G.resolution}] (SparseFrames(n={hp.num_sparse}) at the generator's "
                f"resolution), got {tuple(real.shape)}"
            )
        b, it, logs = real.shape[0], self.iteration, {}

        with self.toggled_optimizer(opt_si):
            fake = self.fakes(b)
            video, t = self.d_input(fake["x0"], fake["y"], fake["t"])
            losses = {"adv": hp.lambda_adv * g_nonsaturating_loss(self.D(self.augment(video), t))}
            if hp.lambda_l2 > 0:
                losses["l2"] = hp.lambda_l2 * first_frame_l2(fake["x0"], fake["y"][:, 0])
            if hp.lambda_reg > 0:
                losses["reg"] = hp.lambda_reg * latent_regularization(fake["residual"])
            logs["loss/g"] = self.optimize(opt_si, losses, counted=True)
            logs |= {f"loss/{k}": v.detach() for k, v in losses.items()}

        with self.toggled_optimizer(opt_d):
            with torch.no_grad():
                fake = self.fakes(b)
            fake_video, fake_t = self.d_input(fake["x0"], fake["y"], fake["t"])
            real_video, real_times = self.d_input(real[:, 0], real, real_t)
            real_logits = self.D(self.augment(real_video), real_times)
            logs["loss/d"] = self.optimize(
                opt_d, {"d": d_logistic_loss(real_logits, self.D(self.augment(fake_video), fake_t))}
            )
            if self.ada is not None:
                self.ada.update(real_logits)
            if hp.r1_gamma > 0 and it % hp.r1_interval == 0:
                real_r1 = real_video.detach().float().requires_grad_(True)
                with torch.autocast(self.device.type, enabled=False):
                    r1 = r1_penalty(self.D(self.augment(real_r1), real_times.float()), real_r1)
                self.optimize(opt_d, {"r1": hp.r1_gamma / 2 * r1 * hp.r1_interval})
                logs["loss/r1"] = r1.detach()

        self.update_ema(self.SI_ema, self.SI, ema_beta(b * self.trainer.world_size, hp.ema_kimg))
        if self.ada is not None:
            logs["ada/p"], logs["ada/r_t"] = self.ada.p, self.ada.r_t
        self.log_dict(logs, prog_bar=True, batch_size=b)

    # -- generation --------------------------------------------------------------------------------
    @torch.no_grad()
    def latents(
        self,
        w0: Tensor,
        t: Tensor,
        *,
        seed: int | None = None,
        z: Tensor | None = None,
        ema: bool = True,
    ) -> Tensor:
        """``w_t = StyleInV(w0, t)`` ``[B, T, w_dim]`` for any (fractional) times ``t [B, T]`` or
        ``[T]``, in chunks of ``generation_chunk`` frames; ``z``: the anchor noise (else drawn
        with ``seed``), so a video can be extended or re-timed with the same motion."""
        net = self.SI_ema if ema else self.SI
        t = t.to(self.device, torch.float32).expand(w0.shape[0], -1) if t.ndim == 1 else t.to(self.device)
        if z is None:
            gen = torch.Generator(self.device).manual_seed(seed if seed is not None else int(torch.randint(2**31, ())))
            z = net.ape.sample_noise(w0.shape[0], float(t.max()), gen, self.device)
        x0 = self.synthesize(w0) if net.encoder is not None else None
        n = self.hparams.generation_chunk
        return torch.cat([net(x0, w0, t[:, i : i + n], z)[0] for i in range(0, t.shape[1], n)], dim=1)

    @torch.no_grad()
    def decode(self, w_t: Tensor, generator: Generator | None = None) -> Tensor:
        """Frames ``[B, T, 3, H, W]`` in [-1, 1] of latents ``[B, T, w_dim]`` (a fine-tuned
        ``generator`` gives the style-transferred video, section 3.5), chunked over time."""
        n = self.hparams.generation_chunk
        return torch.cat(
            [self.synthesize(w_t[:, i : i + n], generator) for i in range(0, w_t.shape[1], n)],
            dim=1,
        ).clamp(-1, 1)

    def _times(self, num_frames: int, fps_scale: float) -> Tensor:
        if num_frames < 1 or fps_scale <= 0:
            raise ValueError(f"need num_frames >= 1 and fps_scale > 0, got {num_frames}, {fps_scale}")
        return torch.arange(num_frames, device=self.device, dtype=torch.float32) / fps_scale

    @torch.no_grad()
    def sample_videos(
        self,
        n: int,
        num_frames: int,
        *,
        fps_scale: float = 1.0,
        seed: int | None = None,
        generator: Generator | None = None,
        **conditions,
    ) -> Tensor:
        """``[n, num_frames, 3, H, W]`` in [-1, 1] at times ``t = i / fps_scale`` (``fps_scale=2``
        doubles the frame rate, appendix A); ``generator`` decodes with a fine-tuned G (3.5)."""
        if conditions:
            raise ValueError(f"StyleInV is unconditional; got conditions {sorted(conditions)}")
        gen = torch.Generator(self.device).manual_seed(seed if seed is not None else int(torch.randint(2**31, ())))
        w0 = self.G.truncate(
            self.G.mapping(torch.randn(n, self.G.z_dim, device=self.device, generator=gen)),
            self.hparams.sample_psi,
        )
        z = self.SI_ema.ape.sample_noise(n, (num_frames - 1) / fps_scale, gen, self.device)
        return self.decode(self.latents(w0, self._times(num_frames, fps_scale), z=z), generator)

    @torch.no_grad()
    def invert(self, images: Tensor) -> Tensor:
        """``w0 = E_stage2(x) + w_avg`` (Eq. 1) of real images ``[B, 3, H, W]`` in [-1, 1]."""
        if self.inverter is None:
            raise ValueError("this StyleInV has no stage-2 encoder (encoder_ckpt was not set)")
        if images.shape[-1] != self.G.resolution or images.shape[-2] != self.G.resolution:
            images = F.interpolate(
                images,
                size=(self.G.resolution,) * 2,
                mode="bilinear",
                antialias=True,
                align_corners=False,
            )
        return self.inverter(images.to(self.device)) + self.inverter_w_avg

    @torch.no_grad()
    def animate(
        self,
        source: Tensor,
        driving: Tensor | None = None,
        *,
        relative: bool = True,
        num_frames: int | None = None,
        fps_scale: float = 1.0,
        seed: int | None = None,
    ) -> Tensor:
        """Initial-frame conditioned generation (section 4.2, Fig. 10): invert ``source
        [B, 3, H, W]`` (FFHQ-aligned first with ``animate_align``) to ``w0`` with the stage-2
        encoder and generate ``[B, T, 3, H, W]`` from it.

        StyleInV's motion is its own (sampled with ``seed``); ``driving`` only sets ``T``
        (else ``num_frames``) and ``relative`` has no effect."""
        if num_frames is None:
            if driving is None:
                raise ValueError("animate needs driving frames or num_frames to know the length")
            num_frames = driving.shape[1]
        if self.hparams.get("animate_align", False):
            source = ffhq_aligned(source, self.G.resolution)
        w0 = self.invert(source)
        return self.decode(self.latents(w0, self._times(num_frames, fps_scale), seed=seed))
