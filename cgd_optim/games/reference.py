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


# The game-aware first-order methods (cgd_optim.corrections, cgd_optim.extrapolation), written
# out densely from the games' blocks: gradients and Hessians as matrices, no autograd.


def _rmsprop(square_avg, gradient, rho):
    """The CGD paper's accumulator (starts at 1; folds in each later step's gradient before it moves)."""
    if rho is None:
        return None
    return torch.ones_like(gradient) if square_avg is None else rho * square_avg + (1 - rho) * gradient**2


class _DenseFirstOrder:
    """State every dense reference keeps: step sizes, the RMSProp accumulators, the step count."""

    def __init__(self, lr_min: float, lr_max: float, rmsprop: float | None = None) -> None:
        self.lr_min, self.lr_max, self.rmsprop = lr_min, lr_max, rmsprop
        self.square_avg_x = self.square_avg_y = None
        self.t = 0

    def _step_sizes(self, g_x, g_y):
        self.square_avg_x = _rmsprop(self.square_avg_x, g_x, self.rmsprop)
        self.square_avg_y = _rmsprop(self.square_avg_y, g_y, self.rmsprop)
        if self.rmsprop is None:
            return self.lr_min, self.lr_max
        return self.lr_min / self.square_avg_x.sqrt(), self.lr_max / self.square_avg_y.sqrt()

    def step(self, game: Game, x, y):
        """One step from (x, y); returns ``(x_new, y_new)`` of the kind of x and y."""
        x_t, y_t = as_torch(x), as_torch(y)
        g_x, g_y = as_torch(game.grad_x(x_t, y_t)), as_torch(game.grad_y(x_t, y_t))
        self.t += 1
        dx, dy = self._move(game, x_t, y_t, g_x, g_y)
        return like(x_t + dx, x), like(y_t + dy, y)


class LCGDReference(_DenseFirstOrder):
    r"""LCGD: :math:`\Delta x = -\eta_x(g_x + D_{xy} f_{min}\,\eta_y g_y)`,
    :math:`\Delta y = \eta_y(g_y - D_{yx} f_{max}\,\eta_x g_x)` (``rmsprop``: the CGD paper's scaling)."""

    def _move(self, game, x, y, g_x, g_y):
        eta_x, eta_y = self._step_sizes(g_x, g_y)
        B, Bt = as_torch(game.mixed_xy), as_torch(game.mixed_yx)
        return -eta_x * (g_x + B @ (eta_y * g_y)), eta_y * (g_y - Bt @ (eta_x * g_x))


class SGAReference(_DenseFirstOrder):
    r"""SGA on a zero-sum game: :math:`\Delta x = -\eta_x(g_x + \lambda B g_y)`,
    :math:`\Delta y = \eta_y(g_y - \lambda B^\top g_x)`; ``align``: :math:`\lambda = \gamma\,
    \mathrm{sign}(\langle\xi, J^\top\xi\rangle\langle A^\top\xi, J^\top\xi\rangle / n + 0.1)` with
    the dense :math:`J = \begin{pmatrix} A & B \\ -B^\top & -C \end{pmatrix}` and ``n`` parameter tensors."""

    def __init__(self, lr_min, lr_max, *, gamma=1.0, align=True, tensors=2, rmsprop=None) -> None:
        super().__init__(lr_min, lr_max, rmsprop)
        self.gamma, self.align, self.tensors = gamma, align, tensors

    def _move(self, game, x, y, g_x, g_y):
        eta_x, eta_y = self._step_sizes(g_x, g_y)
        lam = self.gamma
        if self.align:
            J = torch.cat(
                [
                    torch.cat([as_torch(game.hessian_xx), as_torch(game.mixed_xy)], 1),
                    torch.cat([-as_torch(game.mixed_yx), -as_torch(game.hessian_yy)], 1),
                ]
            )
            xi = torch.cat([g_x, -g_y])
            jt_xi, at_xi = J.T @ xi, ((J - J.T) / 2).T @ xi
            lam = self.gamma * float(torch.sign((xi @ jt_xi) * (at_xi @ jt_xi) / self.tensors + 0.1))
        B, Bt = as_torch(game.mixed_xy), as_torch(game.mixed_yx)
        return -eta_x * (g_x + lam * B @ g_y), eta_y * (g_y - lam * Bt @ g_x)


class ConOptReference(_DenseFirstOrder):
    r"""ConOpt on a zero-sum game: :math:`\Delta x = -\eta_x(g_x + \gamma(B g_y + A g_x))`,
    :math:`\Delta y = \eta_y(g_y - \gamma(B^\top g_x + C g_y))`."""

    def __init__(self, lr_min, lr_max, *, gamma=1.0, rmsprop=None) -> None:
        super().__init__(lr_min, lr_max, rmsprop)
        self.gamma = gamma

    def _move(self, game, x, y, g_x, g_y):
        eta_x, eta_y = self._step_sizes(g_x, g_y)
        A, B, Bt, C = (as_torch(m) for m in (game.hessian_xx, game.mixed_xy, game.mixed_yx, game.hessian_yy))
        return -eta_x * (g_x + self.gamma * (B @ g_y + A @ g_x)), eta_y * (g_y - self.gamma * (Bt @ g_x + C @ g_y))


class OGDAReference(_DenseFirstOrder):
    r"""OGDA: :math:`\Delta x = -\eta_x(2 g_{x,k} - g_{x,k-1})`, :math:`\Delta y = \eta_y(2 g_{y,k} - g_{y,k-1})`,
    the previous gradients starting at zero."""

    def __init__(self, lr_min, lr_max, *, rmsprop=None) -> None:
        super().__init__(lr_min, lr_max, rmsprop)
        self.previous_x = self.previous_y = 0.0

    def _move(self, game, x, y, g_x, g_y):
        eta_x, eta_y = self._step_sizes(g_x, g_y)
        dx, dy = -eta_x * (2 * g_x - self.previous_x), eta_y * (2 * g_y - self.previous_y)
        self.previous_x, self.previous_y = g_x, g_y
        return dx, dy


class ExtraSGDReference(_DenseFirstOrder):
    r"""Extragradient: :math:`z_{k+1/2} = z_k + u(z_k)`, :math:`z_{k+1} = z_k + u(z_{k+1/2})`,
    :math:`u = (-\eta_x g_x, \eta_y g_y)`."""

    def _move(self, game, x, y, g_x, g_y):
        x_half, y_half = x - self.lr_min * g_x, y + self.lr_max * g_y
        g_x, g_y = as_torch(game.grad_x(x_half, y_half)), as_torch(game.grad_y(x_half, y_half))
        return -self.lr_min * g_x, self.lr_max * g_y


class _DenseAdam:
    """Adam's moments of one player's descent direction, and its update at step t."""

    def __init__(self, lr, betas, eps) -> None:
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = self.v = 0.0

    def advance(self, direction):
        beta1, beta2 = self.betas
        self.m, self.v = beta1 * self.m + (1 - beta1) * direction, beta2 * self.v + (1 - beta2) * direction**2

    def update(self, t, m=None, v=None):
        beta1, beta2 = self.betas
        m, v = (self.m, self.v) if m is None else (m, v)
        return -self.lr * (1 - beta2**t) ** 0.5 / (1 - beta1**t) * m / (torch.as_tensor(v).sqrt() + self.eps)


class ExtraAdamReference:
    r"""ExtraAdam (Gidel et al. 2019, Alg. 4): Adam's update of the descent directions
    :math:`(g_x, -g_y)` at :math:`z_k` (step :math:`2k - 1`) gives :math:`z_{k+1/2}`; Adam's update at
    :math:`z_{k+1/2}` (step :math:`2k`) is applied from :math:`z_k`."""

    def __init__(self, lr_min, lr_max, *, betas=(0.9, 0.999), eps=1e-8) -> None:
        self.x_adam, self.y_adam = _DenseAdam(lr_min, betas, eps), _DenseAdam(lr_max, betas, eps)
        self.t = 0

    def step(self, game: Game, x, y):
        """One step from (x, y); returns ``(x_new, y_new)`` of the kind of x and y."""
        x_t, y_t = as_torch(x), as_torch(y)
        point = (x_t, y_t)
        for _ in range(2):
            self.t += 1
            self.x_adam.advance(as_torch(game.grad_x(*point)))
            self.y_adam.advance(-as_torch(game.grad_y(*point)))
            point = (x_t + self.x_adam.update(self.t), y_t + self.y_adam.update(self.t))
        return like(point[0], x), like(point[1], y)


class OptimisticAdamReference:
    r"""Optimistic Adam (Daskalakis et al. 2018), on the descent directions :math:`(g_x, -g_y)`:
    :math:`\theta_t = \theta_{t-1} - 2\mathrm{lr}_t m_t/(\sqrt{v_t} + \epsilon)
    + \mathrm{lr}_t m_{t-1}/(\sqrt{v_{t-1}} + \epsilon)`."""

    def __init__(self, lr_min, lr_max, *, betas=(0.9, 0.999), eps=1e-8) -> None:
        self.x_adam, self.y_adam = _DenseAdam(lr_min, betas, eps), _DenseAdam(lr_max, betas, eps)
        self.t = 0

    def step(self, game: Game, x, y):
        """One step from (x, y); returns ``(x_new, y_new)`` of the kind of x and y."""
        x_t, y_t = as_torch(x), as_torch(y)
        self.t += 1
        moved = []
        for adam, direction in (
            (self.x_adam, as_torch(game.grad_x(x_t, y_t))),
            (self.y_adam, -as_torch(game.grad_y(x_t, y_t))),
        ):
            m_old, v_old = adam.m, adam.v
            adam.advance(direction)
            moved.append(2 * adam.update(self.t) - adam.update(self.t, m_old, v_old))
        return like(x_t + moved[0], x), like(y_t + moved[1], y)


__all__ = [
    "ACGDReference",
    "CGDReference",
    "ConOptReference",
    "ExtraAdamReference",
    "ExtraSGDReference",
    "LCGDReference",
    "OGDAReference",
    "OptimisticAdamReference",
    "SGAReference",
    "SimGDReference",
    "cgd_step",
    "local_game_matrix",
    "simgd_step",
]
