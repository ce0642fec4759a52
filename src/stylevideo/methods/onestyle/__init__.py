"""onestyle (Manandhar & Genovesio, WACV 2024): one temporal style generates a video.

:class:`OneStyle` is the LightningModule (``class_path: stylevideo.methods.onestyle.OneStyle``);
:mod:`.generator` holds F_t, time2vec, F_c and the synthesis network, :mod:`.discriminators`
D_s and D_t, :mod:`.inversion` the temporal GAN inversion (Eq. 5) and pivotal tuning,
``python -m stylevideo.methods.onestyle.invert`` its command line,
:func:`load_official_checkpoint` the authors' released generators (:mod:`.official`).
"""

from stylevideo.methods.onestyle.module import OneStyle
from stylevideo.methods.onestyle.official import load_official_checkpoint

__all__ = ["OneStyle", "load_official_checkpoint"]
