"""f_C (symmetric pooling, Table 6), the text style of Eq. 5 / 12, and the description sources."""

from types import SimpleNamespace

import clip as openai_clip
import pytest
import torch

from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.features.clip import clip_image_input
from stylevideo.methods.vidstyleode.content import ContentEncoder, StandInInverter
from stylevideo.methods.vidstyleode.text import ActorDescriptions, describe


def test_content_code_is_invariant_to_frame_order(model, batch):
    frames = batch["frames"]
    z_C = model.content(frames)
    assert z_C.shape == (3, model.G.num_ws, model.G.w_dim)
    assert torch.allclose(z_C, model.content(frames[:, torch.randperm(frames.shape[1])]), atol=1e-6)
    codes = model.f_C.invert(frames)
    assert torch.allclose(z_C, codes.mean(dim=1), atol=1e-6)  # z_C = E[Z]


def test_table_6_content_modes():
    torch.manual_seed(0)
    f_c = ContentEncoder(StandInInverter(4, 8, input_size=16), mode="first")
    frames = torch.rand(2, 5, 3, 16, 16) * 2 - 1
    codes = f_c.invert(frames)
    assert torch.equal(f_c(frames), codes[:, 0])
    picked = f_c(frames, mode="random")
    assert all(any(torch.equal(picked[b], codes[b, k]) for k in range(5)) for b in range(2))
    assert not torch.allclose(f_c(frames.flip(1)), f_c(frames))  # the first frame is not order-free
    with pytest.raises(ValueError, match="content mode"):
        ContentEncoder(StandInInverter(4, 8), mode="median")


def test_text_style_is_eq_5_with_the_stand_in_encoders(model, batch):
    z_C = model.content(batch["frames"])
    source, target = (
        ["a photo of a man"] * 3,
        ["a photo of a woman", "a red car", "a photo of a man"],
    )
    z_S = model.style(z_C, source, target, alpha=0.7)
    net = model.clip.model  # CLIP_I(G(z_C)) + alpha (CLIP_T(D_TGT) - CLIP_T(D_SRC)), directly
    with torch.no_grad():
        image = net.encode_image(
            clip_image_input(model.G.generator.synthesis(z_C, noise_mode="const"), net.visual.input_resolution)
        )
        text = lambda texts: net.encode_text(openai_clip.tokenize(texts))  # noqa: E731
        expected = image + 0.7 * (text(target) - text(source))
    assert torch.allclose(z_S, expected, atol=1e-5)
    assert torch.allclose(z_S[2], image[2], atol=1e-5)  # same text: no direction
    assert torch.allclose(model.style(z_C), image, atol=1e-5)
    with pytest.raises(ValueError, match="one source and one target"):
        model.style(z_C, source[:2], target)


def test_actor_descriptions_come_from_the_synthetic_attribute_words(synthetic_root):
    data = SyntheticDataModule.from_root(str(synthetic_root), resolution=16)
    source = ActorDescriptions()
    source.setup(data)
    rows = {r["actor"]: r for r in __import__("csv").DictReader(open(synthetic_root / "labels.csv"))}
    texts = source({"actor": torch.tensor([2, 0])})
    names = sorted(rows)
    for text, name in zip(texts, [names[2], names[0]], strict=True):
        row = rows[name]
        assert (
            text == f"a photo of a {row['gender']} with {row['hair_style']} {row['hair_color']} hair "
            f"and {row['eye_color']} eyes"
        )
    assert len(set(source({"actor": torch.arange(3)}))) == 3  # the actors differ


def test_actor_descriptions_from_a_csv_and_their_errors(tmp_path):
    data = SimpleNamespace(root=None, label_maps={"actor": {"Actor_01": 0, "Actor_02": 1}})
    file = tmp_path / "actors.csv"
    file.write_text("actor,description\nActor_01,a man with short black hair\nActor_02,a woman\n")
    source = ActorDescriptions(str(file))
    source.setup(data)
    assert source({"actor": [1, 0]}) == ["a woman", "a man with short black hair"]
    file.write_text("actor,description\nActor_01,a man\n")
    with pytest.raises(ValueError, match=r"describes no actor \['Actor_02'\]"):
        source.setup(data)
    file.write_text("actor,gender\nActor_01,man\nActor_02,woman\n")
    with pytest.raises(ValueError, match="needs column 'hair_style'"):
        ActorDescriptions(str(file)).setup(data)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        ActorDescriptions(str(tmp_path / "missing.csv")).setup(data)


def test_without_a_source_the_batchs_own_text_is_used():
    batch = {
        "frames": torch.zeros(2, 1, 3, 4, 4),
        "text": ["a woman in a dress", "a man in a suit"],
    }
    assert describe(None, batch) == ["a woman in a dress", "a man in a suit"]
    with pytest.raises(ValueError, match="no 'text'"):
        describe(None, {"frames": torch.zeros(2, 1, 3, 4, 4)})
    with pytest.raises(ValueError, match="gave 1 descriptions for 2 videos"):
        describe(None, {**batch, "text": ["only one"]})
