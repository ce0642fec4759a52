"""TED-talk (MRAA, Siarohin et al., 2021) resized to 256x256: ``train/`` and ``test/``.

Accepts video files and frame folders (MRAA's ``load_videos.py`` writes either), the split
is the two folders (lia B.1: 1124 training and 130 test videos).
"""

from __future__ import annotations

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, train_test_clips

__all__ = ["TEDTalkDataModule"]


class TEDTalkDataModule(DatasetModule):
    """TED-talk at 256x256; no labels.

    Args:
        root: the dataset folder (holding ``train/`` and ``test/``).
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = (
        "TED-talk from MRAA's load_videos.py, resized to 256x256: <root>/train/ and <root>/test/ "
        "holding one video file (.mp4) or frame folder per clip"
    )

    def find_clips(self) -> list[ClipRecord]:
        return [ClipRecord(path, None, self.video_id(path), split=split) for path, split in train_test_clips(self)]
