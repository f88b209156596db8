"""The ICR paper's small games (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs" Sec.
3-4, Fig. 3) and the bilinear game."""

import warnings

import numpy as np
import pytest
import torch

from cgd_optim import ACGD, CGD, SimGD
from cgd_optim.games import QuadraticGame, cgd_jacobian, simgd_jacobian, spectral_radius
from cgd_optim.testing import assert_converges, assert_diverges

ICR = QuadraticGame.icr_quadratic()
BILINEAR = QuadraticGame.bilinear(2)
ICR_START = (torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64))
BILINEAR_START = (torch.tensor([1.0, -0.5], dtype=torch.float64), torch.tensor([0.5, 1.0], dtype=torch.float64))


def play(make, game, start, steps, **options):
    x, y = (v.clone().requires_grad_() for v in start)
    optimizer = make([x], [y], **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(steps):
            try:
                optimizer.step(game.closure(x, y))
            except FloatingPointError:
                return float("inf")
    return float(torch.cat([x, y]).detach().norm())


def test_simgd_converges_with_step_sizes_009_001():
    assert spectral_radius(simgd_jacobian(ICR, 0.09, 0.01)) < 1
    assert_converges(lambda xs, ys: SimGD(xs, ys, lr_min=0.09, lr_max=0.01), ICR, 1000, tol=1e-10, start=ICR_START)


@pytest.mark.parametrize("lr_min, lr_max", [(0.03, 0.03), (0.01, 0.09)])
def test_simgd_diverges_with_the_other_step_sizes(lr_min, lr_max):
    assert spectral_radius(simgd_jacobian(ICR, lr_min, lr_max)) > 1
    assert_diverges(lambda xs, ys: SimGD(xs, ys, lr_min=lr_min, lr_max=lr_max), ICR, 1000, factor=1e6, start=ICR_START)


def cgd_iteration_matrix(lr_min, lr_max):
    """The linear CGD map z -> z + (dx, dy) on f = x^2 + 10xy + y^2, written out by hand."""
    d = 1 + 100 * lr_min * lr_max
    dx = -lr_min / d * (np.array([2.0, 10.0]) + 10 * lr_max * np.array([10.0, 2.0]))
    dy = lr_max * (np.array([10.0, 2.0]) + 10 * dx)
    return np.eye(2) + np.vstack([dx, dy])


@pytest.mark.parametrize(
    "lr_min, lr_max, radius", [(0.09, 0.01, 0.87598), (0.03, 0.03, 0.95610), (0.01, 0.09, 1.03001)]
)
def test_cgd_on_the_icr_quadratic_follows_its_spectral_radius(lr_min, lr_max, radius):
    # CGD stabilises (0.03, 0.03), where SimGD diverges; with the max player 9x faster
    # (0.01, 0.09) the y^2 term wins and CGD diverges too, slowly (radius 1.03).
    jacobian = cgd_jacobian(ICR, lr_min, lr_max)
    np.testing.assert_allclose(jacobian.numpy(), cgd_iteration_matrix(lr_min, lr_max), rtol=1e-14, atol=1e-14)
    assert spectral_radius(jacobian) == pytest.approx(radius, abs=1e-5)
    end = play(CGD, ICR, ICR_START, 500, lr_min=lr_min, lr_max=lr_max, tol=1e-14)
    expected = float((torch.linalg.matrix_power(jacobian, 500) @ torch.ones(2, dtype=torch.float64)).norm())
    assert end == pytest.approx(expected, rel=1e-6)


def test_bilinear_simgd_diverges_and_cgd_converges():
    # SimGD's iteration matrix has spectral radius sqrt(1 + lr^2) > 1, CGD's 1 / sqrt(1 + lr^2) < 1
    assert spectral_radius(simgd_jacobian(BILINEAR, 0.3, 0.3)) == pytest.approx((1 + 0.3**2) ** 0.5, rel=1e-12)
    assert spectral_radius(cgd_jacobian(BILINEAR, 0.3, 0.3)) == pytest.approx((1 + 0.3**2) ** -0.5, rel=1e-12)
    assert play(SimGD, BILINEAR, BILINEAR_START, 300, lr=0.3) > 1e3
    assert play(CGD, BILINEAR, BILINEAR_START, 300, lr=0.3) < 1e-4


def test_cgd_contracts_bilinear_by_the_closed_form_rate():
    lr = 0.2
    start = (1.0 + 0.25 + 0.25 + 1.0) ** 0.5
    end = play(CGD, BILINEAR, BILINEAR_START, 10, lr=lr, tol=1e-14)
    assert end == pytest.approx(start * (1 + lr**2) ** -5, rel=1e-10)


def test_acgd_converges_on_both_games():
    assert_converges(lambda xs, ys: ACGD(xs, ys, lr=0.03), ICR, 2000, tol=1e-6 / 2**0.5, start=ICR_START)
    assert_converges(lambda xs, ys: ACGD(xs, ys, lr=0.3), BILINEAR, 2000, tol=1e-6 / 2.5**0.5, start=BILINEAR_START)
