"""Tiny runs of the standard and Stackelberg GANs with every optimizer; resume is bit-identical."""

import io

import pytest
import torch

from cgd_optim import ACGD, CGD, SimGD
from gan_experiments.data import ring
from gan_experiments.frameworks import StackelbergGAN, StandardGAN
from gan_experiments.models import (
    GeneratorMixture,
    MultiBranchGenerator,
    stackelberg_discriminator,
    stackelberg_generator,
)
from gan_experiments.trainer import AdamPair, Trainer

OPTIMIZERS = {
    "SimGD": lambda mins, maxs: SimGD(mins, maxs, lr=1e-2),
    "CGD": lambda mins, maxs: CGD(mins, maxs, lr=1e-2),
    "ACGD": lambda mins, maxs: ACGD(mins, maxs, lr=1e-3),
    "AdamPair": lambda mins, maxs: AdamPair(mins, maxs, lr=2e-4),
}


def build(framework: str, loss: str = "ogan", seed: int = 0):
    torch.manual_seed(seed)
    if framework == "multibranch":
        return StandardGAN(MultiBranchGenerator(branches=3, widths=(16, 16)), stackelberg_discriminator(), latent_dim=2,
                           loss=loss)
    if framework == "standard":
        return StandardGAN(stackelberg_generator(hidden=64), stackelberg_discriminator(), latent_dim=2, loss=loss)
    mixture = GeneratorMixture([stackelberg_generator() for _ in range(4)], latent_dim=2)
    return StackelbergGAN(mixture, stackelberg_discriminator(), loss=loss)


def trainer_for(framework: str, optimizer: str, loss: str = "ogan", seed: int = 0) -> Trainer:
    game = build(framework, loss, seed)
    opt = OPTIMIZERS[optimizer](game.min_parameters(), game.max_parameters())
    return Trainer(game, opt, ring().sample, batch_size=32, seed=seed)


@pytest.mark.parametrize("framework", ["standard", "stackelberg", "multibranch"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_framework_trains_with_every_optimizer(framework, optimizer):
    trainer = trainer_for(framework, optimizer)
    before = [p.detach().clone() for p in trainer.framework.parameters()]
    logs = trainer.run(4)
    assert all(torch.isfinite(torch.tensor([log["f_min"], log["f_max"]])).all() for log in logs)
    after = list(trainer.framework.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after))  # every tensor of every player moved
    assert trainer.step_count == 4


@pytest.mark.parametrize("loss", ["nsgan", "wgan-gp", "hinge"])
@pytest.mark.parametrize("optimizer", ["ACGD", "AdamPair"])
def test_general_sum_losses_train(loss, optimizer):
    logs = trainer_for("stackelberg", optimizer, loss).run(3)
    assert all(abs(log["f_min"]) < 1e3 and abs(log["f_max"]) < 1e3 for log in logs)
    if loss != "wgan-gp":
        assert logs[-1]["f_min"] != logs[-1]["f_max"]  # a general-sum game really


def test_stackelberg_objective_is_the_average_over_generators():
    game = build("stackelberg")
    real, z = ring().sample(16, torch.Generator().manual_seed(0)), torch.randn(16, 2)
    singles = [StandardGAN(g, game.discriminator, latent_dim=2).objective(real, z) for g in game.generator.generators]
    torch.testing.assert_close(game.objective(real, z), sum(singles) / len(singles))


@pytest.mark.parametrize("optimizer", ["ACGD", "AdamPair"])
def test_resume_from_a_checkpoint_is_bit_identical(optimizer):
    straight = trainer_for("stackelberg", optimizer, "wgan-gp")
    straight.run(6)
    first = trainer_for("stackelberg", optimizer, "wgan-gp")
    first.run(3)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = trainer_for("stackelberg", optimizer, "wgan-gp", seed=1)  # other weights and RNG: all restored
    resumed.load_state_dict(torch.load(buffer, weights_only=False))
    resumed.run(3)
    assert resumed.step_count == 6
    for a, b in zip(straight.framework.parameters(), resumed.framework.parameters()):
        assert torch.equal(a, b)
