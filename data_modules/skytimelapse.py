"""SkyTimelapse (Xiong et al., CVPR 2018) at 256x256, with class-aware sampling.

Accepts StyleGAN-V's release (the form StyleInV uses, styleinv G: 2,114 videos): one frame
folder per video, ``<root>/<video>/<frame>.jpg`` (video files are accepted too); and MDGAN's
original layout, ``sky_train/<video>/<clip>/<frame>.jpg`` and ``sky_test/...``.

Split: StyleGAN-V's release is all training, evaluated on the training videos (StyleGAN-V's
protocol); MDGAN's layout keeps its ``sky_train`` / ``sky_test`` split. Some videos are hours
long, so sampling is class-aware by default (``class_aware=True``: every video equally
likely, not every frame; styleinv F/G, as in StyleGAN-V, also for the metrics, whose
``clip_dataloader`` takes one clip per video). No labels.
"""

from __future__ import annotations

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, list_clips

__all__ = ["SkyTimelapseDataModule"]

_MDGAN = {"sky_train": "train", "sky_test": "test"}


class SkyTimelapseDataModule(DatasetModule):
    """SkyTimelapse frame folders; no labels.

    Args:
        root: StyleGAN-V's folder of videos, or MDGAN's folder holding ``sky_train/``.
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments
            (``class_aware`` is True by default).
    """

    layout = (
        "SkyTimelapse: StyleGAN-V's release, <root>/<video>/ frame folders (or video files), "
        "or MDGAN's sky_train/<video>/<clip>/ and sky_test/<video>/<clip>/ frame folders"
    )

    def find_clips(self) -> list[ClipRecord]:
        if not (self.root / "sky_train").is_dir():
            return [ClipRecord(p, None, self.video_id(p)) for p in list_clips(self.root)]
        records = []
        for folder, split in _MDGAN.items():
            if not (self.root / folder).is_dir():
                continue
            for video in sorted(p for p in (self.root / folder).iterdir() if p.is_dir()):
                clips = list_clips(video)
                if not clips:
                    raise self.layout_error(f"{folder}/{video.name}/ holds no clip folders")
                records += [ClipRecord(p, None, self.video_id(p), split=split) for p in clips]
        return records
