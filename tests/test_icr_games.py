"""The ICR paper's small games (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs" Sec. 3-4, Fig. 3) and the bilinear game."""

import warnings

import numpy as np
import pytest
import torch

from cgd_optim import ACGD, CGD, SimGD


def play(make, objective, x0, y0, steps, **options):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)
    optimizer = make([x], [y], **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(steps):
            try:
                optimizer.step(lambda: objective(x, y))
            except FloatingPointError:
                return float("inf")
    return float(torch.cat([x, y]).detach().norm())


def icr_quadratic(x, y):
    return (x * x + 10 * x * y + y * y).sum()


def bilinear(x, y):
    return (x * y).sum()


def test_simgd_converges_with_step_sizes_009_001():
    assert play(SimGD, icr_quadratic, [1.0], [1.0], 1000, lr_min=0.09, lr_max=0.01) < 1e-10


@pytest.mark.parametrize("lr_min, lr_max", [(0.03, 0.03), (0.01, 0.09)])
def test_simgd_diverges_with_the_other_step_sizes(lr_min, lr_max):
    assert play(SimGD, icr_quadratic, [1.0], [1.0], 1000, lr_min=lr_min, lr_max=lr_max) > 1e6


def cgd_iteration_matrix(lr_min, lr_max):
    """The linear CGD map z -> z + (dx, dy) on f = x^2 + 10xy + y^2, written out by hand."""
    d = 1 + 100 * lr_min * lr_max
    dx = -lr_min / d * (np.array([2.0, 10.0]) + 10 * lr_max * np.array([10.0, 2.0]))
    dy = lr_max * (np.array([10.0, 2.0]) + 10 * dx)
    return np.eye(2) + np.vstack([dx, dy])


@pytest.mark.parametrize("lr_min, lr_max, radius", [(0.09, 0.01, 0.87598), (0.03, 0.03, 0.95610), (0.01, 0.09, 1.03001)])
def test_cgd_on_the_icr_quadratic_follows_its_spectral_radius(lr_min, lr_max, radius):
    # CGD stabilises (0.03, 0.03), where SimGD diverges; with the max player 9x faster
    # (0.01, 0.09) the y^2 term wins and CGD diverges too, slowly (radius 1.03).
    assert max(abs(np.linalg.eigvals(cgd_iteration_matrix(lr_min, lr_max)))) == pytest.approx(radius, abs=1e-5)
    end = play(CGD, icr_quadratic, [1.0], [1.0], 500, lr_min=lr_min, lr_max=lr_max, tol=1e-14)
    expected = np.linalg.norm(np.linalg.matrix_power(cgd_iteration_matrix(lr_min, lr_max), 500) @ [1.0, 1.0])
    assert end == pytest.approx(expected, rel=1e-6)


def test_bilinear_simgd_diverges_and_cgd_converges():
    # SimGD's iteration matrix has spectral radius sqrt(1 + lr^2) > 1, CGD's 1 / sqrt(1 + lr^2) < 1
    assert play(SimGD, bilinear, [1.0, -0.5], [0.5, 1.0], 300, lr=0.3) > 1e3
    assert play(CGD, bilinear, [1.0, -0.5], [0.5, 1.0], 300, lr=0.3) < 1e-4


def test_cgd_contracts_bilinear_by_the_closed_form_rate():
    lr = 0.2
    start = (1.0 + 0.25 + 0.25 + 1.0) ** 0.5
    end = play(CGD, bilinear, [1.0, -0.5], [0.5, 1.0], 10, lr=lr, tol=1e-14)
    assert end == pytest.approx(start * (1 + lr**2) ** -5, rel=1e-10)


def test_acgd_converges_on_both_games():
    assert play(ACGD, icr_quadratic, [1.0], [1.0], 2000, lr=0.03) < 1e-6
    assert play(ACGD, bilinear, [1.0, -0.5], [0.5, 1.0], 2000, lr=0.3) < 1e-6
