"""Body keypoints: the best person's keypoints, low-score keypoints missing; loader path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylevideo.features.pose import PoseKeypoints
from stylevideo.features.weights import MissingWeightsError


class _FixedDetections(torch.nn.Module):
    """Two people in frame 0 (the second scores higher), nobody in frame 1."""

    def forward(self, images):
        kp = torch.zeros(2, 17, 3)
        kp[0, :, :2], kp[1, :, :2] = 1.0, 5.0
        kp_scores = torch.full((2, 17), 3.0)
        kp_scores[1, 4] = -1.0  # one keypoint of the best person is not visible
        people = {
            "scores": torch.tensor([0.7, 0.9]),
            "keypoints": kp,
            "keypoints_scores": kp_scores,
        }
        nobody = {
            "scores": torch.tensor([0.2]),
            "keypoints": kp[:1],
            "keypoints_scores": kp_scores[:1],
        }
        return [people, nobody][: len(images)]


def test_keypoints_of_the_most_confident_person_with_missing_ones_nan():
    kp = PoseKeypoints(net=_FixedDetections())(np.zeros((2, 32, 32, 3), np.uint8))
    assert kp.shape == (2, 17, 2)
    assert np.isnan(kp[0, 4]).all() and (np.delete(kp[0], 4, axis=0) == 5.0).all()
    assert np.isnan(kp[1]).all()


def test_keypoint_rcnn_weights_come_from_the_loader(tmp_path):
    with pytest.raises(MissingWeightsError, match="keypointrcnn_resnet50_fpn_coco.*download.pytorch"):
        PoseKeypoints()
