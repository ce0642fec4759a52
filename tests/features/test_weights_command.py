"""``stylevideo weights list|fetch|verify`` through the console entry point (a local server)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stylevideo.cli import main
from stylevideo.features import download, weights
from stylevideo.features.vgg import VGG19_WEIGHTS
from stylevideo.features.weights import WeightSpec

LIA_EXP = Path(__file__).resolve().parents[2] / "experiments" / "lia_synthetic.yaml"
VGG = b"stand-in for vgg19" * 1000


def _run(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit:
        main(["weights", *argv])
    return exit.value.code, capsys.readouterr().out


@pytest.fixture
def mirrored_vgg(weights_server, monkeypatch):
    """VGG19's registration pinned to the served stand-in's sha256, downloads from the local server."""
    spec = weights.registered_weights()[VGG19_WEIGHTS]
    pinned = WeightSpec(spec.filename, spec.url, spec.description, hashlib.sha256(VGG).hexdigest(), "the test")
    monkeypatch.setitem(weights._REGISTRY, VGG19_WEIGHTS, pinned)
    monkeypatch.setenv(download.MIRROR_ENV, weights_server.url)
    weights_server.files[f"/{spec.filename}"] = VGG
    return weights.weights_dir() / spec.filename


def test_list_fetch_verify_for_an_experiment(capsys, mirrored_vgg, weights_server, monkeypatch):
    monkeypatch.setenv("PL_GLOBAL_SEED", "0")  # restored after the test, whatever the parser does
    digest = hashlib.sha256(VGG).hexdigest()
    code, out = _run(capsys, "list", "--config", str(LIA_EXP))
    assert code == 0
    assert [line.split() for line in out.splitlines()] == [
        ["MISSING", "vgg19_imagenet", "sha256", digest],
        ["file:", str(mirrored_vgg)],
        ["url:", "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"],
        ["needed", "by:", "model", "(LIA)"],
    ]
    code, out = _run(capsys, "fetch", "--config", str(LIA_EXP), "--quiet")
    assert code == 0 and mirrored_vgg.read_bytes() == VGG
    assert f"fetching vgg19_imagenet: {weights_server.url}/vgg19-dcbb9e9d.pth -> {mirrored_vgg}" in out
    assert _run(capsys, "list", "--name", "vgg19_imagenet")[1].startswith("present  vgg19_imagenet")
    code, out = _run(capsys, "verify", "--name", "vgg19_imagenet")
    assert code == 0 and out.split()[:2] == ["ok", "vgg19_imagenet:"]
    mirrored_vgg.write_bytes(VGG[::-1])
    code, out = _run(capsys, "verify", "--name", "vgg19_imagenet")
    assert code == 1 and out.split()[:2] == ["MISMATCH", "vgg19_imagenet:"]


def test_fetch_reports_a_404_with_its_url_and_fails(capsys, weights_server, monkeypatch):
    monkeypatch.setenv(download.MIRROR_ENV, weights_server.url)
    code, out = _run(capsys, "fetch", "--name", "arcface_ir_se50", "--quiet")
    assert code == 1
    assert f"FAILED   arcface_ir_se50: {weights_server.url}/model_ir_se50.pth answered HTTP 404" in out
    assert not (weights.weights_dir() / "model_ir_se50.pth").exists()


def test_without_selection_every_registered_file_is_listed(capsys):
    code, out = _run(capsys, "list")
    listed = [line.split()[1] for line in out.splitlines() if not line.startswith(" ")]
    assert code == 0 and listed == list(weights.registered_weights())
    assert "unpinned" in out.split("i3d_kinetics400")[1].splitlines()[0]
