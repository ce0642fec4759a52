"""VoxCeleb (Nagrani et al., 2019) cropped to 256x256 by FOMM's preprocessing: train/, test/.

Accepts video files and frame folders (``video-preprocessing/load_videos.py`` writes either;
clips are named ``<person id>#<youtube id>#<start>#<end>.mp4``). The split is the two folders
(lia B.1: 17928 training and 495 test videos). Label ``actor``: the person id, the part of
the name before the first ``#`` (a name without ``#`` is its own actor), so class-aware
sampling and identity metrics can group clips by person.
"""

from __future__ import annotations

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, clip_name, train_test_clips

__all__ = ["VoxCelebDataModule"]


class VoxCelebDataModule(DatasetModule):
    """VoxCeleb 256x256 crops; label ``actor`` (the VoxCeleb person id).

    Args:
        root: the dataset folder (holding ``train/`` and ``test/``).
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = (
        "VoxCeleb from FOMM's video-preprocessing (load_videos.py): <root>/train/ and "
        "<root>/test/ holding one video file (.mp4) or frame folder per clip, named "
        "<person id>#<youtube id>#<start>#<end>.mp4"
    )

    def find_clips(self) -> list[ClipRecord]:
        return [
            ClipRecord(
                path,
                None,
                self.video_id(path),
                labels={"actor": clip_name(path).split("#")[0]},
                split=split,
            )
            for path, split in train_test_clips(self)
        ]
