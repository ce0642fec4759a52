"""The CLI checks a run's inputs before it creates anything, and says what is wrong in one line
per problem; ``--trainer.default_root_dir`` is the root of the run folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from stylevideo.cli import RUN_DIR_ENV, ConfigError, StyleVideoCLI, expand_config_bases, main

REPO = Path(__file__).resolve().parents[1]
EXP = REPO / "experiments"


@pytest.fixture(autouse=True)
def _restore_cli_env(monkeypatch):
    """The CLI sets the global seed's and the run folder's variables; restore them after."""
    monkeypatch.setenv("PL_GLOBAL_SEED", "0")
    monkeypatch.setenv(RUN_DIR_ENV, "")


def _created(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "weights")


def test_missing_weights_fail_before_anything_is_created(tmp_path):
    with pytest.raises(SystemExit) as exit:
        main(["fit", "--config", str(EXP / "lia_synthetic.yaml")])
    message = str(exit.value.code)
    assert message.startswith("error: this run needs 1 missing file(s) or package(s):\n  - vgg19_imagenet: ")
    assert "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in message
    fetch = f"stylevideo weights fetch --config {EXP}/lia_synthetic.yaml"
    assert message.endswith(f"Download the weights with:\n    {fetch}")
    assert _created(tmp_path) == []  # no run folder, no W&B run (the test runs in tmp_path)


def test_a_missing_data_root_fails_before_anything_is_created(tmp_path):
    missing = tmp_path / "no_taichi"
    args = ["fit", "--config", str(EXP / "stylegan2_synthetic.yaml")]
    args += ["--data", "stylevideo.data_modules.taichi.TaiChiDataModule", "--data.init_args.root", str(missing)]
    args += ["--data.init_args.resolution", "32"]
    with pytest.raises(SystemExit) as exit:
        main(args)
    assert str(exit.value.code) == (
        f"error: data (TaiChiDataModule): dataset root {missing} does not exist (expected "
        + "TaiChi-HD from FOMM's load_videos.py: <root>/train/ and <root>/test/ holding one video file (.mp4) or "
        + "frame folder (<id>#<start>#<end>.mp4/0000000.png ...) per clip)"
    )
    assert _created(tmp_path) == []


def test_missing_stage_checkpoints_are_one_line_each_with_the_pipeline_command(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["fit", "--config", str(EXP / "styleinv_synthetic.yaml")])
    message = str(exit.value.code)
    lines = message.splitlines()
    assert len(lines) == 3, message
    pipeline = "python -m stylevideo.methods.styleinv.pipeline styleinv_synthetic"
    assert lines[1].startswith("  - generator_ckpt is not set: it must name the checkpoint of stage 1")
    assert lines[2].startswith("  - encoder_ckpt is not set: it must name the checkpoint of stage 2")
    assert pipeline in lines[1] and pipeline in lines[2]
    out = capsys.readouterr()
    assert "Namespace(" not in message + out.out + out.err


def test_a_constructor_refusal_is_its_own_message_not_a_namespace_dump(tmp_path):
    args = expand_config_bases(["--config", str(EXP / "styleinv_synthetic.yaml"), "--run_dir", str(tmp_path)])
    with pytest.raises(ConfigError) as err:
        StyleVideoCLI(args=args, run=False)  # no up-front check without a subcommand: the constructor refuses
    assert str(err.value).startswith("generator_ckpt is not set: it must name the checkpoint of stage 1")
    assert "Namespace(" not in str(err.value)


def test_default_root_dir_is_the_root_of_the_run_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEVIDEO_RUN_ID", "r7")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    args = ["--config", str(EXP / "stylegan2_synthetic.yaml"), "--trainer.default_root_dir", str(tmp_path / "out")]
    cli = StyleVideoCLI(args=expand_config_bases(args), run=False)
    run_dir = tmp_path / "out" / "stylegan2_synthetic" / "r7"
    assert Path(cli.trainer.default_root_dir) == run_dir
    assert Path(cli.trainer.checkpoint_callback.dirpath) == run_dir / "checkpoints"
