"""DeeperForensics-1.0 source videos (Jiang et al., CVPR 2020), FFHQ-aligned, as StyleInV uses them.

Accepts the aligned source videos: video files or frame folders named like the release's
``<ID>_light_<direction>_<emotion>_camera_<direction>`` at any depth (the release's
``source_videos/`` tree after ``python -m stylevideo.video.preprocess.face_align``, which keeps
names and folders). The raw 1920x1080 release is refused with that command.

Selection and split (styleinv G): "100 identities expressing eight emotions ... we only
select the condition where the lighting is uniform and the camera shoots from the straight
front" (``light="uniform"``, ``camera="front"``; 732 videos in the paper), all used for
training; evaluation (FVD) compares with the training videos, as in StyleGAN-V. Labels:
``actor`` (M004, W101, ...) and ``emotion`` (the release's 8 names).
"""

from __future__ import annotations

import re

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, find_named_clips

__all__ = ["DeeperForensicsDataModule"]

EMOTIONS = ("angry", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")
LIGHTS = ("uniform", "up", "down", "left", "right", "leftup", "leftdown", "rightup", "rightdown")
CAMERAS = ("front", "up", "down", "left", "right", "leftfront", "rightfront")
ALIGN_COMMAND = (
    "python -m stylevideo.video.preprocess.face_align DEEPERFORENSICS/source_videos OUT "
    "--include '*_light_uniform_*_camera_front*' --size 256"
)
_NAME = re.compile(r"([MW]\d{3})_light_([a-z]+)_([a-z]+)_camera_([a-z]+)")


class DeeperForensicsDataModule(DatasetModule):
    """Aligned DeeperForensics source videos of one light and camera; labels ``actor``, ``emotion``.

    Args:
        root: the folder of aligned videos.
        light: the lighting condition (StyleInV: ``"uniform"``).
        camera: the camera (StyleInV: ``"front"``).
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = (
        "DeeperForensics-1.0 source videos aligned by face_align: videos or frame folders "
        "named <ID>_light_<light>_<emotion>_camera_<camera> (e.g. M004_light_uniform_happy_"
        f"camera_front) at any depth; make them with `{ALIGN_COMMAND}`"
    )

    def __init__(self, root: str | None = None, light: str = "uniform", camera: str = "front", **kwargs):
        if light not in LIGHTS or camera not in CAMERAS:
            raise ValueError(f"light must be one of {LIGHTS} and camera one of {CAMERAS}, got {light!r}, {camera!r}")
        super().__init__(root, **kwargs)
        self.light, self.camera = light, camera

    def find_clips(self) -> list[ClipRecord]:
        if (self.root / "source_videos").is_dir() or (self.root / "manipulated_videos").is_dir():
            raise self.layout_error(f"this is the raw release; align the source videos first: {ALIGN_COMMAND}")
        records = []
        for path, match in find_named_clips(self.root, _NAME):
            actor, light, emotion, camera = match.groups()
            if emotion not in EMOTIONS:
                raise ValueError(f"{path}: unknown emotion {emotion!r} (expected {EMOTIONS})")
            if light == self.light and camera == self.camera:
                labels = {"actor": actor, "emotion": emotion}
                records.append(ClipRecord(path, None, self.video_id(path), labels))
        if not records:
            raise self.layout_error(f"no clip with light {self.light!r} and camera {self.camera!r}")
        return records
