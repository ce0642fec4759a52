"""FaceForensics (Rössler et al., 2018) at 256x256, cropped by the mask-based square crop.

Accepts the cropped dataset: one frame folder per video (StyleGAN-V's form, which
``python -m stylevideo.video.preprocess.mask_crop`` writes: ``<root>/<video>/000000.jpg``) or
one video file per video. The original release (``<split>/original/*.avi`` with
``<split>/mask/*.avi``) is refused with the command that crops it (styleinv appendix D,
Algorithm 1).

Split (styleinv G): StyleGAN-V's protocol, which StyleInV follows: the 704 videos of
FaceForensics' training split, all used for training; evaluation (FVD) compares with the
training videos. No labels.
"""

from __future__ import annotations

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, list_clips

__all__ = ["FaceForensicsDataModule"]

CROP_COMMAND = "python -m stylevideo.video.preprocess.mask_crop FACEFORENSICS_ROOT OUT --split train"


class FaceForensicsDataModule(DatasetModule):
    """Mask-cropped FaceForensics videos, all in the training split; no labels.

    Args:
        root: the folder of cropped videos (frame folders or video files).
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = (
        "FaceForensics cropped by Algorithm 1: <root>/<video>/ frame folders (000000.jpg ...) "
        f"or <root>/<video>.mp4, as `{CROP_COMMAND}` writes them"
    )

    def find_clips(self) -> list[ClipRecord]:
        for raw in ("original", "train/original", "val/original", "test/original"):
            if (self.root / raw).is_dir():
                raise self.layout_error(f"this is the uncropped release ({raw}/); crop it first: {CROP_COMMAND}")
        return [ClipRecord(path, None, self.video_id(path)) for path in list_clips(self.root)]
