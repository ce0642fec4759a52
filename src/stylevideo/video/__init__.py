"""Reading and writing video files, frame sampling, the synthetic dataset."""

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
from stylevideo.video.synthetic import generate_synthetic_dataset

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
    "generate_synthetic_dataset",
    "read_frames",
    "tensor_to_uint8",
    "video_fps",
    "video_grid",
    "write_video",
]
