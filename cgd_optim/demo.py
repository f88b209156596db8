r"""The optimizers on two small games of the ICR paper, printing where each ends.

* ``quadratic``: :math:`f(x, y) = x^2 + 10xy + y^2` (ICR Sec. 3-4, Fig. 3), x minimizes,
  y maximizes, from (x, y) = (1, 1); the unique equilibrium is (0, 0).
* ``bilinear``: :math:`f(x, y) = x^\top y` in 2 dimensions from x = y = (1, 1);
  SimGD spirals out, CGD converges to (0, 0).

Run ``python -m cgd_optim.demo [--steps N]``.
"""

from __future__ import annotations

import argparse
import warnings

import torch

from . import ACGD, CGD, SimGD
from .games import QuadraticGame

GAMES = {"quadratic": QuadraticGame.icr_quadratic(), "bilinear": QuadraticGame.bilinear(2)}
# (name, class, step sizes) per game.  Quadratic: SimGD is stable at (0.09, 0.01) and
# unstable at (0.03, 0.03) (ICR Fig. 3); CGD and ACGD use the unstable step sizes.
# Bilinear: SimGD spirals out at any step size, CGD contracts by 1 / sqrt(1 + lr^2) per step.
RUNS = {
    "quadratic": [
        ("SimGD lr=(0.09, 0.01)", SimGD, dict(lr_min=0.09, lr_max=0.01)),
        ("SimGD lr=(0.03, 0.03)", SimGD, dict(lr=0.03)),
        ("CGD   lr=(0.03, 0.03)", CGD, dict(lr=0.03)),
        ("ACGD  lr=(0.03, 0.03)", ACGD, dict(lr=0.03)),
    ],
    "bilinear": [
        ("SimGD lr=(0.3, 0.3)", SimGD, dict(lr=0.3)),
        ("CGD   lr=(0.3, 0.3)", CGD, dict(lr=0.3)),
        ("ACGD  lr=(0.3, 0.3)", ACGD, dict(lr=0.3)),
    ],
}


def distance(*vectors: torch.Tensor) -> float:
    """The Euclidean norm of the vectors together, scaled by the largest entry first, so that it
    neither underflows to 0 for tiny non-zero coordinates nor overflows for huge ones."""
    v = torch.cat([t.reshape(-1) for t in vectors])
    largest = v.abs().max()
    if not torch.isfinite(largest) or largest == 0:
        return float(largest)
    return float(largest) * float((v / largest).norm())


def verdict(start: float, halfway: float, end: float, stopped: bool) -> str:
    """converged (below 1e-6 of the start), diverged (above 1e6 of it, or no longer finite),
    cycling (the second half neither halves nor doubles the distance), else the trend."""
    if stopped or not end < 1e6 * start:
        return "diverged"
    if end < 1e-6 * start:
        return "converged"
    if 0.5 * halfway <= end <= 2.0 * halfway:
        return "cycling"
    return "converging slowly" if end < halfway else "diverging slowly"


def run(game: str, make, options: dict, steps: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Play ``steps`` steps of ``game`` with optimizer class ``make``; the final (x, y) and the verdict."""
    quadratic = GAMES[game]
    x = torch.ones(quadratic.n, dtype=torch.float64, requires_grad=True)
    y = torch.ones(quadratic.m, dtype=torch.float64, requires_grad=True)
    optimizer = make(min_params=[x], max_params=[y], **options)
    start, halfway, stopped = distance(x.detach(), y.detach()), None, False
    for k in range(steps):
        if k == steps // 2:
            halfway = distance(x.detach(), y.detach())
        try:
            optimizer.step(quadratic.closure(x, y))
        except FloatingPointError:
            stopped = True  # diverged to infinity: report where it stopped
            break
    end = distance(x.detach(), y.detach())
    return x.detach(), y.detach(), verdict(start, end if halfway is None else halfway, end, stopped)


def _fmt(v: torch.Tensor) -> str:
    return "[" + ", ".join(f"{value:+.3e}" for value in v.tolist()) + "]"


def results(steps: int) -> list[dict]:
    """Every (game, optimizer) run: its label, final x and y, distance to the origin and verdict."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for game in GAMES:
            for name, make, options in RUNS[game]:
                x, y, outcome = run(game, make, options, steps)
                rows.append(dict(game=game, optimizer=name.strip(), x=x, y=y, distance=distance(x, y), verdict=outcome))
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m cgd_optim.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps per run (default 2000)")
    args = parser.parse_args(argv)
    rows = results(args.steps)
    print(f"Where each optimizer ends after {args.steps} steps (the equilibrium is the origin):")
    for row in rows:
        print(
            f"{row['game']:9s}  {row['optimizer']:22s}  x={_fmt(row['x'])}  y={_fmt(row['y'])}"
            f"  |(x, y)|={row['distance']:.3g}  {row['verdict']}"
        )
    return rows


if __name__ == "__main__":
    main()
