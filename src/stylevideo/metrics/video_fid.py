"""lia's video FID (Table 2, B.2): the Frechet distance of 3D ResNeXt-101 features.

"We follow the same implementation as Wang et al. (2020a) [G3AN] and utilize a pre-trained
ResNext101 (Hara et al., 2018) to extract spatio-temporal features [...] We take the first
100 frames of each video as input of the feature-extractor" (lia B.2). Features:
:meth:`~stylevideo.features.resnext3d.ResNeXt3D.features` (2048 per video). Statistics as
G3AN's ``evaluation/fid.py``: the mean and the *unbiased* covariance (``np.cov``), FD as in
:func:`~stylevideo.metrics.frechet.frechet_distance`. G3AN's loader takes the central frames
of a video; lia says the first 100, which is what this metric feeds. A video shorter than
``num_frames`` is fed whole (the network pools over time).
"""

from __future__ import annotations

import os

from torch import Tensor, nn

from stylevideo.metrics.frechet import FrechetDistance

__all__ = ["VideoFID"]


class VideoFID(FrechetDistance):
    """``update(videos [B, T, 3, H, W] in [-1, 1] or uint8, real)``; ``compute()`` the video FID.

    ``network``: a :class:`~stylevideo.features.resnext3d.ResNeXt3D` (tests pass a small one
    with random weights), else the released Kinetics ResNeXt-101 from the weight loader
    (``weights_path`` or the cache).
    """

    def __init__(
        self,
        network: nn.Module | None = None,
        weights_path: str | os.PathLike | None = None,
        num_frames: int = 100,
        **kwargs,
    ):
        if network is None:
            from stylevideo.features.resnext3d import load_resnext3d

            network = load_resnext3d(weights_path)
        super().__init__(network.num_features, **kwargs)
        self.network, self.num_frames = network.eval(), num_frames

    def update(self, videos: Tensor, real: bool) -> None:
        FrechetDistance.update(self, self.network.features(videos[:, : self.num_frames]), real)

    def mean_cov(self, real: bool) -> tuple[Tensor, Tensor]:
        """Mean and unbiased covariance (G3AN's ``np.cov(act, rowvar=False)``)."""
        mean, biased = super().mean_cov(real)
        n = self.real_count if real else self.fake_count
        return mean, biased * n / (n - 1)
