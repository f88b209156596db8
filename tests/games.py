"""Random quadratic games and their dense CGD / ACGD updates, in NumPy, as test references.

f(x, y) = 1/2 x'Ax + x'By + 1/2 y'Cy + a'x + b'y with x the min player, y the max player.
The local game of CGD with diagonal step sizes eta_x, eta_y has first-order conditions
    dx / eta_x + D_xy f_min dy = -grad_x f_min,    -D_yx f_max dx + dy / eta_y = grad_y f_max,
a 2x2 block linear system solved here densely with numpy.linalg.solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class QuadraticGame:
    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def random(cls, rng: np.random.Generator, n: int, m: int, scale: float = 1.0) -> "QuadraticGame":
        A = rng.normal(size=(n, n)) * scale
        C = rng.normal(size=(m, m)) * scale
        return cls(A + A.T, rng.normal(size=(n, m)) * scale, C + C.T, rng.normal(size=n), rng.normal(size=m))

    def value(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t = lambda v: torch.as_tensor(v, dtype=x.dtype)  # noqa: E731
        return 0.5 * x @ t(self.A) @ x + x @ t(self.B) @ y + 0.5 * y @ t(self.C) @ y + t(self.a) @ x + t(self.b) @ y

    def grad_x(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.A @ x + self.B @ y + self.a

    def grad_y(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.B.T @ x + self.C @ y + self.b


def dense_general_sum_step(grad_x_min, grad_y_max, d_xy_min, d_yx_max, eta_x, eta_y):
    """Nash equilibrium (dx, dy) of the general-sum local game, by a dense block solve."""
    n, m = len(grad_x_min), len(grad_y_max)
    eta_x = np.broadcast_to(eta_x, (n,))
    eta_y = np.broadcast_to(eta_y, (m,))
    matrix = np.block([[np.diag(1.0 / eta_x), d_xy_min], [-d_yx_max, np.diag(1.0 / eta_y)]])
    solution = np.linalg.solve(matrix, np.concatenate([-grad_x_min, grad_y_max]))
    return solution[:n], solution[n:]


def dense_cgd_step(game: QuadraticGame, x, y, eta_x, eta_y):
    """Zero-sum CGD step on ``game`` at (x, y)."""
    return dense_general_sum_step(game.grad_x(x, y), game.grad_y(x, y), game.B, game.B.T, eta_x, eta_y)


def dense_acgd(game: QuadraticGame, x, y, steps: int, lr: float, beta: float, eps: float):
    """ICR Algorithm 1 written out densely: returns the iterates after each step."""
    v_x, v_y = np.zeros_like(x), np.zeros_like(y)
    path = []
    for t in range(1, steps + 1):
        g_x, g_y = game.grad_x(x, y), game.grad_y(x, y)
        v_x = beta * v_x + (1 - beta) * g_x**2
        v_y = beta * v_y + (1 - beta) * g_y**2
        eta_x = lr / (np.sqrt(v_x / (1 - beta**t)) + eps)
        eta_y = lr / (np.sqrt(v_y / (1 - beta**t)) + eps)
        dx, dy = dense_general_sum_step(g_x, g_y, game.B, game.B.T, eta_x, eta_y)
        x, y = x + dx, y + dy
        path.append((x.copy(), y.copy()))
    return path


def players(x0: np.ndarray, y0: np.ndarray, dtype=torch.float64):
    """Fresh leaf tensors for the two players."""
    return (torch.tensor(x0, dtype=dtype, requires_grad=True), torch.tensor(y0, dtype=dtype, requires_grad=True))
