"""A constrained problem as a two-player game: the Lagrange multiplier is the max player.

Least squares with its weights on the simplex's plane, ``min_w |A w - t|^2 / n  s.t.  sum(w) = 1``,
has the Lagrangian ``L(w, lam) = |A w - t|^2 / n + lam (sum(w) - 1)``: w minimizes it, lam
maximizes it (the question devzhk/cgds-package#2 asks). Its saddle point is the KKT solution,
which a linear solve gives here, so each optimizer's answer can be checked.

ExtraSGD reaches it at a constant step size. ACGD's RMSProp-type step sizes do not shrink as the
gradients vanish (as Adam's do not), so it needs a decaying learning rate to settle on the point:
an ``ExponentialLR`` schedule here, attached to the optimizer as to any torch optimizer.

Run: ``python examples/lagrangian.py [--steps N]``.
"""

from __future__ import annotations

import argparse

import torch

from cgd_optim import ACGD, ExtraSGD


def problem(seed: int = 0, n: int = 40, d: int = 5):
    """(A, t) of a small regression, float64."""
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(n, d, dtype=torch.float64, generator=generator)
    t = A @ torch.full((d,), 0.3, dtype=torch.float64) + 0.1 * torch.randn(n, dtype=torch.float64, generator=generator)
    return A, t


def lagrangian(A, t, w, lam):
    return ((A @ w - t) ** 2).mean() + lam * (w.sum() - 1.0)


def kkt_solution(A, t):
    """(w*, lam*) from the KKT system [[2 A'A / n, 1], [1', 0]] (w, lam) = (2 A't / n, 1)."""
    n, d = A.shape
    ones = torch.ones(d, 1, dtype=A.dtype)
    matrix = torch.cat(
        [torch.cat([2 * A.T @ A / n, ones], 1), torch.cat([ones.T, torch.zeros(1, 1, dtype=A.dtype)], 1)]
    )
    solution = torch.linalg.solve(matrix, torch.cat([2 * A.T @ t / n, torch.ones(1, dtype=A.dtype)]))
    return solution[:d], solution[d]


def solve(make, A, t, steps: int, decay: float | None = None):
    """The point ``steps`` steps of the optimizer ``make(w, lam)`` reach from w = 0, lam = 0, its
    learning rate multiplied by ``decay`` after each step when given."""
    w = torch.zeros(A.shape[1], dtype=A.dtype, requires_grad=True)
    lam = torch.zeros((), dtype=A.dtype, requires_grad=True)
    optimizer = make([w], [lam])
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, decay) if decay else None
    for _ in range(steps):
        optimizer.step(lambda: lagrangian(A, t, w, lam))
        if schedule is not None:
            schedule.step()
    return w.detach(), lam.detach()


OPTIMIZERS = {  # name: (optimizer of (w, lam), learning-rate decay per step)
    "ACGD": (lambda w, lam: ACGD(w, lam, lr=0.05, beta=0.9, tol=1e-10), 0.99),
    "ExtraSGD": (lambda w, lam: ExtraSGD(w, lam, lr=0.1), None),
}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args(argv)
    A, t = problem()
    w_star, lam_star = kkt_solution(A, t)
    results = {}
    for name, (make, decay) in OPTIMIZERS.items():
        w, lam = solve(make, A, t, args.steps, decay)
        results[name] = {
            "distance_to_kkt": float(torch.linalg.vector_norm(torch.cat([w - w_star, (lam - lam_star).reshape(1)]))),
            "constraint_violation": float(abs(w.sum() - 1.0)),
        }
        print(
            f"{name:9s} |(w, lam) - KKT| = {results[name]['distance_to_kkt']:.2e}   "
            f"|sum(w) - 1| = {results[name]['constraint_violation']:.2e}"
        )
    return results


if __name__ == "__main__":
    main()
