"""torchmetrics Metric classes for every score the four papers report (docs/metrics.md).

- :mod:`~stylevideo.metrics.frechet`: ``frechet_distance``, ``FrechetDistance``,
  ``FrechetVideoDistance`` (FVD, StyleGAN-V protocol)
- :mod:`~stylevideo.metrics.image`: ``FID``, ``InceptionScoreMetric``
- :mod:`~stylevideo.metrics.face`: ``LiACorrelation`` (r-bar_t), ``IdentitySimilarity``
- :mod:`~stylevideo.metrics.warping`: ``WarpingError``
- :mod:`~stylevideo.metrics.animation`: ``PixelL1``, ``LPIPS``, ``KeypointDistance``
  (AKD/MKR), ``AverageEmbeddingDistance`` (AED)
- :mod:`~stylevideo.metrics.manipulation`: ``ManipulationAccuracy`` (CLIP)
- :mod:`~stylevideo.metrics.action`: ``ActionAccuracy``, ``ActionRecognizerModule``
- :mod:`~stylevideo.metrics.bench`: throughput cases for ``make bench``

Submodules are imported on use (they pull in OpenCV, dlib, CLIP or Lightning).
"""
