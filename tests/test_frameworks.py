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
from gan_experiments.optimizers import AdamPair
from gan_experiments.session import GameSession
from gan_experiments.streams import BatchStream

OPTIMIZERS = {
    "SimGD": lambda mins, maxs: SimGD(mins, maxs, lr=1e-2),
    "CGD": lambda mins, maxs: CGD(mins, maxs, lr=1e-2),
    "ACGD": lambda mins, maxs: ACGD(mins, maxs, lr=1e-3),
    "AdamPair": lambda mins, maxs: AdamPair(mins, maxs, lr=2e-4),
}


def build(framework: str, loss: str = "ogan", seed: int = 0):
    torch.manual_seed(seed)
    if framework == "multibranch":
        return StandardGAN(
            MultiBranchGenerator(branches=3, widths=(16, 16)), stackelberg_discriminator(), latent_dim=2, loss=loss
        )
    if framework == "standard":
        return StandardGAN(stackelberg_generator(hidden=64), stackelberg_discriminator(), latent_dim=2, loss=loss)
    mixture = GeneratorMixture([stackelberg_generator() for _ in range(4)], latent_dim=2)
    return StackelbergGAN(mixture, stackelberg_discriminator(), loss=loss)


def session_of(game, optimizer, seed: int = 0) -> GameSession:
    """The game on 8 Gaussians, batch 32, its streams seeded from ``seed``."""
    return GameSession(game, optimizer, BatchStream.for_run(ring().sample, 32, game.latent_dim, seed))


def play(session: GameSession, steps: int) -> list[dict]:
    return [session.train_step() for _ in range(steps)]


def trainer_for(framework: str, optimizer: str, loss: str = "ogan", seed: int = 0) -> GameSession:
    game = build(framework, loss, seed)
    return session_of(game, OPTIMIZERS[optimizer](game.min_parameters(), game.max_parameters()), seed)


@pytest.mark.parametrize("framework", ["standard", "stackelberg", "multibranch"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_framework_trains_with_every_optimizer(framework, optimizer):
    trainer = trainer_for(framework, optimizer)
    before = [p.detach().clone() for p in trainer.players.parameters()]
    logs = play(trainer, 4)
    assert all(torch.isfinite(torch.tensor([log["f_min"], log["f_max"]])).all() for log in logs)
    after = list(trainer.players.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after))  # every tensor of every player moved
    assert trainer.step_count == 4


@pytest.mark.parametrize("loss", ["nsgan", "wgan-gp", "hinge"])
@pytest.mark.parametrize("optimizer", ["ACGD", "AdamPair"])
def test_general_sum_losses_train(loss, optimizer):
    logs = play(trainer_for("stackelberg", optimizer, loss), 3)
    assert all(abs(log["f_min"]) < 1e3 and abs(log["f_max"]) < 1e3 for log in logs)
    if loss != "wgan-gp":
        assert logs[-1]["f_min"] != logs[-1]["f_max"]  # a general-sum game really


def test_a_sample_budget_is_shared_evenly_among_a_stackelberg_gans_generators():
    """The evaluations' split: total // I samples of each of the I generators (at least one), each
    equal to that generator's own output on the same noise; None for a single-generator GAN."""
    game = build("stackelberg")
    parts = game.samples_of_each_generator(10, torch.Generator().manual_seed(3))
    assert [tuple(p.shape) for p in parts] == [(2, 2)] * 4
    z = torch.randn(2, 2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for part, generator in zip(parts, game.generator.generators):
            torch.testing.assert_close(part, generator(z))
    assert [p.shape[0] for p in game.samples_of_each_generator(3)] == [1] * 4
    assert build("standard").samples_of_each_generator(10) is None


def test_stackelberg_objective_is_the_average_over_generators():
    game = build("stackelberg")
    real, z = ring().sample(16, torch.Generator().manual_seed(0)), torch.randn(16, 2)
    singles = [StandardGAN(g, game.discriminator, latent_dim=2).objective(real, z) for g in game.generator.generators]
    torch.testing.assert_close(game.objective(real, z), sum(singles) / len(singles))


@pytest.mark.parametrize("optimizer", ["ACGD", "AdamPair"])
def test_resume_from_a_checkpoint_is_bit_identical(optimizer):
    straight = trainer_for("stackelberg", optimizer, "wgan-gp")
    play(straight, 6)
    first = trainer_for("stackelberg", optimizer, "wgan-gp")
    play(first, 3)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = trainer_for("stackelberg", optimizer, "wgan-gp", seed=1)  # other weights and RNG: all restored
    resumed.load_state_dict(torch.load(buffer, weights_only=False))
    play(resumed, 3)
    assert resumed.step_count == 6 and resumed.hvp_count == straight.hvp_count
    for a, b in zip(straight.players.parameters(), resumed.players.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_the_trainer_counts_the_optimizers_hessian_vector_products(optimizer):
    trainer = trainer_for("standard", optimizer)
    counts = []
    for _ in range(3):
        row = trainer.train_step()
        counts.append(int(getattr(trainer.optimizer, "step_stats", {}).get("hvp_count", 0)))
        assert row["hvp_count"] == sum(counts)
    # CGD / ACGD: 2 per CG operator application plus the right-hand side's; first-order methods: none
    assert (sum(counts) >= 3 * 3) if optimizer in ("CGD", "ACGD") else sum(counts) == 0


def proximal_pair(inner_steps: int, lam: float, loss: str = "ogan", seed: int = 0):
    from gan_experiments.frameworks import ProximalGAN

    torch.manual_seed(seed)
    game = ProximalGAN(stackelberg_generator(hidden=16), stackelberg_discriminator(), latent_dim=2, loss=loss)
    return game, game.optimizer(lr=1e-3, betas=(0.5, 0.999), lam=lam, inner_steps=inner_steps)


def test_proximal_training_with_one_inner_step_and_no_penalty_is_the_adam_pair():
    """Algorithm 1 of 003 with T = 1 and lambda = 0 is alternating Adam: D ascends, then G descends."""
    game, proximal = proximal_pair(inner_steps=1, lam=0.0)
    torch.manual_seed(0)
    reference = StandardGAN(stackelberg_generator(hidden=16), stackelberg_discriminator(), latent_dim=2, loss="ogan")
    adam = AdamPair(reference.min_parameters(), reference.max_parameters(), lr=1e-3, betas=(0.5, 0.999))
    ours, theirs = (session_of(g, o) for g, o in ((game, proximal), (reference, adam)))
    play(ours, 5)
    play(theirs, 5)
    for a, b in zip(game.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_proximal_training_moves_both_players_and_keeps_the_proximal_discriminator():
    game, proximal = proximal_pair(inner_steps=5, lam=0.1)
    before = [p.detach().clone() for p in game.parameters()]
    logs = play(session_of(game, proximal), 3)
    assert all(torch.isfinite(torch.tensor([log["f_min"], log["f_max"]])).all() for log in logs)
    assert all(not torch.equal(a, b) for a, b in zip(before, game.parameters()))
    assert proximal.step_count == 3


def test_proximal_training_refuses_a_general_sum_loss():
    from gan_experiments.frameworks import ProximalGAN

    with pytest.raises(ValueError, match="zero-sum"):
        ProximalGAN(stackelberg_generator(), stackelberg_discriminator(), latent_dim=2, loss="nsgan")


@pytest.mark.parametrize("optimizer", ["ACGD", "AdamPair", "proximal"])
def test_weight_clipping_keeps_every_discriminator_weight_in_the_box(optimizer):
    """WGAN-WC: after every step |w| <= c for all of D's weights, whichever optimizer moved them."""
    from gan_experiments.frameworks import ProximalGAN

    torch.manual_seed(0)
    kind = ProximalGAN if optimizer == "proximal" else StandardGAN
    game = kind(
        stackelberg_generator(hidden=16), stackelberg_discriminator(), latent_dim=2, loss="wgan", weight_clip=0.01
    )
    if optimizer == "proximal":
        opt = game.optimizer(lr=1e-3, betas=(0.5, 0.999), inner_steps=3)
    elif optimizer == "AdamPair":
        opt = AdamPair(game.min_parameters(), game.max_parameters(), lr=1e-3, max_projection=game.project_discriminator)
    else:
        opt = ACGD(game.min_parameters(), game.max_parameters(), lr=1e-2)
    play(session_of(game, opt), 3)
    weights = torch.cat([p.detach().reshape(-1) for p in game.discriminator.parameters()])
    assert weights.abs().max() <= 0.01 and (weights.abs() == 0.01).any()  # the clip was active


def test_spectral_normalisation_makes_every_layer_1_lipschitz():
    from gan_experiments.models import with_spectral_norm

    torch.manual_seed(0)
    discriminator = with_spectral_norm(stackelberg_discriminator())
    for _ in range(30):  # power iterations, one per forward pass in training mode
        discriminator(torch.randn(8, 2))
    linear = [m for m in discriminator.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linear) == 3
    for layer in linear:
        assert torch.linalg.matrix_norm(layer.weight.detach(), ord=2) == pytest.approx(1.0, rel=1e-2)
