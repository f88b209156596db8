"""cgd_optim.games and cgd_optim.testing: closed forms against autograd, the Jacobians against
the optimizers' own iterates, equilibria, and readable failures of the helpers."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from torch.func import hessian

from cgd_optim import CGD, SimGD
from cgd_optim.games import (
    ACGDReference,
    GeneralSumQuadraticGame,
    QuadraticGame,
    cgd_jacobian,
    cgd_step,
    is_local_nash,
    simgd_jacobian,
    simgd_step,
    solve_nash,
    stationary_point,
)
from cgd_optim.testing import (
    assert_converges,
    assert_diverges,
    assert_matches_reference,
    assert_relabelling_invariant,
    leaves,
    quadratic_games,
    step_sizes,
)


@given(game=quadratic_games(zero_sum=False))
def test_gradients_and_blocks_are_autograds(game):
    x, y = leaves(torch.randn(game.n, dtype=torch.float64), torch.randn(game.m, dtype=torch.float64))
    f_min, f_max = game.value(x, y)
    torch.testing.assert_close(torch.autograd.grad(f_min, x)[0], game.grad_x(x, y).detach())
    torch.testing.assert_close(torch.autograd.grad(f_max, y)[0], game.grad_y(x, y).detach())
    joint = lambda f: hessian(lambda z: f.value(z[: game.n], z[game.n :]))(torch.cat([x, y]).detach())  # noqa: E731
    h_min, h_max = joint(game.f_min), joint(game.f_max)
    torch.testing.assert_close(h_min[: game.n, : game.n], game.hessian_xx)
    torch.testing.assert_close(h_min[: game.n, game.n :], game.mixed_xy)
    torch.testing.assert_close(h_max[game.n :, : game.n], game.mixed_yx)
    torch.testing.assert_close(h_max[game.n :, game.n :], game.hessian_yy)


def test_numpy_in_numpy_out_and_tensors_in_tensors_out():
    game = QuadraticGame(np.eye(2), np.ones((2, 3)), -np.eye(3), np.zeros(2), np.arange(3.0))
    assert all(
        isinstance(getattr(game, name), np.ndarray) and getattr(game, name).dtype == np.float64 for name in "ABCab"
    )
    dx, dy = cgd_step(game, np.zeros(2), np.ones(3), 0.1, 0.2)
    assert isinstance(dx, np.ndarray) and isinstance(dy, np.ndarray)
    tensor_dx, tensor_dy = cgd_step(
        game, torch.zeros(2, dtype=torch.float64), torch.ones(3, dtype=torch.float64), 0.1, 0.2
    )
    np.testing.assert_array_equal(tensor_dx.numpy(), dx)
    np.testing.assert_array_equal(tensor_dy.numpy(), dy)
    with pytest.raises(ValueError, match="A must be symmetric"):
        QuadraticGame(np.array([[0.0, 1.0], [0.0, 0.0]]), np.ones((2, 1)), np.eye(1), np.zeros(2), np.zeros(1))
    with pytest.raises(ValueError, match="C has shape"):
        QuadraticGame(np.eye(2), np.ones((2, 1)), np.eye(2), np.zeros(2), np.zeros(1))


def test_random_games_are_named_by_their_seed():
    game = QuadraticGame.random(3, 2, seed=7, scale=0.5)
    assert repr(game) == "QuadraticGame.random(3, 2, seed=7, scale=0.5)"
    again = QuadraticGame.random(3, 2, seed=7, scale=0.5)
    assert all(torch.equal(getattr(game, k), getattr(again, k)) for k in "ABCab")
    with pytest.raises(ValueError, match="exactly one of seed= and generator="):
        QuadraticGame.random(3, 2)


def test_the_icr_game_has_a_stationary_point_that_is_not_a_nash_equilibrium():
    game = QuadraticGame.icr_quadratic()
    x, y = stationary_point(game)
    assert float(x.abs()) == 0.0 == float(y.abs())
    assert not is_local_nash(game, x, y)
    with pytest.raises(ValueError, match="D_yy f_max has eigenvalue 2 > 0"):
        solve_nash(game)
    # 1/2 x'x + x'By - 1/2 y'y is strictly convex-concave: its stationary point is the Nash equilibrium
    convex_concave = QuadraticGame(
        torch.eye(2), torch.ones(2, 1), -torch.eye(1), torch.tensor([1.0, 0.0]), torch.tensor([2.0])
    )
    x, y = solve_nash(convex_concave)
    assert is_local_nash(convex_concave, x, y) and not is_local_nash(convex_concave, x + 1e-3, y)
    with pytest.raises(ValueError, match="no unique stationary point"):
        stationary_point(
            QuadraticGame(torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1, 1), torch.ones(1), torch.ones(1))
        )


@pytest.mark.parametrize("kind", ["simultaneous", "alternating", "cgd"])
@given(game=quadratic_games(n=3, m=2, zero_sum=False), lr=step_sizes(0.01, 0.2))
def test_one_step_moves_the_offset_from_the_stationary_point_by_the_jacobian(kind, game, lr):
    """The update is affine: z1 - z* = J (z0 - z*), with the optimizer's own z1."""
    lr_min, lr_max = lr
    target = torch.cat(stationary_point(game))
    x, y = leaves(torch.randn(3, dtype=torch.float64), torch.randn(2, dtype=torch.float64))
    z0 = torch.cat([x, y]).detach()
    if kind == "cgd":
        optimizer, jacobian = (
            CGD([x], [y], lr_min=lr_min, lr_max=lr_max, tol=1e-13, max_iter=200),
            cgd_jacobian(game, *lr),
        )
    else:
        alternating = kind == "alternating"
        optimizer = SimGD([x], [y], lr_min=lr_min, lr_max=lr_max, alternating=alternating)
        jacobian = simgd_jacobian(game, lr_min, lr_max, alternating=alternating)
    optimizer.step(game.closure(x, y))
    torch.testing.assert_close(torch.cat([x, y]).detach() - target, jacobian @ (z0 - target), rtol=1e-8, atol=1e-8)


def test_simgd_step_reference_alternates_max_player_first():
    game = QuadraticGame.icr_quadratic()
    x, y = torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    dx, dy = simgd_step(game, x, y, 0.09, 0.01, alternating=True)
    assert float(dy) == pytest.approx(0.01 * (10 + 2))  # grad_y f = 10x + 2y at (1, 1)
    assert float(dx) == pytest.approx(-0.09 * (2 + 10 * 1.12))  # grad_x f = 2x + 10y at y = 1.12


def test_acgd_reference_keeps_algorithm_1s_state():
    game, reference = QuadraticGame.icr_quadratic(), ACGDReference(0.01, beta=0.9, eps=1e-5)
    x, y = torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    reference.step(game, x, y)
    assert reference.t == 1
    torch.testing.assert_close(reference.sq_avg_x, 0.1 * torch.tensor([12.0]) ** 2, check_dtype=False)
    torch.testing.assert_close(reference.eta_x, 0.01 / (torch.tensor([12.0]) + 1e-5), check_dtype=False)


def test_helpers_fail_with_the_step_the_player_and_both_vectors():
    game = QuadraticGame.random(2, 2, seed=0)
    wrong = lambda g, x, y: (x, y)  # noqa: E731  (stands still)
    with pytest.raises(
        AssertionError, match=r"step 1, min player x: largest difference .*\n  optimizer: .*\n  reference: "
    ):
        assert_matches_reference(lambda xs, ys: CGD(xs, ys, lr=0.1), game, 2, reference=wrong)
    with pytest.raises(AssertionError, match=r"(?s)step 1, player x: .*relabelled game: "):
        assert_relabelling_invariant(lambda xs, ys: CGD(xs, ys, lr_min=0.1, lr_max=0.3), game)  # roles differ
    bilinear = QuadraticGame.bilinear(1)
    with pytest.raises(AssertionError, match="expected convergence to the stationary point"):
        assert_converges(lambda xs, ys: SimGD(xs, ys, lr=0.3), bilinear, 50)
    with pytest.raises(AssertionError, match="expected divergence past 1000 times"):
        assert_diverges(lambda xs, ys: CGD(xs, ys, lr=0.3), bilinear, 50)
    assert_diverges(lambda xs, ys: SimGD(xs, ys, lr=0.3), bilinear, 300)


def test_relabelling_a_general_sum_game_swaps_and_negates_both_objectives():
    game = GeneralSumQuadraticGame.random(2, 3, seed=1)
    x, y = torch.randn(2, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    g_min, g_max = game.relabelled().value(y, x)
    f_min, f_max = game.value(x, y)
    torch.testing.assert_close((g_min, g_max), (-f_max, -f_min))


def test_games_import_with_torch_alone_and_testing_names_the_missing_package():
    blocked = "import sys; sys.modules.update({name: None for name in ('numpy', 'hypothesis')}); "
    games = subprocess.run(
        [
            sys.executable,
            "-c",
            blocked + "from cgd_optim.games import QuadraticGame, cgd_step; "
            "g = QuadraticGame.random(2, 1, seed=0); print(g.value(g.a, g.b).item())",
        ],
        capture_output=True,
        text=True,
    )
    assert games.returncode == 0, games.stderr
    testing = subprocess.run(
        [sys.executable, "-c", blocked + "import cgd_optim.testing"], capture_output=True, text=True
    )
    assert "cgd_optim.testing needs hypothesis: pip install hypothesis" in testing.stderr
