"""torch-fidelity's Inception-v3 (the TF FID network) for FID and IS, via the weight loader.

torchmetrics' FID/IS would download these weights on first use; here they resolve through
:mod:`stylevideo.features.weights` instead. Frames are resized to 299x299 with
torch-fidelity's TF1-compatible bilinear resize (``antialias=False``), matching the
TensorFlow graph that StyleGAN-V's ``fid50k`` detector was converted from.
"""

from __future__ import annotations

import os

from torchmetrics.image.fid import NoTrainInceptionV3

from stylevideo.features.weights import register_weights, resolve_weights

__all__ = ["INCEPTION_WEIGHTS", "inception_v3"]

INCEPTION_WEIGHTS = "inception_v3_fidelity"
register_weights(
    INCEPTION_WEIGHTS,
    "weights-inception-2015-12-05-6726825d.pth",
    url="https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    description="torch-fidelity's port of the TF Inception-v3 used by FID and IS",
)

_NUM_FEATURES = {"64": 64, "192": 192, "768": 768, "2048": 2048, "logits_unbiased": 1008}


def inception_v3(feature: str = "2048", path: str | os.PathLike | None = None) -> NoTrainInceptionV3:
    """Inception-v3 returning one feature (``"2048"`` pool features, ``"logits_unbiased"``).

    Input: ``uint8 [N, 3, H, W]``; output ``[N, D]``.
    """
    if feature not in _NUM_FEATURES:
        raise ValueError(f"feature must be one of {sorted(_NUM_FEATURES)}, got {feature!r}")
    net = NoTrainInceptionV3(
        name="inception-v3-compat",
        features_list=[feature],
        feature_extractor_weights_path=str(resolve_weights(INCEPTION_WEIGHTS, path)),
        antialias=False,
    )
    net.num_features = _NUM_FEATURES[feature]
    return net
