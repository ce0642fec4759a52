"""The onestyle LightningModule: the ramp, one iteration = one step, lazy regularisation, state."""

import pytest
import torch
from lightning.pytorch import Callback, LightningDataModule
from onestyle_helpers import TINY, fit, triplet_batch
from torch.utils.data import DataLoader

import stylevideo.methods.gan as loop
import stylevideo.methods.onestyle.module as module
from stylevideo.methods.onestyle import OneStyle
from stylevideo.methods.onestyle.conditions import action_ramp


def test_ramp_is_zero_before_its_start_one_after_its_end_and_linear_between():
    assert [action_ramp(i, 4000, 6000) for i in (0, 3999, 4000)] == [0.0, 0.0, 0.0]
    assert action_ramp(4500, 4000, 6000) == 0.25 and action_ramp(5000, 4000, 6000) == 0.5
    assert [action_ramp(i, 4000, 6000) for i in (6000, 6001, 120000)] == [1.0, 1.0, 1.0]
    assert action_ramp(9, 10, 10) == 0.0 and action_ramp(10, 10, 10) == 1.0
    with pytest.raises(ValueError, match="ramp_end"):
        OneStyle(**TINY, ramp_start=10, ramp_end=5)


def test_one_iteration_is_one_step_with_the_ramp_in_g_and_d_t_and_lazy_regularisation(monkeypatch):
    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4, ramp_start=0, ramp_end=2, r1_interval=2, pl_interval=3)
    seen = {"G": [], "D_t": [], "r1": 0, "pl": 0}
    g_forward, d_forward = type(model.G).forward, type(model.D_t).forward
    r1, pl = module.r1_penalty, loop.path_length_penalty

    def g_spy(self, t, **kwargs):
        if self is model.G:
            seen["G"].append(float(kwargs["ramp"]))
        return g_forward(self, t, **kwargs)

    def d_spy(self, frames, t, actor=None, action=None, ramp=1.0):
        seen["D_t"].append(float(ramp))
        return d_forward(self, frames, t, actor, action, ramp)

    def count_r1(*args):
        seen["r1"] += 1
        return r1(*args)

    def count_pl(*args):
        seen["pl"] += 1
        return pl(*args)

    monkeypatch.setattr(type(model.G), "forward", g_spy)
    monkeypatch.setattr(type(model.D_t), "forward", d_spy)
    monkeypatch.setattr(module, "r1_penalty", count_r1)
    monkeypatch.setattr(loop, "path_length_penalty", count_pl)
    buffer = []

    class Record(Callback):
        def on_train_batch_end(self, trainer, pl_module, *args):
            buffer.append(float(pl_module.ramp))

    trainer = fit(model, [triplet_batch(seed=i) for i in range(2)], steps=4, callbacks=[Record()])
    assert trainer.global_step == 4
    assert buffer == [0.0, 0.5, 1.0, 1.0]  # iterations 0..3, the ramp from 0 to 2
    # G renders 2 clips per iteration (+1 for path length at 0, 3); D_t scores 3 (+1 for R1 at 0, 2)
    assert seen["G"] == [0.0] * 3 + [0.5] * 2 + [1.0] * 2 + [1.0] * 3
    assert seen["D_t"] == [0.0] * 4 + [0.5] * 3 + [1.0] * 4 + [1.0] * 3
    assert (seen["r1"], seen["pl"]) == (2, 2)  # R1 on D_t (the authors' D_t only) at 0, 2; path length at 0, 3
    assert model.mean_path_length > 0
    logged = {"loss/d_t", "loss/d_s", "loss/g_t", "loss/g_s", "loss/r1_t", "loss/pl"}
    assert logged | {"ramp"} <= set(trainer.logged_metrics) and "loss/r1_s" not in trainer.logged_metrics


def test_r1_is_on_d_t_and_with_r1_shuffle_on_d_s_too():
    """R1 = E ||grad_x D(x)||^2 over the real samples, D_t's on the triplets, D_s's on the pairs."""
    torch.manual_seed(0)
    batch = triplet_batch()
    for shuffle in (False, True):
        model = OneStyle(**TINY, num_actors=3, num_actions=4, r1_shuffle=shuffle)
        step = model.prepare_step(batch)
        r1 = model.r1_penalties(step)
        assert set(r1) == ({"r1_t", "r1_s"} if shuffle else {"r1_t"})
    pairs = torch.stack([batch["frames"][:, :-1], batch["frames"][:, 1:]], 2).flatten(0, 1).requires_grad_(True)
    (grad,) = torch.autograd.grad(model.D_s(pairs).sum(), pairs)
    assert torch.allclose(r1["r1_s"], grad.pow(2).sum(dim=(1, 2, 3, 4)).mean(), rtol=1e-5)
    x = batch["frames"].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model.D_t(x, batch["t"], batch["actor"], batch["action"], 0.0).sum(), x)
    assert torch.allclose(r1["r1_t"], grad.pow(2).sum(dim=(1, 2, 3, 4)).mean(), rtol=1e-5)


def test_triplet_stride_is_one_or_cycles_1_2_3_every_100_iterations_as_the_authors(monkeypatch):
    consecutive = OneStyle(**TINY)
    assert {consecutive.triplet_stride(i) for i in (0, 1, 150, 10_000)} == {1}
    cycling = OneStyle(**TINY, triplet_strides=[1, 2, 3])
    # train.py: offset 1 at iteration 0, then kk = (kk + 1) % 3 after every iteration i with i % 100 == 0
    expected, kk = [], 0
    for i in range(701):
        expected.append([1, 2, 3][kk])
        kk = (kk + 1) % 3 if i % 100 == 0 else kk
    assert [cycling.triplet_stride(i) for i in range(701)] == expected
    batch = triplet_batch(t=7)
    monkeypatch.setattr(OneStyle, "iteration", property(lambda self: 150))  # stride 3
    step = cycling.prepare_step(batch)
    assert torch.equal(step["real"], batch["frames"][:, [0, 3, 6]]) and torch.equal(step["t"], batch["t"][:, [0, 3, 6]])
    with pytest.raises(ValueError, match=r"ConsecutiveFrames\(n=7\)"):
        cycling.prepare_step(triplet_batch(t=5))


def test_ema_follows_the_generator_and_all_state_is_in_the_checkpoint():
    torch.manual_seed(0)
    model = OneStyle(
        **TINY, num_actors=3, num_actions=4, ema_kimg=0.01, ramp_start=-1, ramp_end=1, ada_target=0.6, ada_interval=1
    )  # lambda = 0.5 at iteration 0
    before = model.G_ema.synthesis.conv1.conv.weight.clone()
    fit(model, [triplet_batch()], steps=1)
    beta = 0.5 ** (4 / (0.01 * 1000))  # half-life 0.01 kimg = 10 videos at batch 4
    expected = beta * before + (1 - beta) * model.G.synthesis.conv1.conv.weight
    assert torch.allclose(model.G_ema.synthesis.conv1.conv.weight, expected, atol=1e-6)
    assert not model.G_ema.training and model.G.training
    state = model.state_dict()
    assert {"ramp", "mean_path_length", "ada.r_t", "G_ema.time2vec.omega", "D_s.final_linear.0.weight"} <= set(state)
    assert float(state["ramp"]) == 0.5
    restored = OneStyle(**TINY, num_actors=3, num_actions=4, ada_target=0.6, ada_interval=1)
    restored.load_state_dict(state)
    assert torch.equal(restored.ramp, model.ramp) and torch.equal(restored.ada.p, model.ada.p)
    assert torch.equal(restored.sample_videos(2, 3, seed=0), model.sample_videos(2, 3, seed=0))


@pytest.mark.parametrize(
    "variant",
    [
        dict(),  # unconditional: random content codes z_c
        dict(num_actors=3, num_actions=4, time_discriminator=False),  # ablation: w/o D_t
        dict(num_actors=3, num_actions=4, shuffle_discriminator=False, dt_time_points=1),  # w/o D_s, 1 time point
    ],
)
def test_unconditional_mode_and_the_ablations_train(variant):
    torch.manual_seed(0)
    model = OneStyle(**TINY, **variant)
    assert (model.D_t is None) == (variant.get("time_discriminator") is False)
    assert (model.D_s is None) == (variant.get("shuffle_discriminator") is False)
    before = [p.clone() for p in model.G.parameters()]
    trainer = fit(model, [triplet_batch()], steps=1)
    assert trainer.global_step == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, model.G.parameters(), strict=True))
    with pytest.raises(ValueError, match="at least one"):
        OneStyle(**TINY, time_discriminator=False, shuffle_discriminator=False)


def test_seeded_cpu_training_repeats_exactly():
    weights = []
    for _ in range(2):
        torch.manual_seed(3)
        model = OneStyle(**TINY, num_actors=3, num_actions=4)
        fit(model, [triplet_batch()], steps=1)
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


class _Labels(LightningDataModule):
    def __init__(self, actors: int):
        super().__init__()
        self.actors = actors

    def num_classes(self, label: str) -> int:
        return {"actor": self.actors, "action": 4}[label]

    def train_dataloader(self):
        return DataLoader([triplet_batch()], batch_size=None)


def test_bad_batches_and_label_counts_give_clear_errors():
    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4)
    with pytest.raises(ValueError, match="ConsecutiveFrames"):
        fit(model, [triplet_batch(t=1)], steps=1)
    batch = triplet_batch()
    del batch["action"]
    with pytest.raises(KeyError, match="'action'"):
        fit(model, [batch], steps=1)
    from lightning.pytorch import Trainer

    trainer = Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    with pytest.raises(ValueError, match="num_actors=3, but the data has 5"):
        trainer.fit(model, datamodule=_Labels(5))


def test_non_finite_losses_name_the_term_and_iteration():
    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4)
    with torch.no_grad():
        model.D_s.final_linear[1].bias.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="'d_s'.*iteration 0"):
        fit(model, [triplet_batch()], steps=1)
