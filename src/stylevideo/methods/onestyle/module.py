"""The onestyle LightningModule: training (section 4.3), generation and motion inversion.

One iteration (one trainer step, :class:`~stylevideo.methods.gan.StyleGAN2Loop`): a
discriminator phase (D_t on real/fake triplets with their times and conditions, D_s on
consecutive real pairs against generated pairs whose first frame comes from another video),
lazy R1 every ``r1_interval`` iterations (on D_t, as the authors; ``r1_shuffle`` adds D_s), a
generator phase (D_t and D_s on unshuffled generated clips), lazy path-length
regularisation every ``pl_interval`` iterations, and the EMA update.
Defaults are the paper's: StyleGAN2's G/D/optimizer settings (Adam lr 0.002, betas (0, 0.99),
R1 gamma 10 every 16, path length 2 every 4), triplets of consecutive frames sharing one
``m``, the action ramp from iteration 4000 to 6000 in G and D_t.

Fake triplets are rendered at the times and with the conditions of the real batch, so D_t
sees the same distribution of time points and labels for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from stylevideo.methods.gan import StyleGAN2Loop
from stylevideo.methods.onestyle.conditions import (
    action_ramp,
    condition_ids,
    interpolate_condition,
    per_video,
)
from stylevideo.methods.onestyle.discriminators import (
    ShuffleDiscriminator,
    TimeConditionedDiscriminator,
    derangement,
)
from stylevideo.methods.onestyle.generator import OneStyleGenerator
from stylevideo.nn.ada import AdaptiveAugment, AugmentPipe
from stylevideo.nn.gan_losses import (
    d_logistic_loss,
    g_nonsaturating_loss,
    lazy_regularization_adam,
    r1_penalty,
)
from stylevideo.nn.stylegan2 import NoiseMode

__all__ = ["OneStyle"]


class OneStyle(StyleGAN2Loop):
    """onestyle (Manandhar & Genovesio, WACV 2024): one temporal style ``m`` per video.

    Args (paper values as defaults):
        resolution: frame size (paper 128).
        k: time2vec / motion style size (paper 64, 128, 256).
        style_dim: size of the actor code and of the action embedding in ``w_c``.
        num_actors, num_actions: condition vocabularies; 0 and 0 = unconditional.
        actor_label, action_label: the batch keys holding the ids (e.g. ``emotion`` for MEAD).
        mapping_layers, motion_layers: depths of F_c's mapping MLP (8) and of F_t (4).
        channel_base, channel_max: G and D widths (config-f 32768 / 512).
        lr_mlp: learning-rate multiplier of the MLPs.
        omega_std: std of G's initial time2vec frequencies (authors: 1; the paper is silent).
        content_fusion, g_channels, time2vec_linear_last: G's options for the authors' released
            generators (``"sum"``, their width table, True; :func:`load_official_checkpoint`
            sets them); the defaults are the paper's (see :class:`OneStyleGenerator`).
        ramp_start, ramp_end: iterations of the action ramp (4000 -> 6000).
        shuffle_discriminator, time_discriminator: use D_s / D_t (ablations of section 6).
        dt_time_points: frames (time points) D_t sees (3; ablation 1).
        dt_time_dim, dt_embed_dim, dt_feature_channels: D_t's time2vec size, projection
            embedding size and last conv width (authors: 128, 128, 128).
        triplet_strides, stride_every: the frame stride of the training clips; ``[1]`` is the
            paper's consecutive frames, ``[1, 2, 3]`` the authors' cycle (changing every
            ``stride_every`` = 100 iterations; the sampler then reads 7 consecutive frames).
        lr, betas, r1_gamma, r1_interval, pl_weight, pl_interval, pl_batch_shrink, pl_decay:
            StyleGAN2's optimisation and lazy regularisation.
        r1_shuffle: also apply R1 to D_s (the authors regularise D_t only: False).
        ema_kimg: G EMA half-life in thousands of videos (5 at batch 16 = the authors'
            ``0.5 ** (32 / 10^4)`` per iteration).
        noise_mode: synthesis noise while training.
        ada_target, ada_interval, ada_kimg: optional ADA (off, as in the paper).
        mbstd_group: D_t's minibatch-std group size.
        sample_chunk: frames per synthesis call when generating long videos.
    """

    #: ``lightning predict`` modes: no ``animate`` (it inverts each clip with its known actor and
    #: action, section 5.4: ``python -m stylevideo.methods.onestyle.invert`` writes those videos).
    prediction_modes = ("sample", "long", "fps")

    def __init__(
        self,
        resolution: int = 128,
        k: int = 128,
        style_dim: int = 128,
        num_actors: int = 0,
        num_actions: int = 0,
        actor_label: str = "actor",
        action_label: str = "action",
        mapping_layers: int = 8,
        motion_layers: int = 4,
        channel_base: int = 32768,
        channel_max: int = 512,
        lr_mlp: float = 0.01,
        omega_std: float = 1.0,
        content_fusion: Literal["concat", "sum"] = "concat",
        g_channels: dict[int, int] | None = None,
        time2vec_linear_last: bool = False,
        ramp_start: int = 4000,
        ramp_end: int = 6000,
        shuffle_discriminator: bool = True,
        time_discriminator: bool = True,
        dt_time_points: int = 3,
        dt_time_dim: int = 128,
        dt_embed_dim: int = 128,
        dt_feature_channels: int = 128,
        triplet_strides: Sequence[int] = (1,),
        stride_every: int = 100,
        lr: float = 0.002,
        betas: tuple[float, float] = (0.0, 0.99),
        r1_gamma: float = 10.0,
        r1_interval: int = 16,
        r1_shuffle: bool = False,
        pl_weight: float = 2.0,
        pl_interval: int = 4,
        pl_batch_shrink: int = 2,
        pl_decay: float = 0.01,
        ema_kimg: float = 5.0,
        noise_mode: NoiseMode = "random",
        ada_target: float | None = None,
        ada_interval: int = 4,
        ada_kimg: float = 500.0,
        mbstd_group: int = 4,
        sample_chunk: int = 64,
    ):
        super().__init__()
        if not (shuffle_discriminator or time_discriminator):
            raise ValueError("onestyle needs at least one of shuffle_discriminator and time_discriminator")
        if ramp_end < ramp_start:
            raise ValueError(f"ramp_end ({ramp_end}) must not precede ramp_start ({ramp_start})")
        if dt_time_points < 1:
            raise ValueError(f"dt_time_points must be >= 1, got {dt_time_points}")
        if not triplet_strides or any(int(s) != s or s < 1 for s in triplet_strides) or stride_every < 1:
            raise ValueError(
                "triplet_strides must be positive integers and stride_every >= 1, "
                f"got {triplet_strides}, {stride_every}"
            )
        self.save_hyperparameters()
        self.G = OneStyleGenerator(
            resolution,
            k,
            style_dim,
            num_actors,
            num_actions,
            mapping_layers,
            motion_layers,
            channel_base,
            channel_max,
            lr_mlp,
            omega_std,
            content_fusion=content_fusion,
            channels=g_channels,
            time2vec_linear_last=time2vec_linear_last,
        )
        self.G_ema = self.make_ema(self.G)
        self.D_t = (
            TimeConditionedDiscriminator(
                resolution,
                dt_time_points,
                num_actors,
                num_actions,
                dt_time_dim,
                dt_embed_dim,
                dt_feature_channels,
                channel_base,
                channel_max,
                mbstd_group,
            )
            if time_discriminator
            else None
        )
        self.D_s = ShuffleDiscriminator(resolution, channel_base, channel_max) if shuffle_discriminator else None
        self.ada = (
            AdaptiveAugment(AugmentPipe.bgc(), target=ada_target, interval=ada_interval, ada_kimg=ada_kimg)
            if ada_target is not None
            else None
        )
        self.register_buffer("ramp", torch.zeros(()))  # lambda of the action ramp (section 4.3)
        self.register_buffer("mean_path_length", torch.zeros(()))

    def train(self, mode: bool = True):
        """The EMA generator stays in eval mode."""
        super().train(mode)
        self.G_ema.eval()
        return self

    def configure_optimizers(self):
        hp = self.hparams
        d_params = [p for d in (self.D_t, self.D_s) if d is not None for p in d.parameters()]
        opt_g = torch.optim.Adam(
            self.G.parameters(),
            **lazy_regularization_adam(hp.lr, hp.betas, hp.pl_interval if hp.pl_weight > 0 else 0),
        )
        opt_d = torch.optim.Adam(
            d_params,
            **lazy_regularization_adam(hp.lr, hp.betas, hp.r1_interval if hp.r1_gamma > 0 else 0),
        )
        return [opt_g, opt_d]

    def on_fit_start(self) -> None:
        """Check the model's condition vocabularies against the data's label maps."""
        dm = getattr(self.trainer, "datamodule", None)
        if dm is None or not hasattr(dm, "num_classes"):
            return
        hp = self.hparams
        for count, label, arg in (
            (hp.num_actors, hp.actor_label, "num_actors"),
            (hp.num_actions, hp.action_label, "num_actions"),
        ):
            if count and dm.num_classes(label) > count:
                raise ValueError(
                    f"model.{arg}={count}, but the data has {dm.num_classes(label)} distinct {label!r} labels"
                )

    # -- pieces of an iteration ---------------------------------------------------------------
    def augment(self, x: torch.Tensor) -> torch.Tensor:
        return self.ada(x) if self.ada is not None else x

    def conditions(self, batch: dict, n: int | None = None) -> dict[str, torch.Tensor | None]:
        """The generator's content inputs for a batch: its actor/action ids, or a random ``z_c``."""
        hp = self.hparams
        out: dict[str, torch.Tensor | None] = {"actor": None, "action": None, "z_c": None}
        for key, count, label in (
            ("actor", hp.num_actors, hp.actor_label),
            ("action", hp.num_actions, hp.action_label),
        ):
            if count:
                if label not in batch:
                    raise KeyError(f"onestyle is conditioned on {label!r}; the batch has only {sorted(batch)}")
                out[key] = batch[label][:n]
        if not hp.num_actors:
            out["z_c"] = torch.randn(n or batch["frames"].shape[0], hp.style_dim, device=self.device)
        return out

    def z_m(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.hparams.k, device=self.device)

    def d_t(self, clip: torch.Tensor, t: torch.Tensor, cond: dict, ramp: float) -> torch.Tensor:
        """D_t logits ``[B]`` of the first ``dt_time_points`` frames of clips ``[B, T, ...]``."""
        n = self.hparams.dt_time_points
        return self.D_t(self.augment(clip[:, :n]), t[:, :n], cond["actor"], cond["action"], ramp)

    def d_s(self, clip: torch.Tensor, perm: torch.Tensor | None = None) -> torch.Tensor:
        """D_s logits ``[B * (T-1)]`` of the pairs ``(j, j+1)`` of clips ``[B, T, 3, H, W]``.

        With ``perm`` (a derangement) the first frame of every pair of video ``i`` is taken
        from video ``perm[i]``: pairs of different contents (the fake pairs of the D phase).
        """
        if self.ada is None:  # the trunk is per frame: run it once per frame, pair the features
            f = self.D_s.features(clip)
            first, second = f[:, :-1], f[:, 1:]
            return self.D_s.score(first if perm is None else first[perm], second).flatten()
        first, second = clip[:, :-1], clip[:, 1:]
        first = first if perm is None else first[perm]
        return self.D_s(self.ada(torch.stack([first, second], 2).flatten(0, 1)))

    def _check_batch(self, frames: torch.Tensor) -> None:
        hp = self.hparams
        need = max(2 if self.D_s is not None else 1, hp.dt_time_points if self.D_t is not None else 1)
        need = (need - 1) * max(hp.triplet_strides) + 1
        if frames.ndim != 5 or frames.shape[1] < need:
            raise ValueError(
                f"onestyle trains on clips [B, T>={need}, 3, H, W] of consecutive frames "
                f"(sampler ConsecutiveFrames(n={need}) for triplet_strides={list(hp.triplet_strides)}); "
                f"got frames of shape {tuple(frames.shape)}"
            )
        if frames.shape[-1] != hp.resolution:
            raise ValueError(f"frames are {frames.shape[-1]}px, the model is {hp.resolution}px")

    def triplet_stride(self, iteration: int) -> int:
        """The frame stride of the training clips at ``iteration``: the paper's consecutive frames
        (``triplet_strides=[1]``), or the authors' cycle through ``triplet_strides`` every
        ``stride_every`` iterations (train.py: stride 1 at iteration 0, then 2, 3, 1, ... for
        ``stride_every`` iterations each, their switch following each multiple of 100)."""
        strides = self.hparams.triplet_strides
        return strides[-(-iteration // self.hparams.stride_every) % len(strides)]

    # -- the phases of StyleGAN2Loop's iteration ------------------------------------------------
    def prepare_step(self, batch: dict) -> dict:
        hp = self.hparams
        frames = batch["frames"]
        self._check_batch(frames)
        stride = self.triplet_stride(self.iteration)
        points = max(2 if self.D_s is not None else 1, hp.dt_time_points if self.D_t is not None else 1)
        pick = torch.arange(points, device=frames.device) * stride
        lam = action_ramp(self.iteration, hp.ramp_start, hp.ramp_end)
        self.ramp.fill_(lam)
        return {
            "batch": batch,
            "real": frames[:, pick],
            "t": batch["t"].to(frames.device, torch.float32)[:, pick],
            "n": frames.shape[0],
            "lam": lam,
            "cond": self.conditions(batch),
            "logs": {"ramp": lam, "stride": float(stride)},
        }

    def discriminator_losses(self, step: dict) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """D_t on real/fake clips with the real batch's times and conditions; D_s on consecutive
        real pairs against generated pairs whose first frame is another video's."""
        real, t, cond, lam, b = step["real"], step["t"], step["cond"], step["lam"], step["n"]
        with torch.no_grad():
            fake = self.G(t, z_m=self.z_m(b), ramp=lam, noise_mode=self.hparams.noise_mode, **cond)
        losses = {}
        if self.D_t is not None:
            real_logits = self.d_t(real, t, cond, lam)
            losses["d_t"] = d_logistic_loss(real_logits, self.d_t(fake, t, cond, lam))
        if self.D_s is not None:
            real_pairs = self.d_s(real)
            losses["d_s"] = d_logistic_loss(real_pairs, self.d_s(fake, derangement(b, self.device)))
            if self.D_t is None:
                real_logits = real_pairs
        return losses, real_logits

    def r1_penalties(self, step: dict) -> dict[str, torch.Tensor]:
        """``E ||grad_x D(x)||^2`` on real triplets (D_t) and, with ``r1_shuffle``, on real pairs
        (D_s; the authors regularise D_t only)."""
        real, t, cond, lam = step["real"], step["t"], step["cond"], step["lam"]
        out = {}
        if self.D_t is not None:
            x = real[:, : self.hparams.dt_time_points].detach().float().requires_grad_(True)
            out["r1_t"] = r1_penalty(self.d_t(x, t, cond, lam), x)
        if self.D_s is not None and self.hparams.r1_shuffle:
            pairs = torch.stack([real[:, :-1], real[:, 1:]], 2).flatten(0, 1).detach().float()
            pairs.requires_grad_(True)
            out["r1_s"] = r1_penalty(self.D_s(self.augment(pairs)), pairs)
        return out

    def generator_losses(self, step: dict) -> dict[str, torch.Tensor]:
        """D_t and D_s on unshuffled generated clips (fresh ``z_m`` and, unconditional, ``z_c``)."""
        t, cond, lam, b = step["t"], step["cond"], step["lam"], step["n"]
        cond_g = self.conditions(step["batch"])
        fake = self.G(t, z_m=self.z_m(b), ramp=lam, noise_mode=self.hparams.noise_mode, **cond_g)
        losses = {}
        if self.D_t is not None:
            losses["g_t"] = g_nonsaturating_loss(self.d_t(fake, t, cond, lam))
        if self.D_s is not None:
            losses["g_s"] = g_nonsaturating_loss(self.d_s(fake))
        return losses

    def path_length_sample(self, step: dict, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        frames, ws = self.G(
            step["t"][:m],
            z_m=self.z_m(m),
            ramp=step["lam"],
            noise_mode=self.hparams.noise_mode,
            return_ws=True,
            **self.conditions(step["batch"], m),
        )
        return frames.flatten(0, 1), ws

    # -- generation ---------------------------------------------------------------------------
    def _label_conditions(self, labels: dict, named: dict) -> dict:
        """Map data-label keywords (``emotion=3`` for MEAD, ``emotion_to=``) onto actor/action."""
        hp = self.hparams
        aliases = {
            hp.actor_label: "actor",
            hp.action_label: "action",
            f"{hp.actor_label}_to": "actor_to",
            f"{hp.action_label}_to": "action_to",
        }
        for key, value in labels.items():
            if key not in aliases:
                raise TypeError(
                    f"sample_videos got an unknown condition {key!r}; onestyle takes "
                    f"{sorted(set(aliases) | set(named))}"
                )
            if named[aliases[key]] is not None and aliases[key] != key:
                raise TypeError(f"sample_videos got both {key!r} and {aliases[key]!r}")
            named[aliases[key]] = value
        return named

    @torch.no_grad()
    def sample_videos(
        self,
        n: int,
        num_frames: int,
        *,
        fps_scale: float = 1.0,
        seed: int | None = None,
        actor: int | Sequence[int] | torch.Tensor | None = None,
        action: int | Sequence[int] | torch.Tensor | None = None,
        actor_to: int | Sequence[int] | torch.Tensor | None = None,
        action_to: int | Sequence[int] | torch.Tensor | None = None,
        z_m: torch.Tensor | None = None,
        m: torch.Tensor | None = None,
        z_c: torch.Tensor | None = None,
        shared_motion: bool = False,
        motion_seed: int | None = None,
        t0: float = 0.0,
        noise_mode: NoiseMode = "const",
        ramp: float | None = None,
        **labels,
    ) -> torch.Tensor:
        """``[n, num_frames, 3, H, W]`` in [-1, 1] from the EMA generator at ``t0 + i / fps_scale``.

        ``actor``/``action`` (or the data's label names, e.g. ``emotion``): one id, one per
        video, or None (random). ``actor_to``/``action_to``: the condition moves linearly to
        these ids over the video (section 5.5). Motion: ``m`` / ``z_m`` fix it (``[k]`` for all
        videos or ``[n, k]``), e.g. an inverted ``m*`` re-enacted by other actors;
        ``motion_seed`` draws one ``z_m`` from that seed for all videos and ``shared_motion``
        one from ``seed`` (the same temporal style with different contents, as LiA's r_t
        needs); otherwise every video has its own. ``z_c``: the content code of an
        unconditional model. ``ramp`` defaults to the training value of lambda.
        """
        hp, G = self.hparams, self.G_ema
        c = self._label_conditions(labels, dict(actor=actor, action=action, actor_to=actor_to, action_to=action_to))
        if fps_scale <= 0:
            raise ValueError(f"fps_scale must be positive, got {fps_scale}")
        if sum(x is not None for x in (z_m, m, motion_seed)) > 1:
            raise ValueError("pass at most one of z_m, m and motion_seed")
        dev = self.device
        gen = torch.Generator(dev)
        gen.manual_seed(seed if seed is not None else int(torch.randint(2**31, ())))
        t = (t0 + torch.arange(num_frames, device=dev, dtype=torch.float32) / fps_scale)[None].expand(n, -1)
        m, z_m = per_video(m, "m", n, hp.k, dev), per_video(z_m, "z_m", n, hp.k, dev)
        if motion_seed is not None:
            z_m = torch.randn(1, hp.k, device=dev, generator=torch.Generator(dev).manual_seed(motion_seed))
            z_m = z_m.expand(n, -1)
        elif m is None and z_m is None:
            z_m = torch.randn(1 if shared_motion else n, hp.k, device=dev, generator=gen).expand(n, -1)
        cond = {}
        for name, count in (("actor", hp.num_actors), ("action", hp.num_actions)):
            ids = condition_ids(c[name], name, count, n, dev, gen)
            if c[f"{name}_to"] is not None:
                end = condition_ids(c[f"{name}_to"], f"{name}_to", count, n, dev)
                ids = interpolate_condition(ids, end, count, num_frames)
            cond[name] = ids
        if hp.num_actors == 0:
            z_c = per_video(z_c, "z_c", n, hp.style_dim, dev)
            if z_c is None:
                z_c = torch.randn(n, hp.style_dim, device=dev, generator=gen)
        elif z_c is not None:
            raise ValueError("z_c is the content code of unconditional models; this one takes actor ids")
        lam = self.ramp if ramp is None else ramp
        w = G.styles(t, z_m=z_m, m=m, z_c=z_c, ramp=lam, **cond)
        return G.synthesize(w, noise_mode, chunk=hp.sample_chunk).clamp(-1, 1)

    def animate(
        self,
        source: torch.Tensor,
        driving: torch.Tensor,
        *,
        relative: bool = False,
        actor: int | Sequence[int] | torch.Tensor | None = None,
        action: int | Sequence[int] | torch.Tensor | None = None,
        z_c: torch.Tensor | None = None,
        perceptual=None,
        steps: int = 250,
        chunk: int | None = 16,
        seed: int = 0,
        **labels,
    ) -> torch.Tensor:
        """Each driving clip ``[B, T, 3, H, W]`` regenerated from its temporal GAN inversion.

        Section 5.4: ``m*`` of each clip by Eq. 5 (:func:`~stylevideo.methods.onestyle.inversion.invert_motion`:
        LPIPS + MSE, only ``m`` optimised, ``steps`` Adam steps) with the clip's known ``actor`` /
        ``action`` (ids, or the data's label names, e.g. ``emotion=``), then the clip's frames
        ``0..T-1`` from ``m*`` and those conditions (Fig. 5a compares each real clip with this).
        onestyle has no image encoder: the content is the conditions (``z_c`` for an
        unconditional model), ``source`` is not used, and there is no source pose to keep,
        so ``relative`` must be False. ``perceptual``: LPIPS (default: LPIPS-VGG through the
        weight loader, as the authors' ``projector.py`` and ``invert``). The optimisation's noise
        is drawn from ``seed`` (the global random state is left as it was). Works inside
        ``no_grad``/``inference_mode``.
        """
        from stylevideo.methods.onestyle.inversion import invert_motion

        hp = self.hparams
        if relative:
            raise ValueError("onestyle.animate regenerates the driving clip (absolute); relative=True has no meaning")
        if driving.ndim != 5 or len(source) != len(driving):
            raise ValueError(f"expected source [B, ...] and driving [B, T, 3, H, W], got {tuple(driving.shape)}")
        c = self._label_conditions(labels, dict(actor=actor, action=action, actor_to=None, action_to=None))
        b, t = driving.shape[:2]
        ids = {}
        for name, count in (("actor", hp.num_actors), ("action", hp.num_actions)):
            if count and c[name] is None:
                raise ValueError(f"onestyle.animate inverts a clip with its known {name} (section 5.4): pass {name}=")
            ids[name] = None if not count else torch.as_tensor(c[name], device=self.device).long().reshape(-1)
            if count and len(ids[name]) == 1:
                ids[name] = ids[name].expand(b)
        if not hp.num_actors and z_c is None:
            raise ValueError(
                "onestyle.animate on an unconditional model needs the clips' content codes z_c [B, style_dim]"
            )
        z_c = None if z_c is None else torch.as_tensor(z_c, device=self.device, dtype=torch.float32).reshape(b, -1)
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.inference_mode(False), torch.enable_grad(), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            if perceptual is None:
                from stylevideo.features.lpips_vgg import lpips_vgg

                perceptual = lpips_vgg().to(self.device)
            frames = driving.to(self.device, torch.float32).clone()
            m = torch.stack(
                [
                    invert_motion(
                        self.G_ema,
                        frames[i],
                        perceptual=perceptual,
                        actor=None if ids["actor"] is None else int(ids["actor"][i]),
                        action=None if ids["action"] is None else int(ids["action"][i]),
                        z_c=None if z_c is None else z_c[i],
                        ramp=float(self.ramp),
                        steps=steps,
                        chunk=chunk,
                    ).m
                    for i in range(b)
                ]
            )
        return self.sample_videos(b, t, seed=0, m=m, actor=ids["actor"], action=ids["action"], z_c=z_c)
