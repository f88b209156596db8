"""CGD, ACGD and GMRES steps on random quadratic games against the dense references of
cgd_optim.games (float64), through the helpers of cgd_optim.testing."""

import copy
import functools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from cgd_optim import ACGD, CGD, SimGD
from cgd_optim.competitive import _symmetric_warm_start, competitive_update, coupling_operator
from cgd_optim.games import ACGDReference, CGDReference, SimGDReference, cgd_step
from cgd_optim.linalg import conjugate_gradient
from cgd_optim.testing import (
    assert_matches_reference,
    assert_relabelling_invariant,
    leaves,
    points,
    quadratic_games,
    state_differences,
    step_sizes,
)

rates = st.floats(0.01, 0.5)
TIGHT = dict(tol=1e-13, max_iter=200)


def with_point(games):
    """(game, (x0, y0)) pairs: a game and a start drawn for its sizes."""
    return games.flatmap(lambda game: points(game).map(lambda start: (game, start)))


zero_sum_games = with_point(quadratic_games(well_conditioned=False))
general_sum_games = with_point(quadratic_games(zero_sum=False, well_conditioned=False))


@given(case=zero_sum_games, lr=step_sizes())
def test_one_cgd_step_equals_the_dense_block_solve(case, lr):
    (game, start), (lr_min, lr_max) = case, lr
    assert_matches_reference(
        lambda xs, ys: CGD(xs, ys, lr_min=lr_min, lr_max=lr_max, **TIGHT),
        game,
        1,
        reference=CGDReference(lr_min, lr_max),
        start=start,
    )


@given(case=zero_sum_games, lr=rates)
def test_cgd_update_is_the_nash_equilibrium_of_the_local_game(case, lr):
    game, (x0, y0) = case
    x, y = leaves(x0, y0)
    CGD([x], [y], lr=lr, **TIGHT).step(game.closure(x, y))
    dx, dy = x.detach() - x0, y.detach() - y0
    # neither player gains by deviating: the gradients of the local objectives vanish
    torch.testing.assert_close(game.grad_x(x0, y0) + game.B @ dy + dx / lr, torch.zeros_like(dx), rtol=0, atol=1e-8)
    torch.testing.assert_close(game.grad_y(x0, y0) + game.B.T @ dx - dy / lr, torch.zeros_like(dy), rtol=0, atol=1e-8)


@pytest.mark.parametrize("games", [zero_sum_games, general_sum_games], ids=["zero-sum", "general-sum"])
@given(data=st.data(), lr=step_sizes())
def test_relabelling_players_with_negated_objective_gives_the_same_update(games, data, lr):
    (game, start), (lr_min, lr_max) = data.draw(games), lr
    assert_relabelling_invariant(
        lambda xs, ys: CGD(xs, ys, lr_min=lr_min, lr_max=lr_max, **TIGHT),
        game,
        make_relabelled=lambda ys, xs: CGD(ys, xs, lr_min=lr_max, lr_max=lr_min, **TIGHT),
        start=start,
    )


@given(case=zero_sum_games, lr=st.floats(0.001, 0.1), beta=st.floats(0.0, 0.999))
def test_acgd_steps_equal_dense_algorithm_1(case, lr, beta):
    game, start = case
    assert_matches_reference(
        lambda xs, ys: ACGD(xs, ys, lr=lr, beta=beta, eps=1e-5, **TIGHT),
        game,
        4,
        reference=ACGDReference(lr, beta, 1e-5),
        start=start,
    )


@given(case=zero_sum_games, lr=st.floats(0.001, 0.1))
def test_acgd_with_beta_zero_is_cgd_with_steps_lr_over_abs_gradient(case, lr):
    game, (x0, y0) = case

    def reference(game, x, y):
        eta_x, eta_y = lr / (game.grad_x(x, y).abs() + 1e-5), lr / (game.grad_y(x, y).abs() + 1e-5)
        dx, dy = cgd_step(game, x, y, eta_x, eta_y)
        return x + dx, y + dy

    assert_matches_reference(
        lambda xs, ys: ACGD(xs, ys, lr=lr, beta=0.0, eps=1e-5, **TIGHT), game, 1, reference=reference, start=(x0, y0)
    )


@pytest.mark.parametrize("optimizer", ["CGD", "ACGD"])
@given(case=general_sum_games, lr=st.floats(0.01, 0.3))
def test_general_sum_gmres_step_equals_the_dense_solve(optimizer, case, lr):
    # D_xy f_min = B of f_min; D_yx f_max = B' of f_max (Schaefer & Anandkumar 2019, general-sum CGD)
    game, start = case
    if optimizer == "CGD":
        make, reference = (lambda xs, ys: CGD(xs, ys, lr=lr, gmres_restart=3, **TIGHT)), CGDReference(lr, lr)
    else:
        make = lambda xs, ys: ACGD(xs, ys, lr=lr, beta=0.0, gmres_restart=3, **TIGHT)  # noqa: E731
        reference = ACGDReference(lr, beta=0.0, eps=1e-5)
    assert_matches_reference(make, game, 1, reference=reference, start=start)


@given(case=zero_sum_games, lr=rates)
def test_pair_f_f_gives_the_zero_sum_step(case, lr):
    game, (x0, y0) = case
    x, y = leaves(x0, y0)
    CGD([x], [y], lr=lr, **TIGHT).step(game.closure(x, y))
    x2, y2 = leaves(x0, y0)
    CGD([x2], [y2], lr=lr, **TIGHT).step(lambda: (game.value(x2, y2), game.value(x2, y2)))
    torch.testing.assert_close(x2, x, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(y2, y, rtol=1e-9, atol=1e-9)


@given(case=zero_sum_games, lr=step_sizes())
def test_cgd_without_interaction_is_simgd(case, lr):
    game, start = case
    (lr_min, lr_max), uncoupled = lr, type(game)(game.A, 0 * game.B, game.C, game.a, game.b)  # nothing to anticipate
    assert_matches_reference(
        lambda xs, ys: CGD(xs, ys, lr_min=lr_min, lr_max=lr_max, **TIGHT),
        uncoupled,
        3,
        reference=SimGDReference(lr_min, lr_max),
        rtol=1e-10,
        start=start,
    )
    x, y = leaves(*start)
    x2, y2 = leaves(*start)
    cgd, simgd = CGD([x], [y], lr_min=lr_min, lr_max=lr_max, **TIGHT), SimGD([x2], [y2], lr_min=lr_min, lr_max=lr_max)
    for _ in range(3):
        cgd.step(uncoupled.closure(x, y))
        simgd.step(uncoupled.closure(x2, y2))
        torch.testing.assert_close(x, x2, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(y, y2, rtol=1e-10, atol=1e-10)


@given(case=zero_sum_games, lr=rates, noise=st.floats(0.0, 1.0), seed=st.integers(0, 2**31 - 1))
def test_zero_sum_warm_start_gives_the_dense_step_for_one_extra_product(case, lr, noise, seed):
    # competitive._symmetric_warm_start: the residual of the Galerkin-scaled start from L s0 and one
    # D_xy product of a combined vector; the step is the dense one, cold or warm
    game, (x0, y0) = case
    n, m = game.n, game.m
    generator = torch.Generator().manual_seed(seed)
    grad_x, grad_y = game.grad_x(x0, y0), game.grad_y(x0, y0)
    eta_x = lr * (0.5 + torch.rand(n, dtype=torch.float64, generator=generator))
    eta_y = lr * (0.5 + torch.rand(m, dtype=torch.float64, generator=generator))
    B = game.B
    hvp_xy, hvp_yx = (lambda v: B @ v), (lambda u: B.T @ u)
    solve = functools.partial(conjugate_gradient, tol=1e-13, max_iter=200, check_every=1)
    dx_dense, dy_dense = cgd_step(game, x0, y0, eta_x, eta_y)
    cold = competitive_update(hvp_xy, hvp_yx, grad_x, grad_y, eta_x, eta_y, solve, symmetric=True)
    warm_guess = cold[2] + noise * torch.randn(n, dtype=torch.float64, generator=generator)
    warm = competitive_update(hvp_xy, hvp_yx, grad_x, grad_y, eta_x, eta_y, solve, warm_guess, symmetric=True)
    for dx, dy, _, _info in (cold, warm):
        torch.testing.assert_close(dx, dx_dense, rtol=1e-8, atol=1e-10)
        torch.testing.assert_close(dy, dy_dense, rtol=1e-8, atol=1e-10)
    assert cold[3]["hvp_count"] == 2 * cold[3]["matvecs"] + 1
    assert warm[3]["hvp_count"] == 2 * warm[3]["matvecs"] + 2
    # the start is the energy-optimal multiple of the guess: gamma = s0'b / s0'Ms0
    root = eta_x.sqrt()
    matrix = torch.eye(n, dtype=torch.float64) + root[:, None] * B @ torch.diag(eta_y) @ B.T * root[None, :]
    b = root * (grad_x + B @ (eta_y * grad_y))
    start, _, residual, _ = _symmetric_warm_start(hvp_xy, hvp_yx, grad_x, grad_y, root, eta_y, warm_guess)
    gamma = (warm_guess @ b) / (warm_guess @ matrix @ warm_guess)
    torch.testing.assert_close(start, gamma * warm_guess)
    torch.testing.assert_close(residual, b - matrix @ start)


@given(case=zero_sum_games, lr=st.floats(0.001, 0.1), beta=st.floats(0.0, 0.999))
def test_acgd_with_eps_outside_and_squared_tolerances_equals_the_authors_formula(case, lr, beta):
    # eps_placement="outside": eta = lr sqrt(1 - beta^t) / (sqrt(v_t) + eps); tol_convention="squared":
    # tol 1e-26 on |r|^2 is 1e-13 on |r|
    game, start = case

    def make(xs, ys):
        return ACGD(
            xs,
            ys,
            lr=lr,
            beta=beta,
            eps=1e-3,
            tol=1e-26,
            max_iter=200,
            tol_convention="squared",
            eps_placement="outside",
        )

    assert_matches_reference(
        make, game, 4, reference=ACGDReference(lr, beta, 1e-3, eps_placement="outside"), start=start
    )


@pytest.mark.parametrize("games", [zero_sum_games, general_sum_games], ids=["zero-sum", "general-sum"])
@pytest.mark.parametrize("method", [CGD, ACGD], ids=["CGD", "ACGD"])
@given(data=st.data(), lr=step_sizes())
def test_local_game_is_the_game_the_next_step_solves_and_changes_nothing(games, method, data, lr):
    """local_game's coupling operator is the dense A D_xy f_min eta_y D_yx f_max A (A = eta_x^½), and
    the next step moves x by the dense solution of (I + that) s = A (grad_x + D_xy f_min eta_y grad_y)."""
    (game, (x0, y0)), (lr_min, lr_max) = data.draw(games), lr
    x, y = leaves(x0, y0)
    optimizer = method([x], [y], lr_min=lr_min, lr_max=lr_max, **TIGHT)
    optimizer.step(game.closure(x, y))  # a state to keep: ACGD's running averages
    saved, at = copy.deepcopy(optimizer.state_dict()), (x.detach().clone(), y.detach().clone())
    local = optimizer.local_game(game.closure(x, y))
    assert state_differences(saved, optimizer.state_dict()) == []
    assert torch.equal(x, at[0]) and torch.equal(y, at[1])
    d_xy, d_yx = (game.B, game.B.T) if local.zero_sum else (game.f_min.B, game.f_max.B.T)
    root, eta_y = local.eta_x.expand(game.n).sqrt(), local.eta_y.expand(game.m)
    coupled = root[:, None] * d_xy @ (eta_y[:, None] * d_yx) * root
    columns = torch.stack([coupling_operator(local)(e) for e in torch.eye(game.n, dtype=torch.float64)], dim=1)
    torch.testing.assert_close(columns, coupled, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(local.grad_x, game.grad_x(*at), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(local.grad_y, game.grad_y(*at), rtol=1e-12, atol=1e-12)
    rhs = root * (local.grad_x + d_xy @ (eta_y * local.grad_y))
    dx = -root * torch.linalg.solve(torch.eye(game.n, dtype=torch.float64) + coupled, rhs)
    optimizer.step(game.closure(x, y))
    torch.testing.assert_close(x.detach() - at[0], dx, rtol=1e-7, atol=1e-9)
