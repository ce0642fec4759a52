"""Pretrained feature extractors, all resolved through one weight loader (`weights`)."""

from stylevideo.features.weights import (
    MissingWeightsError,
    WeightSpec,
    load_weights,
    register_weights,
    resolve_weights,
    weights_dir,
)

__all__ = [
    "MissingWeightsError",
    "WeightSpec",
    "load_weights",
    "register_weights",
    "resolve_weights",
    "weights_dir",
]
