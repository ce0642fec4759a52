"""StyleInV (Wang, Jiang & Loy, ICCV 2023): temporal-style modulated inversion for video generation."""

from stylevideo.methods.styleinv.model import StyleInV

__all__ = ["StyleInV"]
