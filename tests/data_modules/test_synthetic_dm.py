"""SyntheticDataModule: cache root, generation on first use, split, mouth, Lightning use."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.cli import LightningArgumentParser

from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.video.sampling import ConsecutiveFrames, SparseFrames
from stylevideo.video.synthetic import params_hash, read_marker

TINY = dict(
    num_actors=2,
    actions=("talk", "nod"),
    clips_per_pair=2,
    min_frames=6,
    max_frames=8,
    video_resolution=32,
    resolution=32,
)


def test_default_root_is_a_cache_folder_generated_on_first_use(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEVIDEO_CACHE", str(tmp_path))
    dm = SyntheticDataModule(**TINY)
    assert dm.root == tmp_path / "synthetic" / params_hash(dm.generator_params)
    assert not dm.root.exists()
    dm.prepare_data()
    assert read_marker(dm.root) == dm.generator_params
    dm.setup("fit")
    assert len(dm.index()) == 2 * 2 * 2
    assert SyntheticDataModule(**TINY | {"data_seed": 1}).root != dm.root


def test_two_clips_per_pair_split_and_test_falls_back_to_val(tmp_path):
    dm = SyntheticDataModule(root=str(tmp_path), **TINY)
    dm.prepare_data()
    dm.setup("fit")
    assert {r.video_id.split("/")[-1] for r in dm.records("train")} == {"000"}
    assert {r.video_id.split("/")[-1] for r in dm.records("val")} == {"001"}
    assert dm.records("test") == []
    test_ids = [v for b in dm.test_dataloader() for v in b["video_id"]]
    assert sorted(test_ids) == sorted(r.video_id for r in dm.records("val"))


def test_split_of_three_clips_per_pair(synthetic_root):
    dm = SyntheticDataModule.from_root(synthetic_root)
    pairs = {(a, b) for a in ("actor00", "actor01", "actor02") for b in ("talk", "nod", "smile")}
    for split, clip in (("train", "000"), ("test", "001"), ("val", "002")):
        records = dm.records(split)
        assert {r.video_id.split("/")[-1] for r in records} == {clip}
        assert {(r.labels["actor"], r.labels["action"]) for r in records} == pairs


def test_mouth_key_is_the_ground_truth_polygon_at_the_batch_resolution(synthetic_root):
    dm = SyntheticDataModule.from_root(
        synthetic_root,
        sampler=ConsecutiveFrames(n=4),
        resolution=64,
        return_mouth=True,
        batch_size=3,
    )
    batch = next(iter(dm.train_dataloader()))
    assert batch["mouth"].shape == (3, 4, 20, 2) and batch["mouth"].dtype == torch.float32
    for video_id, t, mouth in zip(batch["video_id"], batch["t"], batch["mouth"], strict=True):
        polygon = dm.mouth_polygon(video_id)  # [T, P, 2] at the video's 32x32
        np.testing.assert_allclose(mouth.numpy(), polygon[t.long().numpy()] * 2, rtol=1e-6)
    plain = SyntheticDataModule.from_root(synthetic_root, batch_size=3)
    assert "mouth" not in next(iter(plain.train_dataloader()))
    with pytest.raises(KeyError, match="no clip 'actor09/talk/000'"):
        dm.mouth_polygon("actor09/talk/000")


def test_prepare_data_never_overwrites_a_dataset_made_with_other_parameters(synthetic_root):
    labels = (synthetic_root / "labels.csv").read_bytes()
    with pytest.raises(ValueError, match="holds a synthetic dataset made with .*from_root"):
        SyntheticDataModule(root=str(synthetic_root)).prepare_data()  # default parameters differ
    assert (synthetic_root / "labels.csv").read_bytes() == labels
    SyntheticDataModule.from_root(synthetic_root).prepare_data()  # same parameters: a no-op
    assert (synthetic_root / "labels.csv").read_bytes() == labels


def test_configurable_like_an_experiment_yaml(synthetic_root):
    parser = LightningArgumentParser()
    parser.add_lightning_class_args(LightningDataModule, "data", subclass_mode=True)
    config = parser.parse_object(
        {
            "data": {
                "class_path": "stylevideo.data_modules.synthetic.SyntheticDataModule",
                "init_args": {
                    "root": str(synthetic_root),
                    "resolution": [24, 32],
                    "batch_size": 2,
                    "sampler": {
                        "class_path": "stylevideo.video.sampling.SparseFrames",
                        "init_args": {"n": 3, "max_distance": 8, "clip_length": 12},
                    },
                    "num_actors": 3,
                    "actions": ["talk", "nod", "smile"],
                    "clips_per_pair": 3,
                    "min_frames": 12,
                    "max_frames": 24,
                    "video_resolution": 32,
                },
            }
        }
    )
    dm = parser.instantiate(config).data
    assert isinstance(dm, SyntheticDataModule) and dm.sampler == SparseFrames(n=3, max_distance=8, clip_length=12)
    dm.prepare_data()  # the parameters match the data: nothing regenerated
    dm.setup("fit")
    assert next(iter(dm.train_dataloader()))["frames"].shape == (2, 4, 3, 24, 32)


class _Recorder(pl.LightningModule):
    """Records which clips each epoch trained on."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: dict[int, list[str]] = {}

    def training_step(self, batch, batch_idx):
        assert batch["frames"].shape[1:] == (4, 3, 32, 32)
        self.seen.setdefault(self.current_epoch, []).extend(batch["video_id"])
        return (self.weight * batch["frames"].mean()).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.filterwarnings("ignore:You passed in a .val_dataloader. but have no .validation_step.")
def test_fit_sets_the_epoch_and_checkpoints_the_label_maps(synthetic_root, tmp_path):
    sampler = SparseFrames(clip_length=12)
    dm = SyntheticDataModule.from_root(synthetic_root, sampler=sampler, resolution=32, batch_size=3)
    model = _Recorder()
    trainer = pl.Trainer(
        max_epochs=2,
        limit_train_batches=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, datamodule=dm)
    assert len(model.seen[0]) == len(model.seen[1]) == 6
    assert model.seen[0] != model.seen[1]  # Lightning set the sampler's epoch
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    checkpoint = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert checkpoint["SyntheticDataModule"]["label_maps"] == dm.label_maps
