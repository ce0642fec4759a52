"""DINO ViT: DINO's parameter layout, the Splicing-ViT descriptors, preprocessing, loading."""

import pytest
import torch

from stylevideo.features import dino
from stylevideo.features.dino import DinoViT, dino_input, keys_self_similarity, load_dino
from stylevideo.features.weights import MissingWeightsError, register_weights

TINY = dict(patch_size=8, embed_dim=16, depth=3, num_heads=2, img_size=32)


def test_parameter_names_and_shapes_are_dinos():
    with torch.device("meta"):
        vit = DinoViT(**dino.DINO_MODELS["dino_vitb16"][1])
    state = vit.state_dict()
    assert state["pos_embed"].shape == (1, 197, 768) and state["cls_token"].shape == (1, 1, 768)
    assert state["patch_embed.proj.weight"].shape == (768, 3, 16, 16)
    assert state["blocks.11.attn.qkv.weight"].shape == (3 * 768, 768)
    assert state["blocks.0.mlp.fc1.weight"].shape == (3072, 768)
    per_block = {"norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"}
    expected = {
        "cls_token",
        "pos_embed",
        "patch_embed.proj.weight",
        "patch_embed.proj.bias",
        "norm.weight",
        "norm.bias",
    }
    expected |= {f"blocks.{i}.{m}.{p}" for i in range(12) for m in per_block for p in ("weight", "bias")}
    assert set(state) == expected


def test_keys_are_the_middle_third_of_qkv_and_features_stop_early():
    torch.manual_seed(0)
    vit = DinoViT(**TINY).eval()
    x = torch.randn(2, 3, 32, 32)
    blocks, keys = vit.features(x, blocks=[0, 1], keys=[1])
    t = vit.tokens(x)
    t0, _ = vit.blocks[0](t)
    assert torch.allclose(blocks[0], t0, atol=1e-6)
    qkv = vit.blocks[1].attn.qkv(vit.blocks[1].norm1(t0))  # [2, 17, 48]
    k = qkv[..., 16:32].reshape(2, 17, 2, 8).transpose(1, 2)
    assert torch.allclose(keys[1], k, atol=1e-6)
    assert blocks[1].shape == (2, 17, 16)
    with pytest.raises(ValueError, match="block indices"):
        vit.features(x, blocks=[3])


def test_keys_self_similarity_is_the_cosine_matrix():
    keys = torch.randn(2, 3, 5, 4)
    s = keys_self_similarity(keys)
    flat = keys.transpose(1, 2).reshape(2, 5, 12)
    expected = torch.nn.functional.cosine_similarity(flat[:, :, None], flat[:, None], dim=-1)
    assert torch.allclose(s, expected, atol=1e-5)
    assert torch.allclose(s.diagonal(dim1=1, dim2=2), torch.ones(2, 5), atol=1e-5)
    assert torch.allclose(keys_self_similarity(keys * 7), s, atol=1e-5)


def test_input_is_imagenet_normalised_with_the_short_side_resized():
    frames = torch.zeros(1, 3, 128, 96)  # mid-grey
    x = dino_input(frames, size=224, patch_size=16)
    assert x.shape == (1, 3, 288, 224)  # 128 * 224 / 96 = 298.7 -> multiple of 16
    expected = (0.5 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(x[0, :, 10, 10], expected, atol=1e-4)
    vit = DinoViT(**TINY)
    # a 6 x 4 patch grid: the position embeddings are resized
    out = vit(dino_input(torch.rand(2, 3, 48, 32) * 2 - 1, size=32, patch_size=8))
    assert out.shape == (2, 16)


def test_load_dino_reads_a_state_dict_and_reports_missing_files(tmp_path, monkeypatch):
    torch.manual_seed(0)
    arch = {k: v for k, v in TINY.items() if k != "img_size"}
    monkeypatch.setitem(dino.DINO_MODELS, "dino_tiny_test", ("tiny.pth", arch))
    register_weights("dino_tiny_test", "tiny.pth", url="https://example.org/tiny.pth")
    with pytest.raises(MissingWeightsError, match="https://example.org/tiny.pth"):
        load_dino("dino_tiny_test")
    source = DinoViT(**arch)  # pos_embed for 224 / 8 = 28 x 28 patches, as DINO's files
    torch.save(
        {"teacher": {f"backbone.{k}": v for k, v in source.state_dict().items()}},
        tmp_path / "tiny.pth",
    )
    loaded = load_dino("dino_tiny_test", tmp_path / "tiny.pth")
    x = torch.randn(1, 3, 32, 32)
    assert torch.allclose(loaded(x), source.eval()(x), atol=1e-6)
    assert not any(p.requires_grad for p in loaded.parameters()) and not loaded.training
    torch.save({"something": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(KeyError, match="does not match"):
        load_dino("dino_tiny_test", tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="unknown DINO"):
        load_dino("dino_huge")
