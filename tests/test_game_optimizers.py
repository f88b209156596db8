"""The game-aware first-order optimizers (LCGD, SGA, ConOpt, OGDA, ExtraSGD, ExtraAdam,
OptimisticAdam): dense references on random quadratic games, cooper-optim step for step, closed
forms, bad input and non-finite evaluations. The torch.optim conventions they share with CGD
(resume, schedulers, pickling, NaN closures) are tested in test_optimizer_api.py."""

import copy
import math
import sys
from pathlib import Path

import pytest
import torch
from dependencies import required
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cgd_optim import LCGD, OGDA, SGA, ConOpt, ExtraAdam, ExtraSGD, OptimisticAdam
from cgd_optim.games import (
    ConOptReference,
    ExtraAdamReference,
    ExtraSGDReference,
    LCGDReference,
    OGDAReference,
    OptimisticAdamReference,
    QuadraticGame,
    SGAReference,
)
from cgd_optim.testing import assert_matches_reference, leaves, quadratic_games, state_differences, step_sizes

# name -> (options, optimizer class, dense reference class): both built as cls(..., lr_min, lr_max, **options)
METHODS = {
    "LCGD": (dict(), LCGD, LCGDReference),
    "LCGD-rmsprop": (dict(rmsprop=0.9), LCGD, LCGDReference),
    "SGA": (dict(gamma=0.7), SGA, SGAReference),
    "SGA-plain": (dict(gamma=0.7, align=False), SGA, SGAReference),
    "ConOpt": (dict(gamma=0.5, rmsprop=0.5), ConOpt, ConOptReference),
    "OGDA": (dict(rmsprop=0.9), OGDA, OGDAReference),
    "ExtraSGD": (dict(), ExtraSGD, ExtraSGDReference),
    "ExtraAdam": (dict(betas=(0.5, 0.9), eps=1e-8), ExtraAdam, ExtraAdamReference),
    "OptimisticAdam": (dict(betas=(0.5, 0.9), eps=1e-8), OptimisticAdam, OptimisticAdamReference),
}
GENERAL_SUM = ["LCGD", "LCGD-rmsprop", "OGDA", "ExtraSGD", "ExtraAdam", "OptimisticAdam"]


def check_against_reference(name, game, rates, steps=4):
    options, cls, reference = METHODS[name]
    lr_min, lr_max = rates
    kwargs = options
    assert_matches_reference(
        lambda xs, ys: cls(xs, ys, lr_min=lr_min, lr_max=lr_max, **kwargs),
        game,
        steps,
        reference=reference(lr_min, lr_max, **kwargs),
        rtol=1e-10,
        atol=1e-12,
    )


@pytest.mark.parametrize("name", list(METHODS))
@settings(max_examples=10)
@given(game=quadratic_games(scale=0.5), rates=step_sizes(0.01, 0.2))
def test_each_method_is_its_dense_reference_on_zero_sum_quadratic_games(name, game, rates):
    """Random games with nonzero pure Hessians A and C (ConOpt's D_xx f term counts), float64."""
    check_against_reference(name, game, rates)


@pytest.mark.parametrize("name", GENERAL_SUM)
@settings(max_examples=5)
@given(game=quadratic_games(zero_sum=False, scale=0.5), rates=step_sizes(0.01, 0.2))
def test_general_sum_closures_follow_their_dense_reference(name, game, rates):
    check_against_reference(name, game, rates)


@pytest.mark.parametrize("cls", [SGA, ConOpt])
def test_sga_and_conopt_refuse_a_general_sum_closure_before_anything_changes(cls):
    x, y = leaves([0.5, -0.2], [0.3])
    optimizer = cls([x], [y], lr=0.1)
    with pytest.raises(ValueError, match="zero-sum"):
        optimizer.step(lambda: (x.sum() * y.sum(), x.sum() * y.sum() + y.sum()))
    assert x.tolist() == [0.5, -0.2] and y.tolist() == [0.3] and not optimizer.state


def test_sga_alignment_flips_the_sign_where_the_colab_formula_says():
    """f = x^2/2 + xy + 3y^2/2 at (0, 1): g = (1, 3), <xi, J'xi> = 1 - 27 = -26 and
    <A'xi, J'xi> = b^2 (gx^2 + gy^2) + b gx gy (a + c) = 22, so lambda = -gamma; then
    dx = -0.1 (1 + lambda * 3) = 0.05 and dy = 0.1 (3 - lambda * 1) = 0.35."""
    one = torch.ones(1, 1, dtype=torch.float64)
    game = QuadraticGame(one, one, 3 * one, torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    x, y = leaves([0.0], [1.0])
    optimizer = SGA([x], [y], lr=0.1, gamma=0.5)
    optimizer.step(game.closure(x, y))
    assert float(optimizer.step_stats["sga_lambda"]) == -0.5
    assert math.isclose(float(x.detach()), 0.05, rel_tol=1e-12) and math.isclose(float(y.detach()), 1.35, rel_tol=1e-12)
    plain_x, plain_y = leaves([0.0], [1.0])
    SGA([plain_x], [plain_y], lr=0.1, gamma=0.5, align=False).step(game.closure(plain_x, plain_y))
    # lambda = +gamma without alignment
    assert math.isclose(float(plain_x.detach()), -0.1 * (1 + 0.5 * 3), rel_tol=1e-12)


@pytest.mark.parametrize("cls", [ExtraSGD, LCGD])
@pytest.mark.parametrize("lr", [0.1, 0.5])
def test_on_the_bilinear_game_extragradient_and_lcgd_contract_at_the_closed_form_rate(cls, lr):
    """On f = xy both iterate z -> [[1 - lr^2, -lr], [lr, 1 - lr^2]] z, a scaled rotation: the
    distance to the equilibrium shrinks by sqrt(1 - lr^2 + lr^4) per step, where SimGD's grows."""
    game = QuadraticGame.bilinear(1)
    x, y = leaves([0.5], [0.5])
    optimizer = cls([x], [y], lr=lr)
    for _ in range(20):
        optimizer.step(game.closure(x, y))
    distance = float(torch.cat([x, y]).detach().norm())
    expected = math.sqrt(0.5) * (1 - lr**2 + lr**4) ** 10
    assert math.isclose(distance, expected, rel_tol=1e-10)


def test_ogda_starts_with_twice_the_gradient_step():
    x, y = leaves([1.0], [2.0])
    OGDA([x], [y], lr=0.1).step(lambda: (x * y).sum())  # grad_x f = y = 2, grad_y f = x = 1
    assert math.isclose(x.item(), 1.0 - 2 * 0.1 * 2.0) and math.isclose(y.item(), 2.0 + 2 * 0.1 * 1.0)


def test_extragradient_evaluates_the_closure_at_the_extrapolated_point_and_returns_the_first_value():
    x, y = leaves([1.0], [2.0])
    seen = []

    def closure():
        seen.append((float(x), float(y)))
        return (x * y).sum()

    returned = ExtraSGD([x], [y], lr=0.1).step(closure)
    assert seen == [(1.0, 2.0), (pytest.approx(0.8), pytest.approx(2.1))]
    assert float(returned) == 2.0
    assert math.isclose(float(x), 1.0 - 0.1 * 2.1) and math.isclose(float(y), 2.0 + 0.1 * 0.8)


class Players(nn.Module):
    """A small WGAN-shaped game in float64 on fixed data."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.G = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)).double()
        self.D = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()
        self.z = torch.randn(32, 2, dtype=torch.float64)
        self.real = torch.randn(32, 2, dtype=torch.float64) + 1.0

    def value(self):
        return self.D(self.real).mean() - self.D(self.G(self.z)).mean()


@pytest.mark.parametrize(
    "ours, theirs",
    [
        ("ExtraSGD", dict(lr=0.05)),
        ("ExtraAdam", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-8)),
    ],
)
def test_extragradient_equals_cooper_optim_step_for_step(ours, theirs):
    """cooper's protocol: each player's optimizer (the max player's with maximize=True), backward,
    extrapolation(), backward at the extrapolated point, step(); the same closure value at both."""
    cooper = required("cooper.optim")
    game, twin = Players(), Players()
    cls = {"ExtraSGD": ExtraSGD, "ExtraAdam": ExtraAdam}[ours]
    optimizer = cls(game.G.parameters(), game.D.parameters(), **theirs)
    cooper_cls = getattr(cooper, ours)
    players = [
        cooper_cls(twin.G.parameters(), weight_decay=0, **theirs),
        cooper_cls(twin.D.parameters(), weight_decay=0, maximize=True, **theirs),
    ]
    for _ in range(6):
        optimizer.step(game.value)
        for method in ("extrapolation", "step"):
            for player in players:
                player.zero_grad()
            twin.value().backward()
            for player in players:
                getattr(player, method)()
        for a, b in zip(game.parameters(), twin.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


BAD_INPUT = [
    (LCGD, dict(lr=0.0), "Invalid lr value: 0.0"),
    (OGDA, dict(lr=-1.0), "Invalid lr value: -1.0"),
    (SGA, dict(gamma=-0.5), "Invalid gamma value: -0.5"),
    (ConOpt, dict(gamma=-1.0), "Invalid gamma value: -1.0"),
    (ExtraAdam, dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (OptimisticAdam, dict(betas=(0.5, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (ExtraAdam, dict(eps=0.0), "Invalid eps value: 0.0"),
    (OptimisticAdam, dict(eps=-1e-8), "Invalid eps value: -1e-08"),
    (LCGD, dict(rmsprop=1.0), "Invalid rmsprop value: 1.0"),
    (SGA, dict(rmsprop=0.0), "Invalid rmsprop value: 0.0"),
    (ConOpt, dict(rmsprop=1.5), "Invalid rmsprop value: 1.5"),
    (OGDA, dict(rmsprop=-0.9), "Invalid rmsprop value: -0.9"),
    (ExtraSGD, dict(lr_max=0.0), "Invalid lr_max value: 0.0"),
]


@pytest.mark.parametrize("cls, kwargs, message", BAD_INPUT)
def test_bad_hyperparameters_are_value_errors_naming_the_argument(cls, kwargs, message):
    x, y = leaves([0.5], [0.3])
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        cls([x], [y], **kwargs)
    assert float(x) == 0.5 and x.grad is None


@pytest.mark.parametrize("cls", [ExtraSGD, ExtraAdam])
@pytest.mark.parametrize("failing", [1, 2])
def test_a_non_finite_evaluation_names_itself_and_changes_nothing(cls, failing):
    game = Players()
    optimizer = cls(game.G.parameters(), game.D.parameters(), lr=0.01)
    optimizer.step(game.value)  # state to keep intact
    before = [p.detach().clone() for p in game.parameters()], copy.deepcopy(optimizer.state_dict())
    calls = []

    def closure():
        calls.append(1)
        return game.value() * (float("nan") if len(calls) == failing else 1.0)

    where = "first evaluation" if failing == 1 else "second evaluation"
    with pytest.raises(FloatingPointError, match=where):
        optimizer.step(closure)
    assert len(calls) == failing
    assert all(torch.equal(a, b) for a, b in zip(before[0], game.parameters()))
    assert state_differences(before[1], optimizer.state_dict()) == []


@pytest.mark.parametrize("cls", [ExtraSGD, ExtraAdam])
def test_an_exception_in_the_second_evaluation_puts_the_players_back(cls):
    game = Players()
    optimizer = cls(game.G.parameters(), game.D.parameters(), lr=0.01)
    before = [p.detach().clone() for p in game.parameters()]
    calls = []

    def closure():
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return game.value()

    with pytest.raises(KeyboardInterrupt):
        optimizer.step(closure)
    assert all(torch.equal(a, b) for a, b in zip(before, game.parameters())) and not optimizer.state


def test_extra_adam_state_counts_optimizer_steps_and_holds_adams_moments():
    game = Players()
    optimizer = ExtraAdam(game.G.parameters(), game.D.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.step(game.value)
    first = next(iter(game.G.parameters()))
    assert optimizer.state[first]["step"] == 3
    assert set(optimizer.state[first]) == {"step", "exp_avg", "exp_avg_sq"}
    assert int(optimizer.step_stats["evaluations"]) == 2


@given(gamma=st.floats(0.0, 2.0), lr=st.floats(0.01, 0.3))
def test_without_coupling_sga_is_gradient_descent_ascent_and_conopt_adds_the_pure_hessian_term(gamma, lr):
    """A separable game (B = 0) has no competitive term: SGA is GDA whatever gamma; ConOpt adds
    gamma A g_x: dx = -lr (1 + gamma a) g_x on f = a x^2 / 2 - y^2 / 2."""
    x, y = leaves([1.0], [0.5])
    x2, y2 = leaves([1.0], [0.5])
    value = lambda x, y: 0.5 * 2.0 * (x * x).sum() - 0.5 * (y * y).sum()  # noqa: E731
    SGA([x], [y], lr=lr, gamma=gamma).step(lambda: value(x, y))
    ConOpt([x2], [y2], lr=lr, gamma=gamma).step(lambda: value(x2, y2))
    assert math.isclose(float(x), 1.0 - lr * 2.0, rel_tol=1e-12)
    assert math.isclose(float(x2), 1.0 - lr * (2.0 + gamma * 4.0), rel_tol=1e-12)
    assert math.isclose(float(y2), 0.5 + lr * (-0.5 - gamma * 0.5), rel_tol=1e-12)


def test_the_lagrangian_example_reaches_the_kkt_point_with_acgd_and_extragradient(capsys):
    """examples/lagrangian.py: the multiplier as the max player; both optimizers end at the KKT
    solution of the equality-constrained least squares to round-off."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import lagrangian

    results = lagrangian.main([])
    for name in ("ACGD", "ExtraSGD"):
        assert results[name]["distance_to_kkt"] < 1e-9, name
        assert results[name]["constraint_violation"] < 1e-9, name
    assert "|(w, lam) - KKT|" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["lcgd", "sga", "conopt", "ogda", "extra_sgd", "extra_adam", "optimistic_adam"])
def test_gan_experiments_builds_each_method_from_its_config_keys_and_counts_its_work(name):
    """run.optimizer = NAME with the [optimizer] keys: the class and options the config says, and
    the gradient evaluations metrics.csv counts (tests/test_cli.py runs extra_adam end to end)."""
    from gan_experiments.config import OptimizerConfig
    from gan_experiments.optimizers import build_optimizer, step_operations

    options = OptimizerConfig(lr=0.01, gamma=0.5, align=False, rmsprop=0.9, betas=[0.5, 0.9], eps=1e-8)
    x, y = leaves([0.5, -0.2], [0.3])
    optimizer = build_optimizer(name, options, [x], [y])
    optimizer.step(lambda: (x * x).sum() * y.sum() - y.sum() ** 2)
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.01 and group.get("rmsprop", 0.9) == 0.9 and group.get("betas", (0.5, 0.9)) == (0.5, 0.9)
    assert group.get("gamma", 0.5) == 0.5 and group.get("align", False) is False
    counted = step_operations(name, optimizer, critic_steps=1)
    if name in ("lcgd", "sga", "conopt"):
        assert counted == {"gradient_with_graph": 1, "mixed_product": 1 if name == "conopt" else 2}
    else:
        evaluations = 2 if name.startswith("extra") else 1
        assert counted == {"min_gradient": evaluations, "max_gradient": evaluations}


def test_a_subclass_that_does_not_say_how_it_plays_cannot_be_built():
    """The hooks of the shared step (``play``, ``half_step``, ``directions``) are abstract: a
    subclass missing one is a TypeError naming it at construction, not a failure at its first
    step."""
    from cgd_optim.corrections import _Corrected
    from cgd_optim.extrapolation import Extragradient
    from cgd_optim.gradient_play import GradientPlay

    x, y = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    for base, hook in ((GradientPlay, "play"), (Extragradient, "half_step"), (_Corrected, "directions")):
        incomplete = type(f"Incomplete{base.__name__}", (base,), {})
        with pytest.raises(TypeError, match=rf"abstract method.*{hook}"):
            incomplete([x], [y], lr_min=0.1, lr_max=0.1)
