"""Reading and writing video files, frame sampling, the synthetic dataset.

The synthetic dataset is ``stylevideo.video.synthetic`` (not imported here, so that
``python -m stylevideo.video.synthetic`` runs cleanly).
"""

from stylevideo.video.io import (
    VideoReadError,
    count_frames,
    frames_to_tensor,
    read_frames,
    tensor_to_uint8,
    video_fps,
    video_grid,
    write_video,
)
from stylevideo.video.sampling import (
    ConsecutiveFrames,
    FrameSampler,
    IrregularFrames,
    RandomFrames,
    SourceDriving,
    SparseFrames,
)

__all__ = [
    "ConsecutiveFrames",
    "FrameSampler",
    "IrregularFrames",
    "RandomFrames",
    "SourceDriving",
    "SparseFrames",
    "VideoReadError",
    "count_frames",
    "frames_to_tensor",
    "read_frames",
    "tensor_to_uint8",
    "video_fps",
    "video_grid",
    "write_video",
]
