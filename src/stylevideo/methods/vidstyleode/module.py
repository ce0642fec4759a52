"""VidStyleODE (Haji Ali et al., ICCV 2023): disentangled video editing, StyleGAN2 and latent ODEs.

``X_t = G(z_C + Delta z_t)`` (Eq. 1, 3): the content code ``z_C`` (f_C, a frozen pSp inversion
pooled over the frames), the dynamics ``z_d(t)`` (f_D + reverse ConvGRU + latent ODE, Eq. 2 / 11)
and the text style ``z_S`` (Eq. 5 / 12) make the latent direction ``Delta z_t`` through f_G
(Eq. 4); G is a frozen pretrained StyleGAN2. Training (section 3.1): per video, ``k`` frames
(paper: 3) at irregular timestamps are generated twice, with the video's own description
(reconstruction) and with another video's description of the batch as target (edit), and
``L = lambda_C L_C + lambda_A L_A + lambda_S L_S + lambda_D L_D + lambda_L L_L`` (Eq. 6-10) is
minimised; no discriminator. Only f_D, the ConvGRU, the ODEs and f_G train.

Hyper-parameters default to the paper's (section 7): lambda_A = lambda_S = 10 with balance 0.5,
lambda_D = 2, lambda_L = 1, lambda_C from 0.01 to 1 over 40k iterations, 12 attention layers
of 8 heads and width 512. What the paper leaves open comes from the authors' code (the
learning rates, the direction scale 0.01, the solver tolerances, ``time_unit``, lambda_D's
schedule: 0 for 5k iterations, then 0.01 -> 2 by 100k; the training edits' text scale
``alpha`` = 2, their ``manipulation_strength``; the paper's alpha = 1 is the applications'
default). Loss resolutions follow the authors: the data's frames (256 px in the configs) for
L_A, L_S and L_D and for the pSp inversion of f_C, G's full resolution for L_C, ``frame_size``
(128 px) for f_D; frame 0 is always among the ``frames_per_step`` generated frames.
"""

from __future__ import annotations

import torch
from einops import rearrange
from lightning.pytorch.loggers import WandbLogger
from torch import Tensor, nn

from stylevideo.methods.gan import GANModule
from stylevideo.methods.vidstyleode.apps import Applications
from stylevideo.methods.vidstyleode.content import ContentEncoder, ContentMode
from stylevideo.methods.vidstyleode.dynamics import DynamicsEncoder
from stylevideo.methods.vidstyleode.frozen import (
    CLIPModel,
    PretrainedModule,
    SpliceViT,
    StyleGAN2Wrapper,
    resize_frames,
)
from stylevideo.methods.vidstyleode.generator import ConditionalGenerator, expand_frames
from stylevideo.methods.vidstyleode.losses import (
    clip_consistency_loss,
    clip_directional_loss,
    latent_direction_loss,
    ramp_weight,
    splice_appearance_loss,
    splice_structure_loss,
)
from stylevideo.methods.vidstyleode.text import Descriptions, describe, text_style
from stylevideo.video.io import video_grid, write_video

__all__ = ["VidStyleODE"]

_FROZEN = ("G", "f_C.inverter", "clip", "splice")


class VidStyleODE(Applications, GANModule):
    """The VidStyleODE model and its training (one optimizer, no discriminator).

    Args:
        generator: the frozen StyleGAN2 (``PretrainedStyleGAN2`` or a stand-in).
        inverter: the frozen W+ inversion network of f_C (pSp or a stand-in); None: the batches
            carry the frames' W+ codes (``inversion [B, K, L, D]``, the authors' Fashion setting).
        clip: CLIP_I / CLIP_T (``PretrainedCLIP`` ViT-B/32 or a stand-in).
        splice: the DINO-ViT Splicing descriptors (``PretrainedSpliceViT`` or a stand-in).
        descriptions: where each training video's description comes from (None: the batch's
            ``text``, which the RAVDESS and Fashion data modules provide).
        content_mode: f_C pooling, ``mean`` (paper) / ``first`` / ``random`` (Table 6).
        frame_size: f_D's input size (M, N); d_sp, d_ode, downsamplings: f_D and z_d sizes.
        ode_*: the ODE networks and the torchdiffeq solver (dopri5); ``adjoint`` its gradient.
        time_unit: frames per unit of ODE time (the authors' typical video length).
        width, heads, sa_layers, ca_layers, patch_size, layer_groups, mapper_layers, delta_scale:
            f_G.
        alpha: the text-direction scale of Eq. 5 / 12 for the training edits (the authors'
            ``manipulation_strength: 2``; the paper uses 1 at inference, the applications' default).
        frames_per_step: generated frames per video and iteration, frame 0 always one of them
            (paper: 3).
        lambda_*: Eq. 6's weights; lambda_C goes from ``lambda_C[0]`` to ``lambda_C[1]`` over
            ``lambda_C_steps`` iterations; lambda_D is 0 for ``lambda_D_warmup`` iterations,
            then goes from ``lambda_D[0]`` to ``lambda_D[1]`` by iteration ``lambda_D_steps``
            (:func:`~stylevideo.methods.vidstyleode.losses.ramp_weight`); ``splice_balance``
            weighs L_S against L_A.
        lr, betas: Adam for f_G; the dynamics networks use ``lr * dynamics_lr_mult`` and
            ``dynamics_betas`` (the authors' code).
        output_size: (H, W) of the videos the generation methods return (None: G's own).
        sample_every_n_val: write a sample video every this many validation runs (0: never).
    """

    def __init__(
        self,
        generator: StyleGAN2Wrapper,
        inverter: nn.Module | None,
        clip: CLIPModel,
        splice: SpliceViT,
        descriptions: Descriptions | None = None,
        content_mode: ContentMode = "mean",
        frame_size: tuple[int, int] = (128, 128),
        d_sp: int = 64,
        d_ode: int = 512,
        downsamplings: int = 4,
        encoder_channel_base: int = 32,
        encoder_channel_max: int = 512,
        ode_hidden: int = 256,
        ode_layers: int = 2,
        ode_method: str = "dopri5",
        ode_rtol: float = 1e-3,
        ode_atol: float = 1e-4,
        adjoint: bool = False,
        time_unit: float = 100.0,
        width: int = 512,
        heads: int = 8,
        sa_layers: int = 12,
        ca_layers: int = 12,
        patch_size: int = 1,
        layer_groups: tuple[int, int] = (4, 6),
        mapper_layers: tuple[int, int, int] = (7, 5, 5),
        delta_scale: float = 0.01,
        alpha: float = 2.0,
        frames_per_step: int = 3,
        lambda_C: tuple[float, float] = (0.01, 1.0),
        lambda_C_steps: int = 40_000,
        lambda_A: float = 10.0,
        lambda_S: float = 10.0,
        splice_balance: float = 0.5,
        lambda_D: tuple[float, float] = (0.01, 2.0),
        lambda_D_warmup: int = 5_000,
        lambda_D_steps: int = 100_000,
        lambda_L: float = 1.0,
        lr: float = 6e-6,
        betas: tuple[float, float] = (0.9, 0.99),
        dynamics_lr_mult: float = 5.0,
        dynamics_betas: tuple[float, float] = (0.9, 0.999),
        output_size: tuple[int, int] | None = None,
        sample_every_n_val: int = 1,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["generator", "inverter", "clip", "splice", "descriptions"])
        if frames_per_step < 1:
            raise ValueError(f"frames_per_step must be >= 1, got {frames_per_step}")
        self.G, self.clip, self.splice, self.descriptions = generator, clip, splice, descriptions
        self.f_C = ContentEncoder(inverter, content_mode)
        self.dynamics = DynamicsEncoder(
            frame_size,
            d_sp,
            d_ode,
            downsamplings,
            encoder_channel_base,
            encoder_channel_max,
            ode_hidden,
            ode_layers,
            method=ode_method,
            rtol=ode_rtol,
            atol=ode_atol,
            adjoint=adjoint,
        )
        self.f_G = ConditionalGenerator(
            generator.num_ws,
            generator.w_dim,
            d_ode,
            self.dynamics.grid,
            clip.embed_dim,
            width,
            heads,
            sa_layers,
            ca_layers,
            patch_size,
            layer_groups,
            mapper_layers,
            delta_scale,
        )
        self._val_runs = 0

    # -- the model --------------------------------------------------------------------------
    @torch.no_grad()
    def content(self, frames: Tensor, mode: ContentMode | None = None) -> Tensor:
        """f_C: ``z_C [B, num_ws, w_dim]`` of frames ``[B, K, 3, H, W]``."""
        return self.f_C(frames, mode)

    @torch.no_grad()
    def batch_content(self, batch: dict) -> Tensor:
        """``z_C`` of a batch: pooled from its precomputed W+ codes (``inversion``) if it has them,
        else from its frames through the inverter."""
        if "inversion" not in batch:
            return self.content(batch["frames"])
        codes = batch["inversion"].float()
        if codes.shape[-2:] != (self.G.num_ws, self.G.w_dim):
            raise ValueError(
                f"batch W+ codes are {tuple(codes.shape)}; the generator takes {self.G.num_ws} x {self.G.w_dim}"
            )
        return self.f_C.pool(codes)

    @torch.no_grad()
    def content_embedding(self, z_C: Tensor) -> Tensor:
        """``CLIP_I(G(z_C))``, the image part of Eq. 12."""
        return self.clip.encode_image(self.G.synthesize(z_C))

    def style(
        self,
        z_C: Tensor,
        source: list[str] | None = None,
        target: list[str] | None = None,
        alpha: float = 1.0,
    ) -> Tensor:
        """Eq. 12: ``z_S [B, D]``; without texts, ``CLIP_I(G(z_C))`` (no edit)."""
        image = self.content_embedding(z_C)
        if source is None and target is None:
            return image
        if source is None or target is None or not len(source) == len(target) == len(image):
            raise ValueError("style(): give one source and one target description per video")
        return text_style(image, self.clip.encode_text(source), self.clip.encode_text(target), alpha)

    def ode_time(self, t: Tensor) -> Tensor:
        """Frame times -> ODE time: from the first observed frame, in units of ``time_unit``."""
        t = t.float()
        return (t - t[:, :1]) / self.hparams.time_unit

    def generate(self, z_C: Tensor, z_S: Tensor, z_dt: Tensor) -> tuple[Tensor, Tensor]:
        """Eq. 3-4: frames ``G(z_C + f_G(z_dt, z_S, z_C))`` ``[B, Q, 3, R, R]`` and the directions
        ``Delta z [B, Q, L, D]``."""
        b, q = z_dt.shape[:2]
        delta = self.f_G(
            rearrange(z_dt, "b q c h w -> (b q) c h w"),
            expand_frames(z_S, q),
            expand_frames(z_C, q),
        )
        images = self.G.synthesize(expand_frames(z_C, q) + delta)
        return (
            rearrange(images, "(b q) c h w -> b q c h w", b=b),
            rearrange(delta, "(b q) l d -> b q l d", b=b),
        )

    # -- training ----------------------------------------------------------------------------
    def load_pretrained(self) -> None:
        """Read the pretrained frozen networks from their files (on the meta device until then)."""
        for module in [m for m in self.modules() if isinstance(m, PretrainedModule)]:
            module.materialize()

    def setup(self, stage: str) -> None:
        self.load_pretrained()
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if stage in ("fit", "validate") and self.descriptions is not None and datamodule is not None:
            self.descriptions.setup(datamodule)

    def losses(self, batch: dict) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """Eq. 7-10 and L_L on a batch; returns (unweighted losses, extra logs)."""
        frames, hp = batch["frames"], self.hparams
        b, num = frames.shape[:2]
        if b < 2:
            raise ValueError(
                "VidStyleODE needs batch_size >= 2: target descriptions come from other videos of the batch"
            )
        t = self.ode_time(batch["t"])
        z_C = self.batch_content(batch)
        texts = list(describe(self.descriptions, batch))
        shift = int(torch.randint(1, b, ()))  # the target description: another video's
        e_src = self.clip.encode_text(texts)
        e_tgt = e_src.roll(shift, dims=0)
        with torch.no_grad():
            reference = self.G.synthesize(z_C)
            e_ref = self.clip.encode_image(reference)
        z_S = torch.cat([e_ref, text_style(e_ref, e_src, e_tgt, hp.alpha)])  # reconstruction, edit

        k = min(hp.frames_per_step, num)
        pick = self.generated_frames(b, num, k, frames.device)
        real = frames[torch.arange(b, device=frames.device)[:, None], pick]  # [B, k, 3, H, W]
        z_dt = self.dynamics.solve(self.dynamics.encode(frames, t), t.gather(1, pick))
        images, delta = self.generate(z_C.repeat(2, 1, 1), z_S, z_dt.repeat(2, 1, 1, 1, 1))
        size = frames.shape[-2:]  # L_A, L_S, L_D at the data's resolution, L_C at G's
        full = rearrange(images, "b k c h w -> (b k) c h w")
        generated = resize_frames(full, size)

        e_full = self.clip.encode_image(full)
        e_gen = e_full if full.shape[-2:] == size else self.clip.encode_image(generated)
        e_full, e_gen = (rearrange(e, "(b k) d -> b k d", k=k) for e in (e_full, e_gen))
        appearance, structure = self.splice(generated)
        appearance = rearrange(appearance, "(b k) d -> b k d", k=k)
        structure = rearrange(structure, "(b k) s r -> b k s r", k=k)
        with torch.no_grad():
            targets = torch.cat([resize_frames(reference, size), rearrange(real, "b k c h w -> (b k) c h w")])
            target_appearance, target_structure = self.splice(targets)
        target_structure = rearrange(target_structure[b:], "(b k) s r -> b k s r", k=k)

        losses = {
            "C": clip_consistency_loss(e_full),
            "A": splice_appearance_loss(target_appearance[:b], appearance[:b]),
            "S": splice_structure_loss(target_structure.repeat(2, 1, 1, 1), structure),
            "D": clip_directional_loss(e_src, e_tgt, e_gen[b:], e_gen[:b]),
            "L": latent_direction_loss(delta),
        }
        logs = {"ode/nfe": torch.tensor(float(self.dynamics.ode.func.nfe))}
        return losses, logs

    @staticmethod
    def generated_frames(b: int, num: int, k: int, device=None) -> Tensor:
        """Which ``k`` of the ``num`` frames of each video are generated, ``[B, k]`` sorted: frame 0
        and ``k - 1`` distinct random others (the authors' ``frame_inds = [0] + sorted(...)``)."""
        others = torch.rand(b, num - 1, device=device).argsort(dim=1)[:, : k - 1] + 1
        return torch.cat([torch.zeros(b, 1, dtype=torch.long, device=device), others.sort(dim=1).values], dim=1)

    def loss_weights(self) -> dict[str, float]:
        """Eq. 6's lambdas at this iteration (lambda_C and lambda_D are scheduled)."""
        hp, it = self.hparams, self.iteration
        return {
            "C": ramp_weight(it, *hp.lambda_C, hp.lambda_C_steps),
            "A": hp.lambda_A * (1 - hp.splice_balance),
            "S": hp.lambda_S * hp.splice_balance,
            "D": ramp_weight(it, *hp.lambda_D, hp.lambda_D_steps, hp.lambda_D_warmup),
            "L": hp.lambda_L,
        }

    def training_step(self, batch: dict, batch_idx: int) -> None:
        opt = self.optimizers()
        weights = self.loss_weights()
        with self.toggled_optimizer(opt):
            losses, logs = self.losses(batch)
            total = self.optimize(opt, {k: weights[k] * v for k, v in losses.items()}, counted=True)
        logs.update({f"loss/{k}": v.detach() for k, v in losses.items()})
        logs["loss/total"] = total
        logs |= {f"lambda/{k}": torch.tensor(weights[k]) for k in ("C", "D")}
        self.log_dict(logs, prog_bar=False, batch_size=batch["frames"].shape[0])
        self.log("loss", total, prog_bar=True, batch_size=batch["frames"].shape[0])

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        weights = self.loss_weights()
        losses, _ = self.losses(batch)
        logs = {f"val/loss/{k}": v for k, v in losses.items()}
        logs["val/loss/total"] = sum(weights[k] * v for k, v in losses.items())
        self.log_dict(logs, batch_size=batch["frames"].shape[0], sync_dist=True)
        if batch_idx == 0:
            self._write_samples(batch)

    def on_validation_epoch_end(self) -> None:
        self._val_runs += 1

    @torch.no_grad()
    def _write_samples(self, batch: dict) -> None:
        """Real | reconstruction | edit (next video's text) | swapped dynamics, at batch times."""
        every = self.hparams.sample_every_n_val
        if self._trainer is None or not self.trainer.is_global_zero or every <= 0 or self._val_runs % every:
            return
        frames, t = batch["frames"], self.ode_time(batch["t"])
        texts = list(describe(self.descriptions, batch))
        z_C = self.batch_content(batch)
        z_dt = self.dynamics.solve(self.dynamics.encode(frames, t), t)
        rows = [frames]
        for z_S, z_d in (
            (self.style(z_C), z_dt),
            (self.style(z_C, texts, texts[1:] + texts[:1]), z_dt),
            (self.style(z_C), z_dt.roll(1, dims=0)),
        ):
            images, _ = self.generate(z_C, z_S, z_d)
            rows.append(
                rearrange(
                    resize_frames(rearrange(images, "b q c h w -> (b q) c h w"), frames.shape[-2:]),
                    "(b q) c h w -> b q c h w",
                    b=frames.shape[0],
                )
            )
        grid = video_grid(
            rearrange(torch.stack(rows, 1), "b r q c h w -> (b r) q c h w").clamp(-1, 1).float().cpu(),
            nrow=len(rows),
        )
        path = write_video(f"{self.trainer.default_root_dir}/samples/val_step{self.iteration:07d}.mp4", grid, fps=4)
        for logger in self.trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_video("samples/val", [str(path)], step=self.iteration, fps=[4], format=["mp4"])

    def configure_optimizers(self):
        """Adam over the dynamics (f_D, ConvGRU, ODEs) and f_G, fused (one kernel for all 687 tensors at the paper's
        widths): 0.13 -> 0.03 s of the 2.2 s CPU iteration (docs/benchmarks.md)."""
        hp = self.hparams
        return torch.optim.Adam(
            [
                {
                    "params": list(self.dynamics.parameters()),
                    "lr": hp.lr * hp.dynamics_lr_mult,
                    "betas": tuple(hp.dynamics_betas),
                },
                {"params": list(self.f_G.parameters()), "lr": hp.lr, "betas": tuple(hp.betas)},
            ],
            fused=True,
        )

    # -- checkpoints: pretrained frozen networks come from their files, not the checkpoint ---
    def _file_prefixes(self) -> list[str]:
        modules = dict(self.named_modules())
        return [f"{name}." for name in _FROZEN if getattr(modules.get(name), "weights_from_file", False)]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        prefixes = tuple(self._file_prefixes())
        if prefixes:
            checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if not k.startswith(prefixes)}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        prefixes = tuple(self._file_prefixes())
        if prefixes:
            own = {k: v for k, v in self.state_dict().items() if k.startswith(prefixes)}
            checkpoint["state_dict"] = {**own, **checkpoint["state_dict"]}
