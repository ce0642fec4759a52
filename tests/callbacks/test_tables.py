"""The papers' tables: published numbers transcribed right, the paper's layout, our row,
the protocol (files hashed, stand-ins and deviations named), W&B, bad input."""

from __future__ import annotations

import csv
import hashlib

import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.loggers import WandbLogger
from torch import nn
from torch.utils.data import DataLoader

from stylevideo.callbacks.metric_base import MetricCallback
from stylevideo.callbacks.tables import EVAL_DIR, TableWriter, load_paper_tables
from stylevideo.features.i3d import I3D_WEIGHTS
from stylevideo.features.perceptual import ALEXNET_WEIGHTS
from stylevideo.metrics.action import ActionRecognizerModule
from stylevideo.metrics.skeleton_action import RGB

# Cells read off the papers' text by hand (../shared/papers), independently of experiments/eval.
PAPER_CELLS = [
    ("lia", "table1", "MRAA w/o bg", "TaichiHD (AKD, MKR)", (5.626, 0.025)),
    ("lia", "table1", "FOMM", "TED-talks (AKD, MKR)", (3.759, 0.0090)),
    ("lia", "table1", "X2Face", "VoxCeleb AED", 0.405),
    ("lia", "table1", "Ours", "TED-talks LPIPS", 0.11),
    ("lia", "table2", "Ours", "GermanPublicTV", 0.406),
    ("lia", "table4", "w/o D_m", "TaichiHD LPIPS", 0.186),
    ("lia", "table5", "40", "TaichiHD L1", 0.060),
    ("onestyle", "table1", "StyleGANV", "FVD16/64", (191, 920)),
    ("onestyle", "table1", "Ours(UC)", "ArcFace", (0.97, 0.018)),
    ("onestyle", "table2", "ImaGINator", "FVD16", 649.23),
    ("onestyle", "table3", "w/o D_t", "accuracy (top-1/top-3)%", (42.6, 80.5)),
    ("onestyle", "fig5a", "128", "mean correlation", 0.79),
    ("styleinv", "table1", "DIGAN", "SkyTimelapse FVD128", 269.43),
    ("styleinv", "table1", "Long-Video-GAN", "FaceForensics FVD16", 233.26),
    ("styleinv", "table6", "w/o noise", "TaiChi FVD128", 583.60),
    ("vidstyleode", "table1", "DiCoMoGAN [20]", "RAVDESS FID", 16.38),
    ("vidstyleode", "table1", "StyleGAN-V [44]", "Fashion Videos W_error", 0.0384),
    ("vidstyleode", "table2", "MRAA [43]", "Fashion Videos AKD_S", 2.46),
    ("vidstyleode", "table6", "Random Frame", "Mean Frame", 182.39),
]

PAPER_ROWS = {
    ("lia", "table1"): ["X2Face", "Monkey-Net", "FOMM", "MRAA w/o bg", "Ours"],
    ("lia", "table5"): ["5", "10", "20", "40", "100"],
    ("onestyle", "table1"): ["ImaGINator", "MOCOGAN-HD", "StyleGANV", "Ours(UC)", "Ours(C)"],
    ("styleinv", "table1"): ["MoCoGAN-HD", "DIGAN", "StyleGAN-V", "Long-Video-GAN", "StyleInV (ours)"],
    ("vidstyleode", "table1"): ["HairCLIP [55]", "STIT [49]", "LT [60]", "DiCoMoGAN [20]", "StyleGAN-V [44]", "Ours"],
}


@pytest.fixture(scope="module")
def papers():
    return {p: load_paper_tables(EVAL_DIR / f"{p}.yaml") for p in ("lia", "onestyle", "styleinv", "vidstyleode")}


def test_published_numbers_are_the_papers(papers):
    for paper, table, row, column, expected in PAPER_CELLS:
        cell = papers[paper][table].cell(row, column)
        assert cell == pytest.approx(expected, abs=0), (paper, table, row, column)
    for (paper, table), rows in PAPER_ROWS.items():
        assert [name for name, _ in papers[paper][table].rows] == rows
    assert papers["styleinv"]["table2"].cell("2 [57] + Clip 128", "FVD16") == {"value": 87.42, "note": "(+)"}
    assert papers["onestyle"]["table2"].cell("StyleGAN-V", "(top-1, top-3)%") == "n/a"
    assert set(papers["lia"]) == {"table1", "table2", "table4", "table5"}
    assert set(papers["onestyle"]) == {"table1", "table2", "table3", "fig5a"}
    assert set(papers["styleinv"]) == {"table1", "table2", "table6"}
    assert set(papers["vidstyleode"]) == {"table1", "table2", "table6"}


class ConstantMetrics(MetricCallback):
    """A metric family returning fixed numbers (the callbacks' history is what the writer reads)."""

    family = "constant"
    known = ("l1", "akd", "aed", "lpips")

    def __init__(self, metrics, values, num_clips: int = 7, **kwargs):
        super().__init__(metrics, **kwargs)
        self.values, self.num_clips = values, num_clips

    def check_module(self, pl_module):
        pass

    def required_weights(self, stage=None):
        """The files this family resolves (loader name -> configured path or None)."""
        return {ALEXNET_WEIGHTS: None}

    def build(self, trainer):
        return {}

    def evaluate(self, trainer, pl_module):
        return {k: torch.tensor(v, dtype=torch.float64) for k, v in self.values.items()}


class Still(LightningModule):
    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))

    def test_step(self, batch, batch_idx):
        pass

    def validation_step(self, batch, batch_idx):
        pass


class RecordingWandb(WandbLogger):
    """Records ``log_table`` calls without starting W&B."""

    def __init__(self):
        self.tables = []

    def log_table(self, key, columns=None, data=None, **kwargs):
        self.tables.append((key, columns, data))


def _read_md(path):
    lines = [line for line in path.read_text().splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines if "---" not in line]


@pytest.mark.parametrize("stage", ["test", "validate"])
def test_table_from_a_run_has_the_papers_layout_our_row_and_the_protocol(tmp_path, stage):
    detector = tmp_path / "i3d.pt"
    detector.write_bytes(b"not really a detector")
    cached = tmp_path / "weights" / "alexnet-owt-7be5be79.pth"  # in $STYLEVIDEO_WEIGHTS (conftest)
    cached.parent.mkdir()
    cached.write_bytes(b"not really AlexNet")
    metrics = ConstantMetrics(
        ["l1", "akd", "aed", "lpips"],
        {"l1": 0.05, "akd": 1.5, "aed": 0.2, "lpips": 0.13},
        seed=3,
        split="test",
        weights={I3D_WEIGHTS: str(detector)},
        extractors={"face": object()},
    )
    writer = TableWriter("lia", "table1", groups=["VoxCeleb"], deviations=["AKD: dlib landmarks"])
    trainer = Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        callbacks=[metrics, writer],
    )
    loader = DataLoader([torch.zeros(1)], batch_size=1)
    (trainer.test if stage == "test" else trainer.validate)(Still(), loader)

    grid = _read_md(tmp_path / "table1.md")
    assert grid[0] == [
        "Method",
        *[f"VoxCeleb {c}" for c in ("L1", "AKD", "AED", "LPIPS")],
        *[f"TaichiHD {c}" for c in ("L1", "(AKD, MKR)", "AED", "LPIPS")],
        *[f"TED-talks {c}" for c in ("L1", "(AKD, MKR)", "AED", "LPIPS")],
    ]
    # FOMM's row as the paper prints it (lia Table 1)
    assert grid[3] == ["FOMM", "0.046", "1.395", "0.141", "0.136", "0.063", "(6.472, 0.032)", "0.495", "0.191"] + [
        "0.030",
        "(3.759, 0.0090)",
        "0.428",
        "0.13",
    ]
    assert grid[1][1:5] == ["0.078", "7.687", "0.405", "-"]
    assert grid[-1] == ["ours: Still (no checkpoint)", "0.050", "1.500", "0.200", "0.130"] + [""] * 8

    with open(tmp_path / "table1.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:8] == ["Method", "VoxCeleb L1", "VoxCeleb AKD", "VoxCeleb AED", "VoxCeleb LPIPS", "TaichiHD L1"] + [
        "TaichiHD AKD",
        "TaichiHD MKR",
    ]
    assert [float(v) for v in rows[3][1:]] == [0.046, 1.395, 0.141, 0.136, 0.063, 6.472, 0.032, 0.495, 0.191] + [
        0.030,
        3.759,
        0.0090,
        0.428,
        0.13,
    ]
    assert [float(v) for v in rows[-1][1:5]] == [0.05, 1.5, 0.2, 0.13] and rows[-1][5:] == [""] * 10

    text = (tmp_path / "table1.md").read_text()
    digest = hashlib.sha256(b"not really a detector").hexdigest()
    assert f"Pretrained file i3d_kinetics400: {detector} (sha256 {digest})" in text
    digest = hashlib.sha256(b"not really AlexNet").hexdigest()
    assert f"Pretrained file alexnet_imagenet: {cached} (sha256 {digest})" in text
    (line,) = [line for line in text.splitlines() if line.startswith("- ConstantMetrics: ")]
    assert "metrics=['l1', 'akd', 'aed', 'lpips']" in line and "num_clips=7" in line
    assert "mode=sample" in line and "seed=3" in line and "split=test" in line
    assert "Deviation: AKD: dlib landmarks" in text
    assert "Deviation: ConstantMetrics: extractor 'face' is a stand-in" in text
    assert "lia.yaml" in text and "4.2 (a)" in text

    wandb = RecordingWandb()
    trainer.loggers = [wandb]
    writer.write(trainer, Still(), stage)
    ((key, columns, data),) = wandb.tables
    assert key == "tables/table1" and columns == rows[0]
    assert data[-1][:5] == ["ours: Still (no checkpoint)", 0.05, 1.5, 0.2, 0.13] and data[0][4] is None


class Run:
    """The parts of a Trainer the writer reads, for a run whose callbacks logged ``metrics``."""

    def __init__(self, folder, metrics: dict[str, float]):
        done = ConstantMetrics(["l1"], {})
        done.history.append({"stage": "test", "metrics": metrics})
        self.callbacks, self.loggers, self.is_global_zero = [done], [], True
        self.ckpt_path, self.datamodule, self.default_root_dir = None, None, folder


def test_transposed_table_with_logged_names_mapped_to_the_papers_columns(tmp_path):
    """onestyle Table 2 prints methods as columns; accuracies are percentages in the paper."""
    writer = TableWriter("onestyle", "table2", name="ours: k=128", metric_names={"fvd2048_16f": "fvd256_16f"})
    writer.write(Run(tmp_path, {"fvd256_16f": 201.5, "action_top1": 0.5, "action_top3": 0.875}), Still(), "test")
    assert _read_md(tmp_path / "table2.md") == [
        ["Methods", "StyleGAN-V", "ImaGINator", "Ours(C)", "ours: k=128"],
        ["FVD16", "421.32", "649.23", "184.55", "201.50"],
        ["(top-1, top-3)%", "n/a", "(0, 25)", "(68.5, 93.5)", "(50.0, 87.5)"],
    ]
    with open(tmp_path / "table2.csv", newline="") as f:
        assert list(csv.reader(f))[2] == ["top-1 %", "n/a", "0", "68.5", "50.0"]


def test_bad_configuration_fails_when_built_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match="has no table 'table3'.*table1"):
        TableWriter("lia", "table3", groups=["VoxCeleb"])
    with pytest.raises(ValueError, match=r"needs groups from \['VoxCeleb', 'TaichiHD', 'TED-talks'\]"):
        TableWriter("lia", "table1")
    with pytest.raises(ValueError, match="Voxceleb"):
        TableWriter("lia", "table1", groups=["Voxceleb"])
    with pytest.raises(FileNotFoundError, match="nopaper.yaml"):
        TableWriter("nopaper", "table1")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "paper: X\ntables:\n  table1:\n    title: T\n    section: '1'\n    protocol: P\n"
        "    columns: [{name: A, metric: a}, {name: B, metrics: [b, c], parts: [B, C], format: '{}/{}'}]\n"
        "    rows: [{name: r1, cells: [1.0, 2.0]}]\n"
    )
    with pytest.raises(ValueError, match=r"bad.yaml: tables.table1.rows\[0\]: column 'B' holds 2 numbers"):
        TableWriter(str(bad), "table1")


def test_protocol_names_the_action_recogniser_and_hashes_its_checkpoint(tmp_path):
    model = ActionRecognizerModule(27, width=8, size=16)
    ckpt = tmp_path / "rgb.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}, ckpt)
    run = Run(tmp_path, {"fvd2048_16f": 200.0})
    run.callbacks[0].classifier_ckpt = str(ckpt)

    class Data:
        root, resolution = "/data/utdmhad", (64, 64)

        def records(self, split):
            return {"train": [1, 2, 3], "val": [], "test": [4, 5]}[split]

    run.datamodule = Data()
    lines = TableWriter("onestyle", "table2").protocol(run, Still())
    assert "Data: Data at /data/utdmhad, resolution (64, 64), videos per split train 3, val 0, test 2" in lines
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert f"Action recogniser: {RGB}; {ckpt} (sha256 {digest})" in lines
    assert "not onestyle's skeleton-based PoseC3D" in RGB
