"""LightningDataModules, one per dataset, on one shared base.

Installed as ``stylevideo.data_modules``.
"""

from stylevideo.data_modules.base import ClipRecord, VideoClipDataset, VideoDataModule
from stylevideo.data_modules.synthetic import SyntheticDataModule

__all__ = ["ClipRecord", "SyntheticDataModule", "VideoClipDataset", "VideoDataModule"]
