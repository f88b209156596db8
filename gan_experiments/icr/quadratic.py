r"""The quadratic game of Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs" Sec. 3-4,
eq. (3), Figs. 3 and 6:
:math:`\min_x \max_y f(x, y) = x^2 + 10xy + y^2`.

With a = 2, b = 10, c = 2 the SimGD iteration is :math:`z_{k+1} = (\mathrm{Id} - M) z_k` with
:math:`M = \begin{pmatrix} \eta_x a & \eta_x b \\ -\eta_y b & -\eta_y c \end{pmatrix}`, which
converges exactly when the spectral radius of Id - M is below one (Sec. 4):
(0.09, 0.01) converges, (0.03, 0.03) diverges slowly, (0.01, 0.09) fast.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cgd_optim import ACGD, CGD, SimGD
from cgd_optim.games import QuadraticGame, simgd_jacobian, spectral_radius

OPTIMIZERS = {"simgd": SimGD, "cgd": CGD, "acgd": ACGD}
GAME = QuadraticGame.icr_quadratic()


def quadratic_game(x: Tensor, y: Tensor) -> Tensor:
    """:math:`x^2 + 10xy + y^2` (eq. (3)), :meth:`cgd_optim.games.QuadraticGame.icr_quadratic`'s value."""
    return GAME.value(x, y)


def simgd_spectral_radius(lr_min: float, lr_max: float) -> float:
    """Spectral radius of SimGD's iteration matrix Id - M on eq. (3) (Sec. 4)."""
    return spectral_radius(simgd_jacobian(GAME, lr_min, lr_max))


def scalar_trajectory(
    make_optimizer, value, start: tuple[float, float], iterations: int, *, limit: float = 1e150
) -> Tensor:
    """(iterations + 1, 2) float64 iterates (x_k, y_k) of ``make_optimizer([x], [y])`` on the scalar
    game ``value(x, y)`` from ``start``; stops early, padding with inf, once a step fails or an
    iterate is non-finite or beyond ``limit`` in size."""
    x = torch.tensor([start[0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([start[1]], dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([x], [y])
    path = torch.full((iterations + 1, 2), float("inf"), dtype=torch.float64)
    path[0] = torch.tensor(start, dtype=torch.float64)
    for k in range(iterations):
        try:
            opt.step(lambda: value(x, y))
        except FloatingPointError:
            break
        path[k + 1] = torch.cat([x.detach(), y.detach()])
        if not torch.isfinite(path[k + 1]).all() or path[k + 1].abs().max() > limit:
            break
    return path


def quadratic_trajectory(
    optimizer: str, lr_min: float, lr_max: float, start: tuple[float, float], iterations: int, **options
) -> Tensor:
    """(iterations + 1, 2) float64 iterates (x_k, y_k) of ``optimizer`` (simgd, cgd, acgd) on eq. (3)
    from ``start`` (:func:`scalar_trajectory`)."""
    make = lambda xs, ys: OPTIMIZERS[optimizer](xs, ys, lr_min=lr_min, lr_max=lr_max, **options)  # noqa: E731
    return scalar_trajectory(make, quadratic_game, start, iterations)
