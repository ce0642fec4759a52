"""StyleInV (Wang, Jiang & Loy, ICCV 2023): temporal-style modulated inversion for video generation."""

from stylevideo.methods.styleinv.model import StyleInV
from stylevideo.methods.styleinv.official import load_official_checkpoint

__all__ = ["StyleInV", "load_official_checkpoint"]
