"""SGAN (Chavdarova & Fleuret 2018, "SGAN" Algorithm 1): isolation of the local pairs, messengers, the global pair."""

import pytest
import torch

from gan_experiments import experiment
from gan_experiments.config import from_dict
from gan_experiments.frameworks import SGAN, derived_seed
from gan_experiments.losses import game_objective
from gan_experiments.registry import check

OPTIMIZERS = ["adam", "acgd", "cgd", "simgd"]


def tiny(
    global_pair: bool = True,
    optimizer: str = "adam",
    global_optimizer: str = "adam",
    loss: str = "wgan-gp",
    pairs: int = 3,
    critic_steps: int = 1,
    messenger_steps: int = 1,
    **run,
):
    return from_dict(
        {
            "run": {
                "framework": "sgan",
                "optimizer": optimizer,
                "loss": loss,
                "batch_size": 16,
                "samples": 120,
                "steps": 4,
                "eval_every": 2,
                "checkpoint_every": 2,
                **run,
            },
            "model": {"latent_dim": 4, "generator_hidden": 16, "discriminator_hidden": 16},
            "optimizer": {"lr": 1e-3, "critic_steps": critic_steps},
            "sgan": {
                "pairs": pairs,
                "global_pair": global_pair,
                "global_optimizer": global_optimizer,
                "messenger_steps": messenger_steps,
            },
        }
    )


def session(config):
    return experiment.build(config).session


def players(config):
    return experiment.build(config).players


def local_parameters(trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for pair in trainer.players.local_pairs for p in pair.parameters()]


@pytest.mark.parametrize("optimizer, steps", [("adam", 1), ("acgd", 1), ("adam", 3)])
def test_local_pairs_are_bit_identical_with_and_without_the_global_pair(optimizer, steps):
    """Also with I_D = 3 (optimizer.critic_steps, sgan.messenger_steps): every stream is a pair's own."""
    with_global = session(tiny(True, optimizer, optimizer, critic_steps=steps, messenger_steps=steps))
    alone = session(tiny(False, optimizer, optimizer, critic_steps=steps, messenger_steps=steps))
    g0_before = [p.detach().clone() for p in with_global.players.global_pair.parameters()]
    for _ in range(3):
        with_global.train_step()
        alone.train_step()
        for a, b in zip(local_parameters(with_global), local_parameters(alone)):
            assert torch.equal(a, b)
    g0_after = list(with_global.players.global_pair.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(g0_before, g0_after))  # G0 and D0 did train


def test_local_pairs_train_the_same_with_3_or_10_pairs_and_i_d_2():
    three, ten = session(tiny(pairs=3, critic_steps=2, messenger_steps=2)), session(tiny(pairs=10, critic_steps=2))
    for _ in range(2):
        three.train_step()
        ten.train_step()
    for a, b in zip(local_parameters(three), local_parameters(ten)):  # the first three pairs of ten
        assert torch.equal(a, b)


def test_i_d_discriminator_steps_per_generator_step_for_locals_and_messengers():
    """Algorithm 1, lines 5 and 16: I_D steps of each discriminator (Adam's step count), one of each generator."""
    trainer = session(tiny(critic_steps=5, messenger_steps=3))
    for _ in range(2):
        trainer.train_step()
    steps = lambda optimizer: {int(s["step"]) for s in optimizer.state.values()}  # noqa: E731
    for local in trainer.local:
        assert steps(local.optimizer.max_optimizer) == {10} and steps(local.optimizer.min_optimizer) == {2}
    assert steps(trainer.messengers.optimizer.max_optimizer) == {6}
    assert steps(trainer.messengers.optimizer.min_optimizer) == {2}
    assert steps(trainer.global_discriminator_optimizer) == {2}  # D0: one step per iteration (lines 27-31)


def test_i_d_above_one_needs_the_adam_pair():
    from gan_experiments.config import ConfigError

    with pytest.raises(ConfigError, match=r"critic_steps = 5 needs run.optimizer"):
        check(tiny(optimizer="acgd", critic_steps=5))
    with pytest.raises(ConfigError, match=r"sgan.messenger_steps = 5 needs sgan.global_optimizer"):
        check(tiny(global_optimizer="cgd", messenger_steps=5))


def test_local_pair_weights_do_not_depend_on_how_many_pairs_there_are():
    three, five = players(tiny(pairs=3)), players(tiny(pairs=5))
    for a, b in zip(three.local_pairs.parameters(), list(five.local_pairs.parameters())):
        assert torch.equal(a, b)
    assert derived_seed(0, "pair", 0) != derived_seed(1, "pair", 0) != derived_seed(0, "pair", 1)


def test_messengers_are_recloned_from_the_local_discriminators_every_iteration():
    trainer = session(tiny())
    sgan: SGAN = trainer.players
    for _ in range(2):
        trainer.train_step()
        local_d = [[p.detach().clone() for p in pair.discriminator.parameters()] for pair in sgan.local_pairs]
        messengers = [[p.detach().clone() for p in m.parameters()] for m in sgan.messenger_game.messengers]
        # trained one step against G0 after the copy (the WGAN critic's output bias has no gradient)
        for mine, theirs in zip(messengers, local_d):
            assert sum(not torch.equal(a, b) for a, b in zip(mine, theirs)) == len(mine) - 1
        sgan.messenger_game.refresh([pair.discriminator for pair in sgan.local_pairs])
        for mine, pair in zip(sgan.messenger_game.messengers, sgan.local_pairs):
            assert all(torch.equal(a, b) for a, b in zip(mine.parameters(), pair.discriminator.parameters()))


def test_messenger_game_is_the_sum_of_v_over_the_messengers():
    sgan = players(tiny(loss="ogan"))
    real, z = torch.randn(8, 2), torch.randn(8, 4)
    fake = sgan.global_pair.generator(z)
    expected = sum(game_objective("ogan", m, real, [fake]) for m in sgan.messenger_game.messengers)
    torch.testing.assert_close(sgan.messenger_game.objective(real, z), expected)
    assert len(sgan.messenger_game.min_parameters()) == len(list(sgan.global_pair.generator.parameters()))


def test_global_discriminator_steps_against_the_local_generators_without_touching_them():
    trainer = session(tiny())
    sgan = trainer.players
    generators = [p.detach().clone() for pair in sgan.local_pairs for p in pair.generator.parameters()]
    d0 = [p.detach().clone() for p in sgan.global_pair.discriminator.parameters()]
    trainer._global_discriminator_step()
    assert all(
        torch.equal(a, b)
        for a, b in zip(generators, [p for pair in sgan.local_pairs for p in pair.generator.parameters()])
    )
    assert all(not torch.equal(a, b) for a, b in zip(d0, sgan.global_pair.discriminator.parameters()))


@pytest.mark.parametrize("local", OPTIMIZERS)
@pytest.mark.parametrize("global_optimizer", OPTIMIZERS)
def test_every_local_and_global_optimizer_trains(local, global_optimizer):
    trainer = session(tiny(optimizer=local, global_optimizer=global_optimizer, loss="ogan", pairs=2))
    before = [p.detach().clone() for p in trainer.players.parameters()]
    rows = [trainer.train_step() for _ in range(2)]
    assert all(torch.isfinite(torch.tensor([r["f_min"], r["f_max"], r["global_discriminator"]])).all() for r in rows)
    assert all(not torch.equal(a, b) for a, b in zip(before, trainer.players.parameters()))


def test_sgan_run_resumes_bit_identically_and_reports_g0_and_the_local_ensemble(tmp_path):
    i_d = dict(critic_steps=2, messenger_steps=3)  # the resume holds with I_D > 1
    experiment.run(tiny(steps=4, **i_d), tmp_path / "straight")
    experiment.run(tiny(steps=2, **i_d), tmp_path / "resumed")
    final = experiment.run(tiny(steps=4, **i_d), tmp_path / "resumed", resume=True)
    straight = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)
    resumed = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    for key, value in straight["players"].items():
        assert torch.equal(value, resumed["players"][key]), key
    assert {"modes_covered", "local_modes_covered", "generator_modes"} <= set(final)
    assert len(final["generator_modes"]) == 3 and sum(map(sum, final["generator_modes"])) <= 120


def test_local_pairs_alone_report_their_ensemble_as_the_model(tmp_path):
    final = experiment.run(tiny(global_pair=False, steps=2), tmp_path)
    assert "local_modes_covered" not in final
    # the model's modes are the ensemble's: its histogram is the sum of the local generators' histograms
    summed = [sum(counts) for counts in zip(*final["generator_modes"])]
    assert len(final["generator_modes"]) == 3 and final["modes_covered"] == sum(c >= 1 for c in summed)
