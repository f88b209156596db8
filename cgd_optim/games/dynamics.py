r"""Local dynamics and equilibria of quadratic games in closed form.

On a quadratic game every update the package implements with constant step sizes is an affine
map :math:`z \mapsto J z + c` of :math:`z = (x, y)`; its Jacobian :math:`J` does not depend on z.
The iterates converge to the stationary point :math:`z^*` from every start exactly when the
spectral radius :math:`\rho(J) < 1`, and then :math:`\|z_k - z^*\| = O(\rho^k)`; for
:math:`\rho(J) > 1` they diverge from almost every start.

With the joint Hessian of the players' objectives
:math:`H = \begin{pmatrix} D_{xx} f_{min} & D_{xy} f_{min} \\ D_{yx} f_{max} & D_{yy} f_{max} \end{pmatrix}`
(so that :math:`(\nabla_x f_{min}, \nabla_y f_{max}) = H z + h`) and :math:`S = \mathrm{diag}(-\eta_x, \eta_y)`:

* simultaneous SimGD: :math:`J = I + S H`;
* alternating SimGD (max player first): :math:`y` moves with
  :math:`J_y = (\eta_y D_{yx} f_{max},\ I + \eta_y D_{yy} f_{max})`, then x with the gradient at the new y;
* CGD: :math:`J = I + N^{-1} \mathrm{diag}(-I, I) H` with N the local-game matrix of
  :func:`cgd_optim.games.reference.local_game_matrix`.
"""

from __future__ import annotations

import torch

from ._arrays import as_torch, like
from .quadratic import Game
from .reference import local_game_matrix


def joint_hessian(game: Game) -> torch.Tensor:
    """H of the module docstring: the Jacobian of the players' gradient field (float64 tensor)."""
    top = torch.cat([as_torch(game.hessian_xx), as_torch(game.mixed_xy)], 1)
    bottom = torch.cat([as_torch(game.mixed_yx), as_torch(game.hessian_yy)], 1)
    return torch.cat([top, bottom])


def stationary_point(game: Game):
    r"""The (x, y) where :math:`\nabla_x f_{min} = 0` and :math:`\nabla_y f_{max} = 0`, of the kind of
    the game's blocks.

    Raises:
        ValueError: the joint Hessian is singular (no unique stationary point)."""
    zeros_x, zeros_y = torch.zeros(game.n, dtype=torch.float64), torch.zeros(game.m, dtype=torch.float64)
    offset = torch.cat([as_torch(game.grad_x(zeros_x, zeros_y)), as_torch(game.grad_y(zeros_x, zeros_y))])
    try:
        z = torch.linalg.solve(joint_hessian(game), -offset)
    except RuntimeError as error:  # torch raises a LinAlgError (a RuntimeError) for singular systems
        raise ValueError("the game has no unique stationary point: its joint Hessian is singular") from error
    reference = game.mixed_xy
    return like(z[: game.n], reference), like(z[game.n :], reference)


def solve_nash(game: Game):
    r"""The Nash equilibrium (x, y) of a convex-concave quadratic game: its stationary point, where
    :math:`D_{xx} f_{min} \succeq 0` (x minimizes) and :math:`D_{yy} f_{max} \preceq 0` (y maximizes).

    Raises:
        ValueError: naming the failed condition (the Hessian block and its offending eigenvalue),
            or no unique stationary point."""
    for condition in _second_order_failures(game, tol=1e-12):
        raise ValueError(f"the stationary point is not a Nash equilibrium: {condition}")
    return stationary_point(game)


def is_local_nash(game: Game, x, y, tol: float = 1e-8) -> bool:
    r"""Whether (x, y) is a local Nash equilibrium: first order,
    :math:`\|\nabla_x f_{min}\|_\infty \le tol` and :math:`\|\nabla_y f_{max}\|_\infty \le tol`;
    second order, :math:`D_{xx} f_{min} \succeq -tol` and :math:`D_{yy} f_{max} \preceq tol`
    (on a quadratic game local and global coincide)."""
    gradients = torch.cat([as_torch(game.grad_x(x, y)), as_torch(game.grad_y(x, y))])
    return bool(gradients.abs().max() <= tol) and not _second_order_failures(game, tol)


def _second_order_failures(game: Game, tol: float) -> list[str]:
    failures = []
    lowest = float(torch.linalg.eigvalsh(as_torch(game.hessian_xx)).min())
    if lowest < -tol:
        failures.append(f"D_xx f_min has eigenvalue {lowest:.6g} < 0 (the min player is not at a minimum in x)")
    highest = float(torch.linalg.eigvalsh(as_torch(game.hessian_yy)).max())
    if highest > tol:
        failures.append(f"D_yy f_max has eigenvalue {highest:.6g} > 0 (the max player is not at a maximum in y)")
    return failures


def simgd_jacobian(game: Game, lr_min: float, lr_max: float, *, alternating: bool = False) -> torch.Tensor:
    """The (n + m, n + m) Jacobian of one SimGD step (simultaneous, or alternating with the max
    player first), float64."""
    n, m = game.n, game.m
    hessian = joint_hessian(game)
    scale = torch.cat(
        [torch.full((n,), -float(lr_min), dtype=torch.float64), torch.full((m,), float(lr_max), dtype=torch.float64)]
    )
    simultaneous = torch.eye(n + m, dtype=torch.float64) + scale[:, None] * hessian
    if not alternating:
        return simultaneous
    y_map = simultaneous[n:]  # rows of y_new = y + eta_y grad_y f_max(x, y)
    x_map = torch.cat([torch.eye(n, dtype=torch.float64), torch.zeros(n, m, dtype=torch.float64)], 1)
    x_map = x_map - float(lr_min) * (hessian[:n, :n] @ x_map + hessian[:n, n:] @ y_map)
    return torch.cat([x_map, y_map])


def cgd_jacobian(game: Game, lr_min: float, lr_max: float) -> torch.Tensor:
    """The (n + m, n + m) Jacobian of one CGD step with constant step sizes, float64."""
    n, m = game.n, game.m
    signs = torch.cat([-torch.ones(n), torch.ones(m)]).to(torch.float64)
    response = torch.linalg.solve(local_game_matrix(game, lr_min, lr_max), signs[:, None] * joint_hessian(game))
    return torch.eye(n + m, dtype=torch.float64) + response


def spectral_radius(jacobian) -> float:
    r""":math:`\rho(J) = \max |\lambda(J)|`: below 1 the iteration converges at that rate per step."""
    return float(torch.linalg.eigvals(as_torch(jacobian)).abs().max())


__all__ = [
    "cgd_jacobian",
    "is_local_nash",
    "joint_hessian",
    "simgd_jacobian",
    "solve_nash",
    "spectral_radius",
    "stationary_point",
]
