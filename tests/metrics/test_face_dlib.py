"""Face metrics with the real dlib models on real talking heads (../shared/data/real)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from clip_io import as_video

pytest.importorskip("dlib", reason="the face extra (dlib) is not installed")

from stylevideo.features.face import ArcFaceEmbedder, DlibFace  # noqa: E402
from stylevideo.metrics.animation import KeypointDistance  # noqa: E402
from stylevideo.metrics.face import IdentitySimilarity, LiACorrelation  # noqa: E402
from stylevideo.video.io import read_frames  # noqa: E402

FRAMES = 24


@pytest.fixture(scope="module")
def face() -> DlibFace:
    return DlibFace(upsample=0)  # 256x256 talking heads: faces are large


@pytest.fixture(scope="module")
def talks(real_data) -> tuple[np.ndarray, np.ndarray]:
    """24 frames of each of the two VoxCeleb-style talks, uint8 [T, 256, 256, 3]."""
    return tuple(read_frames(real_data / "voxceleb" / f"talking_{k}.mp4", range(FRAMES)).numpy() for k in "ab")


def test_lia_signal_of_a_real_talk(face, talks):
    lia = LiACorrelation(landmarks=face.landmarks)
    signals = lia.signals(torch.stack([as_video(talks[0]), as_video(talks[1])]))
    assert np.isfinite(signals).all()  # dlib finds the face in every frame
    a, b = signals
    assert a.std() > 0.05 * a.mean()  # the mouth moves: a non-constant signal
    lia.update(signals=np.stack([a, a])[None])
    assert lia.compute()["lia_r"].item() == pytest.approx(1.0)
    lia.reset()
    lia.update(signals=np.stack([a, b])[None])
    assert lia.compute()["lia_r"].item() < 0.5  # two different talks


def test_identity_is_near_one_within_a_clip_and_lower_across(face, talks):
    a, b = (as_video(t[:5]) for t in talks)
    same = IdentitySimilarity(embed=face.descriptors)
    same.update(a[None])
    mixed = IdentitySimilarity(embed=face.descriptors)
    mixed.update(torch.cat([b[:1], a[1:]])[None])  # first frame from the other person
    within, across = same.compute()["mean"].item(), mixed.compute()["mean"].item()
    assert within > 0.97 and across < within - 0.1


def test_akd_of_a_shifted_clip_is_the_shift(face, talks):
    clip = talks[0][:6]
    shifted = np.roll(clip, 4, axis=2)  # 4 px to the right
    metric = KeypointDistance(face.landmarks)
    metric.update(as_video(shifted)[None], as_video(clip)[None])
    out = metric.compute()
    assert 3.0 < out["akd"].item() < 5.0 and out["mkr"].item() == 0


class _MeanColour(torch.nn.Module):
    """An ArcFace stand-in: records its input shape, embeds the crop's mean colour."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(tuple(x.shape))
        return torch.nn.functional.normalize(x.mean((2, 3)).repeat(1, 171)[:, :512], dim=1)


def test_arcface_embedder_crops_detected_faces_and_marks_missing_ones(face, talks):
    frames = np.stack([talks[0][0], np.zeros_like(talks[0][0])])  # a face, then none
    embedder = ArcFaceEmbedder(net=_MeanColour(), face=face)
    out = embedder(frames)
    assert embedder.net.seen == [(1, 3, 112, 112)]
    assert np.isfinite(out[0]).all() and np.isnan(out[1]).all()
