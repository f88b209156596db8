r"""Quadratic two-player games in closed form.

A zero-sum quadratic game (x the min player, y the max player) is

.. math::
    f(x, y) = \tfrac12 x^\top A x + x^\top B y + \tfrac12 y^\top C y + a^\top x + b^\top y,

with :math:`\nabla_x f = A x + B y + a`, :math:`\nabla_y f = B^\top x + C y + b`,
:math:`D_{xx} f = A`, :math:`D_{yy} f = C`, :math:`D_{xy} f = B` and :math:`D_{yx} f = B^\top`.
A general-sum one pairs two such objectives, :math:`f_{min}` (which x minimizes) and
:math:`f_{max}` (which y maximizes); what an optimizer sees of it is :math:`\nabla_x f_{min}`,
:math:`\nabla_y f_{max}`, :math:`D_{xy} f_{min}` and :math:`D_{yx} f_{max}`.

Both kinds expose that view under the same names (``grad_x``, ``grad_y``, ``hessian_xx``,
``hessian_yy``, ``mixed_xy``, ``mixed_yx``), which is all the dense references of
:mod:`cgd_optim.games.reference` and the dynamics of :mod:`cgd_optim.games.dynamics` use.
Blocks are float64 and keep the kind they were given (NumPy arrays or torch tensors);
``random`` makes torch tensors, so the module needs nothing but torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ._arrays import as_float64, as_torch, like


@dataclass(frozen=True, eq=False)
class QuadraticGame:
    r"""The zero-sum game :math:`f = \tfrac12 x^\top A x + x^\top B y + \tfrac12 y^\top C y + a^\top x + b^\top y`.

    Args:
        A: (n, n) symmetric, :math:`D_{xx} f`.
        B: (n, m), :math:`D_{xy} f`.
        C: (m, m) symmetric, :math:`D_{yy} f`.
        a: (n,) linear term of the min player.
        b: (m,) linear term of the max player.

    All five become float64 of the kind given (NumPy arrays stay NumPy, tensors stay tensors).

    Raises:
        ValueError: shapes that do not fit together, or A or C not symmetric.
    """

    A: Any
    B: Any
    C: Any
    a: Any
    b: Any
    origin: str | None = field(default=None, repr=False)  # how random() made it: the repr then

    def __post_init__(self) -> None:
        for name in "ABCab":
            object.__setattr__(self, name, as_float64(getattr(self, name), name))
        _check_blocks(self)

    def __repr__(self) -> str:
        if self.origin is not None:
            return self.origin
        return "QuadraticGame(" + ", ".join(f"{name}={getattr(self, name).tolist()}" for name in "ABCab") + ")"

    @property
    def n(self) -> int:
        """Size of the min player x."""
        return int(self.B.shape[0])

    @property
    def m(self) -> int:
        """Size of the max player y."""
        return int(self.B.shape[1])

    @classmethod
    def random(
        cls, n: int, m: int, *, seed: int | None = None, generator: torch.Generator | None = None, scale: float = 1.0
    ) -> QuadraticGame:
        r"""A game with standard normal entries: :math:`A = S + S^\top`, :math:`C = T + T^\top` and B
        scaled by ``scale``, a and b unscaled; torch float64 blocks.  Give ``seed`` or a ``generator``
        (``seed`` seeds a fresh one, so a seed names the same game on every machine)."""
        generator = _generator(seed, generator)
        draw = lambda *shape: torch.randn(*shape, dtype=torch.float64, generator=generator)  # noqa: E731
        S, T = draw(n, n) * scale, draw(m, m) * scale
        B = draw(n, m) * scale
        origin = f"QuadraticGame.random({n}, {m}, seed={seed}, scale={scale})" if seed is not None else None
        return cls(S + S.T, B, T + T.T, draw(n), draw(m), origin=origin)

    @classmethod
    def icr_quadratic(cls) -> QuadraticGame:
        r""":math:`f(x, y) = x^2 + 10xy + y^2` (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive
        regularization in GANs", Sec. 3-4, eq. (3) with :math:`\alpha = \beta = 1`).

        The stationary point (0, 0) is not a Nash equilibrium (:math:`f_{yy} = 2 > 0`: the max
        player sits at a minimum in y), yet SimGD converges to it at step sizes
        :math:`(\eta_x, \eta_y) = (0.09, 0.01)` (spectral radius of its Jacobian 0.962) and diverges
        at (0.03, 0.03) (1.042) and (0.01, 0.09) (1.116), the paper's Figs. 3 and 6; CGD contracts
        at (0.09, 0.01) (0.876) and (0.03, 0.03) (0.956) and diverges slowly at (0.01, 0.09) (1.030)."""
        one = torch.ones(1, 1, dtype=torch.float64)
        return cls(2 * one, 10 * one, 2 * one, torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))

    @classmethod
    def bilinear(cls, n: int = 1) -> QuadraticGame:
        r""":math:`f(x, y) = x^\top y` in n dimensions per player.  SimGD's Jacobian at step size
        :math:`\eta` (both players) has spectral radius :math:`\sqrt{1 + \eta^2} > 1` at every step
        size (it spirals out); CGD's is :math:`1 / \sqrt{1 + \eta^2}` (ICR paper Sec. 3)."""
        zeros = torch.zeros(n, n, dtype=torch.float64)
        vector = torch.zeros(n, dtype=torch.float64)
        return cls(zeros, torch.eye(n, dtype=torch.float64), zeros.clone(), vector, vector.clone())

    def value(self, x: Tensor, y: Tensor) -> Tensor:
        """f(x, y) as a scalar tensor, differentiable in x and y, in x's dtype and device."""
        A, B, C, a, b = (as_torch(getattr(self, name), like=x) for name in "ABCab")
        return 0.5 * x @ A @ x + x @ B @ y + 0.5 * y @ C @ y + a @ x + b @ y

    def closure(self, x: Tensor, y: Tensor) -> Callable[[], Tensor]:
        """The zero-argument closure ``optimizer.step`` takes: ``lambda: self.value(x, y)``."""
        return lambda: self.value(x, y)

    def grad_x(self, x, y):
        r""":math:`\nabla_x f = A x + B y + a`, of the kind of x."""
        return like(as_torch(self.A) @ as_torch(x) + as_torch(self.B) @ as_torch(y) + as_torch(self.a), x)

    def grad_y(self, x, y):
        r""":math:`\nabla_y f = B^\top x + C y + b`, of the kind of y."""
        return like(as_torch(self.B).T @ as_torch(x) + as_torch(self.C) @ as_torch(y) + as_torch(self.b), y)

    @property
    def hessian_xx(self):
        """:math:`D_{xx} f = A`."""
        return self.A

    @property
    def hessian_yy(self):
        """:math:`D_{yy} f = C`."""
        return self.C

    @property
    def mixed_xy(self):
        """:math:`D_{xy} f = B` (n, m)."""
        return self.B

    @property
    def mixed_yx(self):
        r""":math:`D_{yx} f = B^\top` (m, n)."""
        return self.B.T

    def relabelled(self) -> QuadraticGame:
        r"""The same game with the players' roles swapped: the new min player is y, the new max
        player x, and the objective :math:`g(y, x) = -f(x, y)` (blocks :math:`-C, -B^\top, -A, -b, -a`).
        A step of an optimizer that treats both players alike is the same on both."""
        return QuadraticGame(-self.C, -self.B.T, -self.A, -self.b, -self.a)


@dataclass(frozen=True, eq=False)
class GeneralSumQuadraticGame:
    r"""A general-sum game: x minimizes ``f_min``, y maximizes ``f_max``, each a
    :class:`QuadraticGame` with its own blocks.

    What the players see: :math:`\nabla_x f_{min}`, :math:`\nabla_y f_{max}`,
    :math:`D_{xx} f_{min}`, :math:`D_{yy} f_{max}`, :math:`D_{xy} f_{min} = B_{min}` and
    :math:`D_{yx} f_{max} = B_{max}^\top`.  With ``f_min`` and ``f_max`` the same game this is
    the zero-sum game, and CGD's general-sum step equals its zero-sum step.
    """

    f_min: QuadraticGame
    f_max: QuadraticGame
    origin: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return self.origin or f"GeneralSumQuadraticGame(f_min={self.f_min!r}, f_max={self.f_max!r})"

    def __post_init__(self) -> None:
        if (self.f_min.n, self.f_min.m) != (self.f_max.n, self.f_max.m):
            raise ValueError(
                f"f_min is a ({self.f_min.n}, {self.f_min.m}) game but f_max a "
                f"({self.f_max.n}, {self.f_max.m}) one: the players must have the same sizes in both"
            )

    n = property(lambda self: self.f_min.n, doc="Size of the min player x.")
    m = property(lambda self: self.f_min.m, doc="Size of the max player y.")

    @classmethod
    def random(
        cls, n: int, m: int, *, seed: int | None = None, generator: torch.Generator | None = None, scale: float = 1.0
    ) -> GeneralSumQuadraticGame:
        """Two independent :meth:`QuadraticGame.random` objectives drawn from one generator."""
        shared = _generator(seed, generator)
        game = cls(
            QuadraticGame.random(n, m, generator=shared, scale=scale),
            QuadraticGame.random(n, m, generator=shared, scale=scale),
        )
        if seed is not None:
            object.__setattr__(game, "origin", f"GeneralSumQuadraticGame.random({n}, {m}, seed={seed}, scale={scale})")
        return game

    def value(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """The pair ``(f_min(x, y), f_max(x, y))`` of scalar tensors."""
        return self.f_min.value(x, y), self.f_max.value(x, y)

    def closure(self, x: Tensor, y: Tensor) -> Callable[[], tuple[Tensor, Tensor]]:
        """The closure ``optimizer.step`` takes for a general-sum game: it returns the pair."""
        return lambda: self.value(x, y)

    def grad_x(self, x, y):
        r""":math:`\nabla_x f_{min}`."""
        return self.f_min.grad_x(x, y)

    def grad_y(self, x, y):
        r""":math:`\nabla_y f_{max}`."""
        return self.f_max.grad_y(x, y)

    hessian_xx = property(lambda self: self.f_min.A, doc=":math:`D_{xx} f_{min}`.")
    hessian_yy = property(lambda self: self.f_max.C, doc=":math:`D_{yy} f_{max}`.")
    mixed_xy = property(lambda self: self.f_min.B, doc=":math:`D_{xy} f_{min}` (n, m).")
    mixed_yx = property(lambda self: self.f_max.B.T, doc=":math:`D_{yx} f_{max}` (m, n).")

    def relabelled(self) -> GeneralSumQuadraticGame:
        """Roles swapped: y minimizes :math:`-f_{max}`, x maximizes :math:`-f_{min}`."""
        return GeneralSumQuadraticGame(self.f_max.relabelled(), self.f_min.relabelled())


Game = QuadraticGame | GeneralSumQuadraticGame


def _generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    if (seed is None) == (generator is None):
        raise ValueError("give exactly one of seed= and generator=")
    return generator if generator is not None else torch.Generator().manual_seed(seed)


def _check_blocks(game: QuadraticGame) -> None:
    A, B, C, a, b = (as_torch(getattr(game, name)) for name in "ABCab")
    if B.dim() != 2:
        raise ValueError(f"B must be a matrix (n, m), got shape {tuple(B.shape)}")
    n, m = B.shape
    for name, block, shape in (("A", A, (n, n)), ("C", C, (m, m)), ("a", a, (n,)), ("b", b, (m,))):
        if tuple(block.shape) != shape:
            raise ValueError(f"{name} has shape {tuple(block.shape)}; with B of shape {(n, m)} it must be {shape}")
    for name, block in (("A", A), ("C", C)):
        if not torch.allclose(block, block.T, rtol=1e-12, atol=1e-12):
            raise ValueError(f"{name} must be symmetric (f uses 1/2 x'Ax; pass (M + M') / 2 for a matrix M)")
