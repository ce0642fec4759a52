"""The frozen networks VidStyleODE builds on, pretrained or as small random-weight stand-ins.

VidStyleODE trains only f_D, the ConvGRU, the ODE and f_G (section 3.1); these stay frozen:

- the StyleGAN2 generator G (a rosinality ``.pt`` or an NVlabs ``.pkl`` such as StyleGAN-Human's
  1024x512, loaded into the shared :class:`~stylevideo.nn.stylegan2.Generator` by
  :func:`~stylevideo.nn.stylegan2.load_generator`): :class:`PretrainedStyleGAN2`;
- CLIP (ViT-B/32, clip-anytorch): :class:`PretrainedCLIP`;
- DINO-ViT for the Splicing-ViT appearance / structure descriptors: :class:`PretrainedSpliceViT`.

Every pretrained file comes through the weight loader. The ``StandIn*`` classes have the
same interface and architecture family with random weights and tiny widths: they make the
method run on a CPU and in tests, and compute nothing meaningful.

The ``Pretrained*`` modules are built on the meta device (no memory, no file needed, so a
configuration instantiates anywhere) and read their file in :meth:`PretrainedModule.materialize`,
which VidStyleODE calls in ``setup``; the declared architecture is checked against the file.
Their weights are left out of VidStyleODE's checkpoints and restored from the file instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylevideo.features.clip import CLIP_MODELS, clip_image_input, load_clip
from stylevideo.features.dino import (
    DINO_MODELS,
    DinoViT,
    dino_input,
    keys_self_similarity,
    load_dino,
)
from stylevideo.features.weights import register_weights, resolve_weights
from stylevideo.nn.stylegan2 import Generator, load_generator

__all__ = [
    "CLIP_ARCHITECTURES",
    "CLIPModel",
    "FrozenModule",
    "PretrainedCLIP",
    "PretrainedModule",
    "PretrainedSpliceViT",
    "PretrainedStyleGAN2",
    "SpliceViT",
    "StandInCLIP",
    "StandInSpliceViT",
    "StandInStyleGAN2",
    "StyleGAN2Wrapper",
    "resize_frames",
]

register_weights(
    "stylegan2_ffhq_config_f",
    "stylegan2-ffhq-config-f.pt",
    url="https://drive.google.com/file/d/1EM87UquaoQmk17Q8d5kYIAHqu0dkYqdT/view",
    description="FFHQ 1024x1024 StyleGAN2 config-f in rosinality's layout (the file "
    "VidStyleODE's README "
    "and StyleCLIP distribute)",
)
register_weights(
    "stylegan_human_v2_1024",
    "stylegan_human_v2_1024.pkl",
    url="https://drive.google.com/file/d/1FlAb1rYa0r_--Zj_ML8e6shmaF28hQb5/view",
    description="StyleGAN-Human's StyleGAN2 1024x512 (NVlabs pickle; VidStyleODE's Fashion generator)",
)


class FrozenModule(nn.Module):
    """Always in eval mode, no parameter trains."""

    weights_from_file: bool = False

    def freeze(self) -> None:
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True):
        return super().train(False)


class PretrainedModule(FrozenModule, ABC):
    """A frozen network built on the meta device; :meth:`materialize` reads its weight file."""

    weights_from_file = True

    @property
    def materialized(self) -> bool:
        return not any(t.is_meta for t in (*self.parameters(), *self.buffers()))

    def materialize(self) -> None:
        """Load the weights (once); subclasses implement :meth:`load`."""
        if not self.materialized:
            self.load()
            self.freeze()
            if not self.materialized:
                raise RuntimeError(f"{type(self).__name__}: some tensors are still unloaded after reading its file")

    @abstractmethod
    def load(self) -> None:
        """Replace the meta-device networks by the ones read from the weight file."""


# -- StyleGAN2 ---------------------------------------------------------------------------------


class StyleGAN2Wrapper(FrozenModule):
    """G(W+) with the network's constant noise: ``synthesize(ws [N, L, w_dim]) -> [N, 3, R, R]``."""

    def __init__(self, generator: Generator, latent_avg: Tensor):
        super().__init__()
        self.generator = generator
        self.register_buffer("latent_avg", latent_avg.float().expand(generator.num_ws, -1).clone())
        self.freeze()

    @property
    def num_ws(self) -> int:
        return self.generator.num_ws

    @property
    def w_dim(self) -> int:
        return self.generator.w_dim

    @property
    def resolution(self) -> int:
        return self.generator.resolution

    def synthesize(self, ws: Tensor) -> Tensor:
        return self.generator.synthesis(ws, noise_mode="const")


class PretrainedStyleGAN2(PretrainedModule, StyleGAN2Wrapper):
    """A released generator by loader name or ``path``: a rosinality ``.pt`` (``g_ema``,
    ``latent_avg``) or an NVlabs ``.pkl`` (``G_ema``, its ``w_avg``), read without executing it.

    ``resolution`` (the height), ``aspect_ratio`` (width / height), ``w_dim``, ``channel_base``,
    ``channel_max``, ``mapping_layers``, ``conv_clamp``: the architecture the file must have
    (defaults: FFHQ config-f, 1024 x 1024; StyleGAN-Human: ``aspect_ratio: 0.5``, ``conv_clamp: 256``).
    """

    def __init__(
        self,
        weights: str = "stylegan2_ffhq_config_f",
        path: str | None = None,
        resolution: int = 1024,
        w_dim: int = 512,
        channel_base: int = 32768,
        channel_max: int = 512,
        mapping_layers: int = 8,
        aspect_ratio: float = 1.0,
        conv_clamp: float | None = None,
    ):
        with torch.device("meta"):
            generator = Generator(
                resolution,
                w_dim,
                w_dim,
                mapping_layers,
                channel_base,
                channel_max,
                noise_mode="const",
                aspect_ratio=aspect_ratio,
                conv_clamp=conv_clamp,
            )
            StyleGAN2Wrapper.__init__(self, generator, torch.empty(w_dim))
        self.weights, self.path = weights, path

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """The file :meth:`load` reads (any stage: the weights are not in checkpoints)."""
        return {self.weights: self.path}

    def load(self) -> None:
        file = resolve_weights(self.weights, self.path)
        generator, latent_avg = load_generator(file)
        if generator.c_dim:
            raise ValueError(f"{file}: a conditional generator (c_dim={generator.c_dim}); VidStyleODE's is not")
        found = (generator.resolution, generator.synthesis.aspect_ratio, generator.w_dim, generator.num_ws)
        declared = (self.generator.resolution, self.generator.synthesis.aspect_ratio, self.generator.w_dim)
        if found[:3] != declared:
            raise ValueError(
                f"{file}: a {found[0]}px generator of aspect ratio {found[1]} with w_dim {found[2]}; the "
                f"configuration declares resolution={declared[0]}, aspect_ratio={declared[1]}, w_dim={declared[2]}"
            )
        self.generator = generator
        self.latent_avg = latent_avg.float().reshape(-1, generator.w_dim)[0].expand(generator.num_ws, -1).clone()


class StandInStyleGAN2(StyleGAN2Wrapper):
    """STAND-IN: a random-weight StyleGAN2 of the shared architecture at a tiny size."""

    def __init__(
        self,
        resolution: int = 32,
        w_dim: int = 64,
        channel_base: int = 512,
        channel_max: int = 64,
        mapping_layers: int = 2,
        aspect_ratio: float = 1.0,
    ):
        generator = Generator(
            resolution,
            w_dim,
            w_dim,
            mapping_layers,
            channel_base,
            channel_max,
            noise_mode="const",
            aspect_ratio=aspect_ratio,
        )
        super().__init__(generator, generator.mean_latent(256))


# -- CLIP ----------------------------------------------------------------------------------------


class CLIPModel(FrozenModule):
    """CLIP_I / CLIP_T: ``encode_image(frames in [-1, 1])``, ``encode_text(texts)``, both ``[N,D]``.

    Embeddings are raw (not normalised), as Eq. 5 / 12 use them. Text embeddings are cached
    per string (the descriptions of a dataset are few and fixed).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.float()
        self._text_cache: dict[str, Tensor] = {}
        self.freeze()

    @property
    def embed_dim(self) -> int:
        return self.model.text_projection.shape[1]

    def encode_image(self, frames: Tensor) -> Tensor:
        """In float32 also under autocast: L_C and L_D (Eq. 5, 12) compare embeddings of nearly
        identical frames, whose bf16/fp16 rounding error is as large as their difference."""
        with torch.autocast(frames.device.type, enabled=False):
            return self.model.encode_image(clip_image_input(frames.float(), self.model.visual.input_resolution))

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str]) -> Tensor:
        import clip

        device = self.model.text_projection.device
        new = sorted({t for t in texts if t not in self._text_cache})
        if new:
            tokens = clip.tokenize(new, truncate=True).to(device)
            with torch.autocast(device.type, enabled=False):
                embeddings = self.model.encode_text(tokens).float()
            self._text_cache.update(zip(new, embeddings.cpu(), strict=True))
        return torch.stack([self._text_cache[t] for t in texts]).to(device)


# clip.model.CLIP arguments of the OpenAI ViT models (embed_dim, image_resolution, vision_layers,
# vision_width, vision_patch_size, context_length, vocab_size, transformer_width/heads/layers)
CLIP_ARCHITECTURES = {
    "ViT-B/32": (512, 224, 12, 768, 32, 77, 49408, 512, 8, 12),
    "ViT-B/16": (512, 224, 12, 768, 16, 77, 49408, 512, 8, 12),
}


class PretrainedCLIP(PretrainedModule, CLIPModel):
    """OpenAI CLIP (``ViT-B/32`` by default, as the authors' code) from the weight loader."""

    def __init__(self, name: str = "ViT-B/32", path: str | None = None):
        from clip.model import CLIP

        if name not in CLIP_ARCHITECTURES:
            raise ValueError(f"unknown CLIP {name!r}; known: {sorted(CLIP_ARCHITECTURES)}")
        with torch.device("meta"):
            CLIPModel.__init__(self, CLIP(*CLIP_ARCHITECTURES[name]))
        self.name, self.path = name, path

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """The file :meth:`load` reads (any stage: the weights are not in checkpoints)."""
        return {CLIP_MODELS[self.name][0]: self.path}

    def load(self) -> None:
        self.model = load_clip(self.name, self.path)


class StandInCLIP(CLIPModel):
    """STAND-IN: a random-weight ``clip.model.CLIP`` (ViT image tower, text transformer), tiny.

    CLIP gives its image tower ``vision_width // 64`` heads, so ``vision_width`` is at least 64.
    """

    def __init__(
        self,
        embed_dim: int = 32,
        image_resolution: int = 32,
        vision_layers: int = 1,
        vision_width: int = 64,
        vision_patch_size: int = 8,
        transformer_width: int = 32,
        transformer_heads: int = 2,
        transformer_layers: int = 1,
    ):
        from clip.model import CLIP

        super().__init__(
            CLIP(
                embed_dim,
                image_resolution,
                vision_layers,
                vision_width,
                vision_patch_size,
                77,
                49408,
                transformer_width,
                transformer_heads,
                transformer_layers,
            )
        )


# -- Splicing ViT (DINO) -------------------------------------------------------------------------


class SpliceViT(FrozenModule):
    """Splicing-ViT descriptors of frames in [-1, 1]: ``(appearance [N, D], structure [N, T, T])``.

    Appearance: the [CLS] token of block ``appearance_layer``; structure: the cosine
    self-similarity of the keys of block ``structure_layer`` (Tumanyan et al. 2022: both the
    last block). Frames are resized to ``input_size`` on the short side.
    """

    def __init__(
        self,
        vit: DinoViT,
        appearance_layer: int = -1,
        structure_layer: int = -1,
        input_size: int = 224,
    ):
        super().__init__()
        self.vit = vit
        self.appearance_layer = appearance_layer % vit.depth
        self.structure_layer = structure_layer % vit.depth
        self.input_size = input_size
        self.freeze()

    def forward(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        x = dino_input(frames, self.input_size, self.vit.patch_size)
        blocks, keys = self.vit.features(x, blocks=[self.appearance_layer], keys=[self.structure_layer])
        return blocks[self.appearance_layer][:, 0].float(), keys_self_similarity(keys[self.structure_layer])


class PretrainedSpliceViT(PretrainedModule, SpliceViT):
    """DINO ViT-B/16 (the authors' code) from the weight loader; the last block by default."""

    def __init__(
        self,
        name: str = "dino_vitb16",
        path: str | None = None,
        appearance_layer: int = 11,
        structure_layer: int = 11,
        input_size: int = 224,
    ):
        if name not in DINO_MODELS:
            raise ValueError(f"unknown DINO model {name!r}; known: {sorted(DINO_MODELS)}")
        with torch.device("meta"):
            SpliceViT.__init__(self, DinoViT(**DINO_MODELS[name][1]), appearance_layer, structure_layer, input_size)
        self.name, self.path = name, path

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """The file :meth:`load` reads (any stage: the weights are not in checkpoints)."""
        return {self.name: self.path}

    def load(self) -> None:
        self.vit = load_dino(self.name, self.path)


class StandInSpliceViT(SpliceViT):
    """STAND-IN: a random-weight DINO ViT, tiny."""

    def __init__(
        self,
        patch_size: int = 8,
        embed_dim: int = 32,
        depth: int = 2,
        num_heads: int = 2,
        input_size: int = 32,
    ):
        vit = DinoViT(patch_size, embed_dim, depth, num_heads, img_size=input_size)
        super().__init__(vit, depth - 1, depth - 1, input_size)


def resize_frames(frames: Tensor, size: Sequence[int]) -> Tensor:
    """Bicubic (antialiased) resize of ``[N, 3, H, W]`` to ``size``; identity if equal."""
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    return F.interpolate(frames, size=tuple(size), mode="bicubic", align_corners=False, antialias=True)
