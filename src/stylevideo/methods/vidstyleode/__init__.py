"""VidStyleODE (Haji Ali et al., ICCV 2023): disentangled video editing, StyleGAN2 + neural ODEs.

``VidStyleODE`` is the LightningModule; ``python -m stylevideo.methods.vidstyleode --help`` lists
the applications (edit, animate, transfer, blend, mix, interpolate, extrapolate) on a trained run.
"""

from stylevideo.methods.vidstyleode.content import (
    ContentEncoder,
    PretrainedPSPInverter,
    StandInInverter,
)
from stylevideo.methods.vidstyleode.frozen import (
    PretrainedCLIP,
    PretrainedSpliceViT,
    PretrainedStyleGAN2,
    StandInCLIP,
    StandInSpliceViT,
    StandInStyleGAN2,
)
from stylevideo.methods.vidstyleode.module import VidStyleODE
from stylevideo.methods.vidstyleode.text import ActorDescriptions

__all__ = [
    "ActorDescriptions",
    "ContentEncoder",
    "PretrainedCLIP",
    "PretrainedPSPInverter",
    "PretrainedSpliceViT",
    "PretrainedStyleGAN2",
    "StandInCLIP",
    "StandInInverter",
    "StandInSpliceViT",
    "StandInStyleGAN2",
    "VidStyleODE",
]
