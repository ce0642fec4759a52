"""LIA (Wang et al., ICLR 2022): Latent Image Animator.

- :class:`LIA`: the LightningModule (training, ``animate``, ``reference_image``, ``manipulate``);
- :class:`LIAAutoencoder`: E, the magnitude MLP, D_m and G (Eq. 1-6, 11-12);
- :func:`load_official_checkpoint` / :func:`export_official_checkpoint`: the authors' checkpoints;
- ``python -m stylevideo.methods.lia.animate``: animate an image with a driving video.
"""

from stylevideo.methods.lia.autoencoder import LIAAutoencoder
from stylevideo.methods.lia.module import LIA
from stylevideo.methods.lia.official import (
    export_official_checkpoint,
    export_official_state_dict,
    load_official_checkpoint,
    official_key_map,
)

__all__ = [
    "LIA",
    "LIAAutoencoder",
    "export_official_checkpoint",
    "export_official_state_dict",
    "load_official_checkpoint",
    "official_key_map",
]
