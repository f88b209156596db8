"""CGD, ACGD and GMRES steps on random quadratic games against dense NumPy solves (float64)."""

import functools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from cgd_optim import ACGD, CGD, SimGD
from cgd_optim.competitive import _symmetric_warm_start, competitive_update
from cgd_optim.linalg import conjugate_gradient
from games import QuadraticGame, dense_acgd, dense_cgd_step, dense_general_sum_step, players

dims = st.integers(1, 5)
seeds = st.integers(0, 2**31 - 1)
rates = st.floats(0.01, 0.5)
TIGHT = dict(tol=1e-13, max_iter=200)


def assert_moved_by(x, y, x_expected, y_expected):
    """The players now sit where the dense reference puts them, to 1e-8."""
    np.testing.assert_allclose(x.detach().numpy(), x_expected, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(y.detach().numpy(), y_expected, rtol=1e-8, atol=1e-8)


def setup(seed, n, m):
    rng = np.random.default_rng(seed)
    return QuadraticGame.random(rng, n, m), rng.normal(size=n), rng.normal(size=m)


@given(seed=seeds, n=dims, m=dims, lr_min=rates, lr_max=rates)
def test_one_cgd_step_equals_the_dense_block_solve(seed, n, m, lr_min, lr_max):
    game, x0, y0 = setup(seed, n, m)
    x, y = players(x0, y0)
    CGD([x], [y], lr_min=lr_min, lr_max=lr_max, **TIGHT).step(lambda: game.value(x, y))
    dx, dy = dense_cgd_step(game, x0, y0, lr_min, lr_max)
    assert_moved_by(x, y, x0 + dx, y0 + dy)


@given(seed=seeds, n=dims, m=dims, lr=rates)
def test_cgd_update_is_the_nash_equilibrium_of_the_local_game(seed, n, m, lr):
    game, x0, y0 = setup(seed, n, m)
    x, y = players(x0, y0)
    CGD([x], [y], lr=lr, **TIGHT).step(lambda: game.value(x, y))
    dx, dy = x.detach().numpy() - x0, y.detach().numpy() - y0
    # neither player gains by deviating: the gradients of the local objectives vanish
    np.testing.assert_allclose(game.grad_x(x0, y0) + game.B @ dy + dx / lr, 0.0, atol=1e-8)
    np.testing.assert_allclose(game.grad_y(x0, y0) + game.B.T @ dx - dy / lr, 0.0, atol=1e-8)


@given(seed=seeds, n=dims, m=dims, lr_min=rates, lr_max=rates)
def test_relabelling_players_with_negated_objective_gives_the_same_update(seed, n, m, lr_min, lr_max):
    game, x0, y0 = setup(seed, n, m)
    x, y = players(x0, y0)
    CGD([x], [y], lr_min=lr_min, lr_max=lr_max, **TIGHT).step(lambda: game.value(x, y))
    x2, y2 = players(x0, y0)
    CGD([y2], [x2], lr_min=lr_max, lr_max=lr_min, **TIGHT).step(lambda: -game.value(x2, y2))
    torch.testing.assert_close(x2, x, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(y2, y, rtol=1e-9, atol=1e-9)


@given(seed=seeds, n=dims, m=dims, lr=st.floats(0.001, 0.1), beta=st.floats(0.0, 0.999))
def test_acgd_steps_equal_dense_algorithm_1(seed, n, m, lr, beta):
    game, x0, y0 = setup(seed, n, m)
    x, y = players(x0, y0)
    optimizer = ACGD([x], [y], lr=lr, beta=beta, eps=1e-5, **TIGHT)
    for (x_ref, y_ref) in dense_acgd(game, x0, y0, steps=4, lr=lr, beta=beta, eps=1e-5):
        optimizer.step(lambda: game.value(x, y))
        assert_moved_by(x, y, x_ref, y_ref)


@given(seed=seeds, n=dims, m=dims, lr=st.floats(0.001, 0.1))
def test_acgd_with_beta_zero_is_cgd_with_steps_lr_over_abs_gradient(seed, n, m, lr):
    game, x0, y0 = setup(seed, n, m)
    x, y = players(x0, y0)
    ACGD([x], [y], lr=lr, beta=0.0, eps=1e-5, **TIGHT).step(lambda: game.value(x, y))
    g_x, g_y = game.grad_x(x0, y0), game.grad_y(x0, y0)
    dx, dy = dense_general_sum_step(g_x, g_y, game.B, game.B.T, lr / (np.abs(g_x) + 1e-5), lr / (np.abs(g_y) + 1e-5))
    assert_moved_by(x, y, x0 + dx, y0 + dy)


def general_sum_setup(seed, n, m):
    rng = np.random.default_rng(seed)
    f_min, f_max = QuadraticGame.random(rng, n, m), QuadraticGame.random(rng, n, m)
    return f_min, f_max, rng.normal(size=n), rng.normal(size=m)


@pytest.mark.parametrize("optimizer", ["CGD", "ACGD"])
@given(seed=seeds, n=dims, m=dims, lr=st.floats(0.01, 0.3))
def test_general_sum_gmres_step_equals_the_dense_solve(optimizer, seed, n, m, lr):
    f_min, f_max, x0, y0 = general_sum_setup(seed, n, m)
    x, y = players(x0, y0)
    make = CGD if optimizer == "CGD" else lambda *a, **k: ACGD(*a, beta=0.0, **k)
    make([x], [y], lr=lr, gmres_restart=3, **TIGHT).step(lambda: (f_min.value(x, y), f_max.value(x, y)))
    g_x, g_y = f_min.grad_x(x0, y0), f_max.grad_y(x0, y0)
    eta_x, eta_y = (lr, lr) if optimizer == "CGD" else (lr / (np.abs(g_x) + 1e-5), lr / (np.abs(g_y) + 1e-5))
    # D_xy f_min = B of f_min; D_yx f_max = B' of f_max (Schaefer & Anandkumar 2019, general-sum CGD)
    dx, dy = dense_general_sum_step(g_x, g_y, f_min.B, f_max.B.T, eta_x, eta_y)
    assert_moved_by(x, y, x0 + dx, y0 + dy)


@given(seed=seeds, n=dims, m=dims, lr=rates)
def test_pair_f_f_gives_the_zero_sum_step(seed, n, m, lr):
    game, x0, y0 = setup(seed, n, m)
    x, y = players(x0, y0)
    CGD([x], [y], lr=lr, **TIGHT).step(lambda: game.value(x, y))
    x2, y2 = players(x0, y0)
    CGD([x2], [y2], lr=lr, **TIGHT).step(lambda: (game.value(x2, y2), game.value(x2, y2)))
    torch.testing.assert_close(x2, x, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(y2, y, rtol=1e-9, atol=1e-9)


@given(seed=seeds, n=dims, m=dims, lr_min=rates, lr_max=rates)
def test_cgd_without_interaction_is_simgd(seed, n, m, lr_min, lr_max):
    game, x0, y0 = setup(seed, n, m)
    game.B[:] = 0.0  # f = g(x) - h(y): nothing to anticipate
    x, y = players(x0, y0)
    x2, y2 = players(x0, y0)
    cgd = CGD([x], [y], lr_min=lr_min, lr_max=lr_max, **TIGHT)
    simgd = SimGD([x2], [y2], lr_min=lr_min, lr_max=lr_max)
    for _ in range(3):
        cgd.step(lambda: game.value(x, y))
        simgd.step(lambda: game.value(x2, y2))
        torch.testing.assert_close(x, x2, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(y, y2, rtol=1e-10, atol=1e-10)


@given(seed=seeds, n=dims, m=dims, lr=rates, noise=st.floats(0.0, 1.0))
def test_zero_sum_warm_start_gives_the_dense_step_for_one_extra_product(seed, n, m, lr, noise):
    # competitive._symmetric_warm_start: the residual of the Galerkin-scaled start from L s0 and one
    # D_xy product of a combined vector; the step is the dense one, cold or warm
    game, x0, y0 = setup(seed, n, m)
    rng = np.random.default_rng(seed + 1)
    grad_x, grad_y = (torch.tensor(g) for g in (game.grad_x(x0, y0), game.grad_y(x0, y0)))
    eta_x, eta_y = torch.tensor(lr * (0.5 + rng.random(n))), torch.tensor(lr * (0.5 + rng.random(m)))
    B = torch.tensor(game.B)
    hvp_xy, hvp_yx = (lambda v: B @ v), (lambda u: B.T @ u)
    solve = functools.partial(conjugate_gradient, tol=1e-13, max_iter=200, check_every=1)
    dx_dense, dy_dense = dense_cgd_step(game, x0, y0, eta_x.numpy(), eta_y.numpy())
    cold = competitive_update(hvp_xy, hvp_yx, grad_x, grad_y, eta_x, eta_y, solve, symmetric=True)
    warm_guess = cold[2] + noise * torch.tensor(rng.normal(size=n))
    warm = competitive_update(hvp_xy, hvp_yx, grad_x, grad_y, eta_x, eta_y, solve, warm_guess, symmetric=True)
    for dx, dy, _, info in (cold, warm):
        np.testing.assert_allclose(dx.numpy(), dx_dense, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(dy.numpy(), dy_dense, rtol=1e-8, atol=1e-10)
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
