"""pSp inversion into W over a frozen generator: StyleInV's stage 2 (section 3.1, Eq. 1).

``x_hat = G(E(x) + w_avg)`` (StyleInV Eq. 1) with E the pSp ``BackboneEncoderUsingLastLayerIntoW``
(:class:`~stylevideo.nn.psp.PSPEncoderW`), trained on video frames with pSp's losses
(Richardson et al. 2021, section 3.3):

    L = l2_lambda ||x - x_hat||^2 + lpips_lambda LPIPS(x, x_hat) + id_lambda (1 - <R(x), R(x_hat)>)
        + w_norm_lambda ||E(x)||_2

with LPIPS on AlexNet, R the ArcFace IR-SE50 embedding of the face crop, and the w-norm
term pSp's latent regularisation (0 for inversion, as in pSp's encoding setting). StyleInV
(appendix F) follows pSp's settings (lambda 1 / 0.8 / 0.1, Ranger with gradient centralisation
at lr 1e-4, the encoder backbone initialised from ArcFace) and turns the identity loss off for TaiChi and SkyTimelapse.
The generator is frozen and synthesises with constant noise (the authors' ``noise_mode``).

Released files: :func:`load_official_checkpoint` reads StyleInV's stage-2 pickle (``psp-*.pkl``,
``pSp`` and ``G``) into a :class:`PSPInversion`; :func:`load_official_psp` reads the encoder of an
official pixel2style2pixel ``.pt`` (e.g. pSp's FFHQ encoder), which ``backbone_init`` accepts as
the starting point of stage 2 instead of ArcFace.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from lightning.pytorch import LightningModule
from torch import Tensor, nn

from stylevideo.methods.styleinv.checkpoints import STAGE_INPUTS, build_generator, load_generator
from stylevideo.nn.irse import UNITS, WIDTHS, backbone_state
from stylevideo.nn.nvlabs_pickle import Record, read_network_pickle
from stylevideo.nn.psp import PSPEncoderW, load_psp_checkpoint, official_psp_encoder

__all__ = [
    "IdentityLoss",
    "PSPInversion",
    "load_official_checkpoint",
    "load_official_psp",
    "lpips_network",
    "ranger",
]


def lpips_network(pretrained: bool = True, path: str | None = None) -> nn.Module:
    """LPIPS (AlexNet, v0.1 linear layers; inputs in [-1, 1]), frozen. ``pretrained=False``
    keeps a random AlexNet (no weight file needed: tests and the CPU smoke runs)."""
    if pretrained:
        from stylevideo.features.perceptual import lpips_alex

        net = lpips_alex(path)
    else:
        from torchmetrics.functional.image.lpips import _NoTrainLpips

        net = _NoTrainLpips(net="alex", pnet_rand=True)
    return net.eval().requires_grad_(False)


class IdentityLoss(nn.Module):
    """pSp's identity loss ``1 - <R(y_hat), R(y)>`` averaged over the batch, ``R(y)`` detached.

    ``R`` embeds the face crop (pSp: rows 35:223, columns 32:220 of a 256x256 image; the same
    fractions at other sizes) average-pooled to 112x112 into unit vectors; ``net`` is the
    ArcFace IR-SE50 (:func:`stylevideo.features.arcface.load_arcface`) or any module with
    that interface.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval().requires_grad_(False)

    def embed(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        x = x[
            :,
            :,
            round(35 * h / 256) : round(223 * h / 256),
            round(32 * w / 256) : round(220 * w / 256),
        ]
        return F.normalize(self.net(F.adaptive_avg_pool2d(x, 112)), dim=1)

    def forward(self, y_hat: Tensor, y: Tensor) -> Tensor:
        return (1 - (self.embed(y_hat) * self.embed(y).detach()).sum(dim=1)).mean()


def ranger(params, lr: float = 1e-4) -> torch.optim.Optimizer:
    """pSp's optimizer as StyleInV's stage 2 runs it (the authors' ``training/ranger.py``, 20.4.11):
    RAdam (betas 0.95 / 0.999, eps 1e-5, rectification once its SMA length passes 5, bias-
    corrected momentum steps before), Lookahead (every ``k = 6`` steps the slow weights move
    ``alpha = 0.5`` of the way to the fast ones, which restart from them) and gradient
    centralisation (Yong et al. 2020: every gradient of more than one dimension, convolution and
    fully connected weights, has its mean over all axes but the first subtracted before the
    moments). ``pytorch_optimizer``'s Ranger, configured to these rules; its state is in the
    optimizer state dict (checkpointed)."""
    from pytorch_optimizer import Ranger

    return Ranger(
        params,
        lr=lr,
        betas=(0.95, 0.999),
        alpha=0.5,
        k=6,
        n_sma_threshold=5,
        degenerated_to_sgd=True,
        use_gc=True,
        gc_conv_only=False,
        eps=1e-5,
    )


class PSPInversion(LightningModule):
    """Stage 2: a pSp W encoder trained to invert the frozen stage-1 generator on video frames.

    Batches are the data layer's dicts; every frame of ``frames [B, T, 3, H, W]`` is one
    training image (``RandomFrames`` sampler). Logged: ``loss/l2``, ``loss/lpips``,
    ``loss/id``, ``loss/w_norm``, ``loss/total``.

    Args:
        generator_ckpt: the stage-1 checkpoint
            (see :mod:`~stylevideo.methods.styleinv.checkpoints`).
        num_layers, widths, units: the encoder backbone (IR-SE50 by default).
        lr, optimizer: ``"ranger"`` (pSp) or ``"adam"``.
        l2_lambda, lpips_lambda, id_lambda, w_norm_lambda: the loss weights.
        noise_mode: the generator's noise during inversion (``const``; ``none`` for SkyTimelapse).
        backbone_init: ``"arcface"`` initialises the backbone from the ArcFace IR-SE50 weights
            (``arcface_weights`` path or the weight cache), as pSp does; the path of an official
            pSp ``.pt`` initialises it from that encoder (:func:`load_official_psp`); ``None``: random.
        arcface_weights, lpips_weights: explicit weight files (else the weight cache).
        lpips_pretrained: False uses a random AlexNet (CPU smoke runs without weight files).
        generator_arch: filled in from ``generator_ckpt`` and saved, so checkpoints of this
            module rebuild without the stage-1 file.
    """

    def __init__(
        self,
        generator_ckpt: str | None = None,
        num_layers: int = 50,
        widths: Sequence[int] = WIDTHS,
        units: Sequence[int] | None = None,
        lr: float = 1e-4,
        optimizer: str = "ranger",
        l2_lambda: float = 1.0,
        lpips_lambda: float = 0.8,
        id_lambda: float = 0.1,
        w_norm_lambda: float = 0.0,
        noise_mode: str = "const",
        backbone_init: str | None = "arcface",
        arcface_weights: str | None = None,
        lpips_weights: str | None = None,
        lpips_pretrained: bool = True,
        generator_arch: dict | None = None,
    ):
        super().__init__()
        if optimizer not in ("ranger", "adam"):
            raise ValueError(f"optimizer must be 'ranger' or 'adam', got {optimizer!r}")
        if backbone_init not in (None, "arcface") and not Path(backbone_init).is_file():
            raise ValueError(
                f"backbone_init must be 'arcface', None or an official pSp .pt file, got {backbone_init!r}"
            )
        restoring = generator_arch is not None and (generator_ckpt is None or not Path(generator_ckpt).is_file())
        if restoring:
            self.G = build_generator(generator_arch).eval().requires_grad_(False)
        else:
            self.G, generator_arch = load_generator(generator_ckpt)
        self.save_hyperparameters()
        self.hparams.generator_arch = generator_arch
        self.encoder = PSPEncoderW(self.G.w_dim, num_layers, "ir_se", 3, widths, units)
        self.register_buffer("w_avg", self.G.w_avg.detach().clone())
        if backbone_init is not None and not restoring:
            if backbone_init == "arcface":
                from stylevideo.features.arcface import ARCFACE_WEIGHTS
                from stylevideo.features.weights import load_weights

                state = backbone_state(load_weights(ARCFACE_WEIGHTS, arcface_weights))
            else:  # its W head only where it maps to this generator's w_dim
                own = self.encoder.state_dict()
                state = {
                    k: v for k, v in load_official_psp(backbone_init).items() if k in own and v.shape == own[k].shape
                }
            missing, _ = self.encoder.load_state_dict(state, strict=False)
            if set(missing) - {"linear.weight", "linear.bias"}:
                raise ValueError(f"{backbone_init} weights do not cover the encoder backbone (missing {missing[:4]})")
        # Loss networks stay out of the state dict (no 100 MB of frozen weights per checkpoint).
        self._lpips = [lpips_network(lpips_pretrained, lpips_weights)] if lpips_lambda > 0 else []
        self._identity = []
        if id_lambda > 0:
            from stylevideo.features.arcface import load_arcface

            self._identity = [IdentityLoss(load_arcface(arcface_weights))]

    @staticmethod
    def _restoring(hparams) -> bool:
        path = hparams["generator_ckpt"]
        return hparams["generator_arch"] is not None and (path is None or not Path(path).is_file())

    @classmethod
    def required_weights(
        cls, hparams, stage: str | None = None, module: PSPInversion | None = None
    ) -> dict[str, str | None]:
        """ArcFace (backbone initialisation, identity loss) and AlexNet (LPIPS), read when built;
        see :mod:`stylevideo.features.requirements`."""
        from stylevideo.features.arcface import ARCFACE_WEIGHTS
        from stylevideo.features.perceptual import ALEXNET_WEIGHTS

        out = {}
        if hparams["id_lambda"] > 0 or (hparams["backbone_init"] == "arcface" and not cls._restoring(hparams)):
            out[ARCFACE_WEIGHTS] = hparams["arcface_weights"]
        if hparams["lpips_lambda"] > 0 and hparams["lpips_pretrained"]:
            out[ALEXNET_WEIGHTS] = hparams["lpips_weights"]
        return out

    @classmethod
    def required_files(
        cls, hparams, stage: str | None = None, module: PSPInversion | None = None
    ) -> dict[str, tuple[str | None, str]]:
        """The stage-1 checkpoint (not when restoring from ``generator_arch``)."""
        if cls._restoring(hparams):
            return {}
        return {"generator_ckpt": (hparams["generator_ckpt"], STAGE_INPUTS["generator_ckpt"])}

    def train(self, mode: bool = True):
        """The generator stays in eval mode."""
        super().train(mode)
        self.G.eval()
        return self

    def invert(self, x: Tensor) -> Tensor:
        """``Inv(x) = E(x) + w_avg`` (Eq. 1), ``[N, w_dim]``."""
        return self.encoder(x) + self.w_avg

    def forward(self, x: Tensor) -> Tensor:
        """The reconstruction ``G(E(x) + w_avg)`` (Eq. 1)."""
        return self.G.synthesis(self.invert(x), self.hparams.noise_mode)

    def losses(self, x: Tensor) -> dict[str, Tensor]:
        """pSp's weighted loss terms for a batch of frames ``x [N, 3, H, W]``."""
        hp = self.hparams
        if x.shape[-1] != self.G.resolution:
            raise ValueError(
                f"frames are {x.shape[-1]}x{x.shape[-2]} but the generator makes "
                f"{self.G.resolution}x{self.G.resolution}; set data.resolution to match"
            )
        offset = self.encoder(x)
        y_hat = self.G.synthesis(offset + self.w_avg, hp.noise_mode)
        losses = {"l2": hp.l2_lambda * F.mse_loss(y_hat, x)}
        if self._lpips:
            losses["lpips"] = hp.lpips_lambda * self._lpips[0].to(x.device)(y_hat, x).mean()
        if self._identity:
            losses["id"] = hp.id_lambda * self._identity[0].to(x.device)(y_hat, x)
        if hp.w_norm_lambda > 0:
            losses["w_norm"] = hp.w_norm_lambda * offset.norm(dim=1).mean()
        return losses

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        x = rearrange(batch["frames"], "b t c h w -> (b t) c h w")
        losses = self.losses(x)
        total = sum(losses.values())
        logs = {f"loss/{k}": v.detach() for k, v in losses.items()} | {"loss/total": total.detach()}
        self.log_dict(logs, prog_bar=True, batch_size=x.shape[0])
        return total

    def configure_optimizers(self):
        hp = self.hparams
        if hp.optimizer == "ranger":
            return ranger(self.encoder.parameters(), lr=hp.lr)
        return torch.optim.Adam(self.encoder.parameters(), lr=hp.lr)


# -- released files -----------------------------------------------------------------------------------


def load_official_psp(path: str | Path) -> dict[str, Tensor]:
    """The encoder of an official pixel2style2pixel checkpoint (``{'state_dict', 'opts',
    'latent_avg'}``, e.g. pSp's FFHQ encoder) as :class:`~stylevideo.nn.psp.PSPEncoderW` entries:
    the IR-SE backbone (``input_layer``, ``body``), and ``linear`` when it is a W encoder
    (pSp's W+ ``GradualStyleEncoder`` has none: StyleInV's W head then starts untrained, as from ArcFace)."""
    psp = load_psp_checkpoint(path)
    state = backbone_state(psp.encoder.state_dict())
    if isinstance(psp.encoder, PSPEncoderW):
        state |= {k: v for k, v in psp.encoder.state_dict().items() if k.startswith("linear.")}
    return state


def load_official_checkpoint(path: str | Path, **overrides) -> PSPInversion:
    """StyleInV's stage-2 pickle (``psp-*.pkl`` of ``train_psp.py``: ``pSp`` and the stage-1 ``G``),
    read without executing it, as a :class:`PSPInversion` in eval mode: ``invert(x)`` is their
    ``pSp(x)`` (one code per image), ``forward(x)`` their ``G.synthesis(pSp(x), noise_mode='const')``.

    ``overrides`` go to :class:`PSPInversion` (e.g. ``lpips_lambda=0, id_lambda=0`` to read it
    without the loss networks' weight files); it can be fine-tuned as any stage-2 model.
    """
    content = read_network_pickle(path)
    if not isinstance(content, dict) or not isinstance(content.get("pSp"), Record) or "G" not in content:
        found = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise KeyError(f"{path}: not a StyleInV stage-2 pickle (expected 'pSp' and 'G', found {found})")
    layout, state, latent_avg = official_psp_encoder(content["pSp"], path)
    if layout["mode"] != "ir_se" or layout["in_channels"] != 3:
        raise ValueError(
            f"{path}: a {layout['mode']} encoder of {layout['in_channels']} channels; stage 2 is IR-SE on RGB"
        )
    units = tuple(layout["units"])
    num_layers = next((n for n, u in UNITS.items() if u == units), 50)
    kwargs = dict(generator_ckpt=str(path), num_layers=num_layers, widths=tuple(layout["widths"]), units=units)
    model = PSPInversion(**kwargs | {"backbone_init": None} | overrides)
    model.encoder.load_state_dict(state)
    model.w_avg.copy_(latent_avg)
    return model.eval()
