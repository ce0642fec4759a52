"""The authors' checkpoint layout: exact key coverage, export -> load round trips, clear errors."""

from pathlib import Path

import pytest
import torch
from lia_helpers import TINY

from stylevideo.methods.lia import (
    LIA,
    export_official_checkpoint,
    load_official_checkpoint,
    official_key_map,
)
from stylevideo.methods.lia.official import UNUSED_OFFICIAL_KEYS, export_official_state_dict

LAYOUT = Path(__file__).with_name("official_layout_256.txt")


def official_layout() -> dict[str, tuple[int, ...]]:
    rows = [line.split() for line in LAYOUT.read_text().splitlines() if line and not line.startswith("#")]
    return {key: tuple(int(s) for s in shape.split(",")) for key, shape in rows}


def test_mapping_covers_the_official_256_layout_exactly():
    layout = official_layout()
    with torch.device("meta"):
        model = LIA()  # the paper's model: 256x256, M = 20, N = 512, channel multiplier 1
    mapped = official_key_map(model)
    unused = {f"gen.{k}" for k in UNUSED_OFFICIAL_KEYS}
    assert set(mapped) == set(layout) - unused  # no key left over on either side
    assert len(layout) == 235 and len(unused) == 3
    params = dict(model.autoencoder.named_parameters()) | dict(model.autoencoder.named_buffers())
    d_params = dict(model.D.named_parameters()) | dict(model.D.named_buffers())
    for key, (ours, kind) in mapped.items():
        tensor = (params if key.startswith("gen.") else d_params)[ours]
        shape = (1, tensor.shape[0], 1, 1) if kind == "bias4d" else tuple(tensor.shape)
        assert shape == layout[key], key
    assert {kind for _, kind in mapped.values()} == {"param", "bias4d", "kernel"}


def test_export_writes_every_official_tensor_with_its_shape():
    with torch.device("meta"):
        model = LIA()
    exported = export_official_state_dict(model)
    shapes = {f"{part}.{k}": tuple(v.shape) for part, sd in exported.items() for k, v in sd.items()}
    assert shapes == official_layout()


def test_export_then_load_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = LIA(**TINY, align_corners=False).eval()
    with torch.no_grad():  # non-trivial biases, so that every renamed tensor matters
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
    path = tmp_path / "official.pt"
    export_official_checkpoint(model, path)
    loaded = load_official_checkpoint(path, mbstd_group=2)
    assert loaded.hparams.resolution == 64 and loaded.hparams.motion_dim == 8
    assert loaded.hparams.latent_dim == 32 and not loaded.hparams.align_corners and not loaded.training
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b), k
    source, driving = torch.rand(1, 3, 64, 64) * 2 - 1, torch.rand(1, 2, 3, 64, 64) * 2 - 1
    expected = model.animate(source, driving)
    assert torch.equal(loaded.animate(source, driving), expected)
    assert torch.equal(loaded.D(driving[:, 0]), model.D(driving[:, 0]))
    # a file holding only the generator state dict (no "gen" wrapper) loads too
    torch.save(export_official_state_dict(model)["gen"], tmp_path / "gen_only.pt")
    assert torch.equal(load_official_checkpoint(tmp_path / "gen_only.pt").animate(source, driving), expected)


def test_bad_official_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt does not exist"):
        load_official_checkpoint(tmp_path / "missing.pt")
    torch.save({"g_ema": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt is not an official LIA checkpoint"):
        load_official_checkpoint(tmp_path / "other.pt")
    torch.manual_seed(0)
    state = export_official_state_dict(LIA(**TINY))
    del state["gen"]["dec.direction.weight"]
    torch.save(state, tmp_path / "broken.pt")
    with pytest.raises(ValueError, match="broken.pt.*missing 'dec.direction.weight'"):
        load_official_checkpoint(tmp_path / "broken.pt")
    state = export_official_state_dict(LIA(**TINY))
    state["gen"]["dec.convs.0.conv.blur.kernel"] = torch.ones(4, 4)
    torch.save(state, tmp_path / "kernel.pt")
    with pytest.raises(ValueError, match="kernel.pt: gen.dec.convs.0.conv.blur.kernel is not the FIR kernel"):
        load_official_checkpoint(tmp_path / "kernel.pt")


def test_models_warping_with_align_corners_true_load_but_are_not_exported(tmp_path):
    torch.manual_seed(0)
    old = LIA(**TINY, align_corners=True)  # trained here before the default became the authors' False
    path = tmp_path / "old.ckpt"
    torch.save(
        {"state_dict": old.state_dict(), "hyper_parameters": dict(old.hparams), "pytorch-lightning_version": "2.6.0"},
        path,
    )
    loaded = LIA.load_from_checkpoint(path, map_location="cpu")
    assert loaded.hparams.align_corners and all(block.align_corners for block in loaded.autoencoder.G.blocks)
    for model in (old, loaded):
        with pytest.raises(ValueError, match="align_corners=True.*not exported"):
            export_official_checkpoint(model, tmp_path / "refused.pt")
    assert not (tmp_path / "refused.pt").exists()
    export_official_checkpoint(LIA(**TINY), tmp_path / "new.pt")  # the default, False, exports
    with pytest.raises(ValueError, match="new.pt: official LIA checkpoints were trained with align_corners=False"):
        load_official_checkpoint(tmp_path / "new.pt", align_corners=True)
