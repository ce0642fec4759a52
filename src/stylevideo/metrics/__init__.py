"""torchmetrics Metric classes (FVD, FID, LiA, warping error, ...)."""
