"""A folder of videos as one split: evaluation data without a layout of its own.

Every video file (mp4, mov, avi, mkv, webm) or frame folder directly inside ``root`` is one clip
of split ``split`` (default ``test``); no labels. lia's Table 2 takes its cross-dataset source
images from such a folder (GermanPublicTV, Thies et al. 2020, cropped to faces as VoxCeleb is:
FOMM's ``video-preprocessing``), the driving videos from VoxCeleb's test split
(:class:`~stylevideo.callbacks.video_fid.VideoFIDMetrics`' ``source_data``).
"""

from __future__ import annotations

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, list_clips

__all__ = ["VideoFolderDataModule"]


class VideoFolderDataModule(DatasetModule):
    """The videos directly inside ``root``, all of one split; no labels.

    Args:
        root: the folder of videos.
        split: the split every video belongs to (``test``: evaluation data).
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = "a folder holding video files (.mp4, .mov, .avi, .mkv, .webm) or frame folders, directly inside it"

    def __init__(self, root: str | None = None, split: str = "test", **kwargs):
        super().__init__(root, **kwargs)
        self.split = split

    def find_clips(self) -> list[ClipRecord]:
        return [ClipRecord(path, None, self.video_id(path), split=self.split) for path in list_clips(self.root)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={self.root}, split={self.split})"

    __str__ = __repr__  # the tables' protocol lines print it (LightningDataModule's lists its loaders)
