"""`make bench`: measured speed and memory of every method, the data loaders and the metrics."""
