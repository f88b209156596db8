r"""Dense float64 references of every update the package implements, on quadratic games.

Each works on NumPy arrays or torch tensors (the result has the kind of ``x``) and solves its
linear algebra densely (``torch.linalg.solve``), so it shares no code with the optimizers it
checks.  The local game of CGD with diagonal step sizes :math:`\eta_x, \eta_y` (Schäfer &
Anandkumar 2019, "Competitive gradient descent", eq. (4); general-sum form in their Sec. 3) has
the first-order conditions

.. math::
    \eta_x^{-1} \Delta x + D_{xy} f_{min}\, \Delta y = -\nabla_x f_{min},\qquad
    -D_{yx} f_{max}\, \Delta x + \eta_y^{-1} \Delta y = \nabla_y f_{max},

a 2x2 block system whose solution is the step.
"""

from __future__ import annotations

import torch

from ._arrays import as_torch, like
from .quadratic import Game


def local_game_matrix(game: Game, eta_x, eta_y) -> torch.Tensor:
    r"""The block matrix of CGD's local game, ``eta_x``, ``eta_y`` numbers or per-coordinate vectors:

    .. math::
        N = \begin{pmatrix} \eta_x^{-1} & D_{xy} f_{min} \\ -D_{yx} f_{max} & \eta_y^{-1}\end{pmatrix}
    """
    inverse_x = torch.diag(1.0 / torch.broadcast_to(as_torch(eta_x), (game.n,)))
    inverse_y = torch.diag(1.0 / torch.broadcast_to(as_torch(eta_y), (game.m,)))
    return torch.cat(
        [torch.cat([inverse_x, as_torch(game.mixed_xy)], 1), torch.cat([-as_torch(game.mixed_yx), inverse_y], 1)]
    )


def cgd_step(game: Game, x, y, lr_min, lr_max):
    r"""``(dx, dy)``: the Nash equilibrium of CGD's local game at (x, y), by a dense solve of
    :math:`N (\Delta x, \Delta y) = (-\nabla_x f_{min}, \nabla_y f_{max})`.

    ``lr_min`` / ``lr_max`` are :math:`\eta_x, \eta_y`: numbers (CGD) or per-coordinate vectors
    (ACGD's step sizes, or any other diagonal).  Zero- and general-sum games alike."""
    rhs = torch.cat([-as_torch(game.grad_x(x, y)), as_torch(game.grad_y(x, y))])
    step = torch.linalg.solve(local_game_matrix(game, lr_min, lr_max), rhs)
    return like(step[: game.n], x), like(step[game.n :], y)


def simgd_step(game: Game, x, y, lr_min, lr_max, *, alternating: bool = False):
    r"""``(dx, dy)`` of gradient descent-ascent: simultaneous,
    :math:`\Delta x = -\eta_x \nabla_x f_{min}(x, y)`, :math:`\Delta y = \eta_y \nabla_y f_{max}(x, y)`;
    alternating (max player first, as ``SimGD(alternating=True)``),
    :math:`\Delta y = \eta_y \nabla_y f_{max}(x, y)`, :math:`\Delta x = -\eta_x \nabla_x f_{min}(x, y + \Delta y)`."""
    x_t, y_t = as_torch(x), as_torch(y)
    dy = as_torch(lr_max) * as_torch(game.grad_y(x_t, y_t))
    y_seen = y_t + dy if alternating else y_t
    dx = -as_torch(lr_min) * as_torch(game.grad_x(x_t, y_seen))
    return like(dx, x), like(dy, y)


class CGDReference:
    r"""CGD with constant step sizes as a stateful reference: ``step(game, x, y)`` returns the
    new point ``(x + dx, y + dy)`` of :func:`cgd_step`."""

    def __init__(self, lr_min: float, lr_max: float) -> None:
        self.lr_min, self.lr_max = lr_min, lr_max

    def step(self, game: Game, x, y):
        dx, dy = cgd_step(game, x, y, self.lr_min, self.lr_max)
        return x + dx, y + dy


class SimGDReference:
    """Gradient descent-ascent (:func:`simgd_step`) as a reference: ``step(game, x, y)`` returns the new point."""

    def __init__(self, lr_min: float, lr_max: float, *, alternating: bool = False) -> None:
        self.lr_min, self.lr_max, self.alternating = lr_min, lr_max, alternating

    def step(self, game: Game, x, y):
        dx, dy = simgd_step(game, x, y, self.lr_min, self.lr_max, alternating=self.alternating)
        return x + dx, y + dy


class ACGDReference:
    r"""Algorithm 1 of Schäfer, Zheng & Anandkumar 2020 ("Implicit competitive regularization in
    GANs", App. A.5) written out densely, one step per :meth:`step` call.

    With :math:`g` a player's gradient (:math:`\nabla_x f_{min}`, :math:`\nabla_y f_{max}`) and
    :math:`t` the step number from 1,

    .. math::
        v_t = \beta v_{t-1} + (1 - \beta) g_t^2,\qquad
        \eta_t = \frac{\alpha}{\sqrt{v_t / (1 - \beta^t)} + \epsilon},

    then the CGD step (:func:`cgd_step`) with the diagonal step sizes :math:`\eta_{x,t}, \eta_{y,t}`.

    Args:
        lr: :math:`\alpha` of both players unless ``lr_min`` / ``lr_max`` is given.
        beta: :math:`\beta` (the paper's :math:`\beta_2`).
        eps: :math:`\epsilon`.
        eps_placement: ``"inside"`` (Algorithm 1, above) or ``"outside"``, the authors' code:
            :math:`\eta_t = \alpha\sqrt{1 - \beta^t} / (\sqrt{v_t} + \epsilon)`.

    Attributes:
        t: steps taken; ``sq_avg_x``, ``sq_avg_y``: :math:`v_t` of each player (None before the
        first step); ``eta_x``, ``eta_y``: the last step's step sizes.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta: float = 0.99,
        eps: float = 1e-5,
        *,
        lr_min: float | None = None,
        lr_max: float | None = None,
        eps_placement: str = "inside",
    ) -> None:
        self.lr_min = lr if lr_min is None else lr_min
        self.lr_max = lr if lr_max is None else lr_max
        self.beta, self.eps, self.eps_placement = beta, eps, eps_placement
        self.t, self.sq_avg_x, self.sq_avg_y = 0, None, None
        self.eta_x = self.eta_y = None

    def step(self, game: Game, x, y):
        """One step of Algorithm 1 from (x, y); returns ``(x_new, y_new)`` of the kind of x and y."""
        g_x, g_y = as_torch(game.grad_x(x, y)), as_torch(game.grad_y(x, y))
        self.t += 1
        self.sq_avg_x = self._average(self.sq_avg_x, g_x)
        self.sq_avg_y = self._average(self.sq_avg_y, g_y)
        correction = 1.0 - self.beta**self.t
        eps = self.eps if self.eps_placement == "inside" else self.eps / correction**0.5
        self.eta_x = self.lr_min / ((self.sq_avg_x / correction).sqrt() + eps)
        self.eta_y = self.lr_max / ((self.sq_avg_y / correction).sqrt() + eps)
        dx, dy = cgd_step(game, x, y, self.eta_x, self.eta_y)
        return x + dx, y + dy

    def _average(self, previous, gradient):
        previous = torch.zeros_like(gradient) if previous is None else previous
        return self.beta * previous + (1.0 - self.beta) * gradient**2


__all__ = ["ACGDReference", "CGDReference", "SimGDReference", "cgd_step", "local_game_matrix", "simgd_step"]
