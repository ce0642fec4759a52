"""Metric callbacks and sample-video logging (installed as stylevideo.callbacks)."""
