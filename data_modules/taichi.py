"""TaiChi-HD (Siarohin et al., 2019) at 256x256: FOMM's preprocessing, ``train/`` and ``test/``.

Accepts both forms FOMM's ``load_videos.py`` writes: video files (``--format .mp4``) and frame
folders of pngs (the default ``--format .png``, folders named ``<video id>#<start>#<end>.mp4``).

Splits (``split_protocol``):

- ``"lia"`` (lia B.1): FOMM's ``train/`` and ``test/`` as given (the paper: 1096 / 115 videos);
  test is the evaluation split.
- ``"styleinv"`` (styleinv G): every video of both folders trains (the paper: "the entire
  dataset has 3,103 videos"); evaluation, as in StyleGAN-V, uses the training videos.
"""

from __future__ import annotations

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, train_test_clips

__all__ = ["TaiChiDataModule"]

SPLIT_PROTOCOLS = ("lia", "styleinv")


class TaiChiDataModule(DatasetModule):
    """TaiChi-HD 256x256 from FOMM's preprocessing; no labels.

    Args:
        root: the dataset folder (holding ``train/`` and ``test/``).
        split_protocol: ``"lia"`` (train / test folders) or ``"styleinv"`` (all videos train).
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = (
        "TaiChi-HD from FOMM's load_videos.py: <root>/train/ and <root>/test/ holding one video "
        "file (.mp4) or frame folder (<id>#<start>#<end>.mp4/0000000.png ...) per clip"
    )

    def __init__(self, root: str | None = None, split_protocol: str = "lia", **kwargs):
        if split_protocol not in SPLIT_PROTOCOLS:
            raise ValueError(f"split_protocol must be one of {SPLIT_PROTOCOLS}, got {split_protocol!r}")
        super().__init__(root, **kwargs)
        self.split_protocol = split_protocol

    def find_clips(self) -> list[ClipRecord]:
        lia = self.split_protocol == "lia"
        return [
            ClipRecord(path, None, self.video_id(path), split=split if lia else "train")
            for path, split in train_test_clips(self, require_test=lia)
        ]
