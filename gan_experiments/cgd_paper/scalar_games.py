r"""The CGD paper's scalar games (Schäfer & Anandkumar 2019, Sec. 4, Figs. 2-3; the authors'
``bilinear_strong.jl``, ``quadratic_equi.jl``, ``quadratic_noequi.jl``): x the min player, y the
max player, start (0.5, 0.5), equilibrium or stationary point the origin.

- bilinear: :math:`f = \alpha x y`, 50 iterations;
- separable quadratics: :math:`f = \alpha(x^2 - y^2)` (convex-concave: convergence wanted) and
  :math:`f = \alpha(-x^2 + y^2)` (concave-convex: the origin is the worst point for both players,
  divergence wanted), 100 iterations.

Each run is a trajectory of one method at one :math:`\alpha`; ``results.json`` holds its final
distance to the origin and its verdict (:func:`~gan_experiments.cgd_paper.verdict.classify`), and
the paper's statements beside ours.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..icr.quadratic import scalar_trajectory
from ..plots import saved_figure
from .methods import LABELS, make_method
from .verdict import classify

GAMES = {
    "bilinear": lambda alpha: lambda x, y: alpha * x * y,
    "convex_concave": lambda alpha: lambda x, y: alpha * (x * x - y * y),
    "concave_convex": lambda alpha: lambda x, y: alpha * (-x * x + y * y),
}

# The paper's statements, as (game, alpha, method) -> what it says the run does. "not converged"
# stands for "fails" (GDA on the bilinear game, "for any value of eta").
PAPER = {
    **{("bilinear", a, "gda"): "not converged" for a in (1, 3, 6)},
    **{("bilinear", 1, m): "converged" for m in ("lcgd", "sga", "conopt", "ogda", "cgd")},
    ("bilinear", 3, "ogda"): "diverged",
    ("bilinear", 3, "conopt"): "oscillated",
    ("bilinear", 3, "sga"): "oscillated",
    ("bilinear", 3, "lcgd"): "converged",
    ("bilinear", 3, "cgd"): "converged",
    **{("bilinear", 6, m): "diverged" for m in ("gda", "lcgd", "sga", "conopt", "ogda")},
    ("bilinear", 6, "cgd"): "converged",
    **{("convex_concave", 1, m): "converged" for m in ("gda", "lcgd", "sga", "conopt", "ogda", "cgd")},
    ("convex_concave", 3, "ogda"): "diverged",
    ("convex_concave", 3, "conopt"): "diverged",
    **{("convex_concave", 3, m): "converged" for m in ("gda", "lcgd", "sga", "cgd")},
    **{("convex_concave", 6, m): "diverged" for m in ("gda", "lcgd", "sga", "conopt", "ogda", "cgd")},
    ("concave_convex", 1, "conopt"): "converged",
    **{("concave_convex", 1, m): "diverged" for m in ("gda", "lcgd", "sga", "ogda", "cgd")},
    **{("concave_convex", a, m): "diverged" for a in (3, 6) for m in ("gda", "lcgd", "sga", "conopt", "ogda", "cgd")},
}


def trajectory(method: str, value, start, lr: float, gamma: float, iterations: int) -> torch.Tensor:
    """(iterations + 1, 2) float64 iterates of ``method``; once a step fails or an iterate passes
    1e100 the rest is inf (:func:`gan_experiments.icr.quadratic.scalar_trajectory`)."""
    make = lambda xs, ys: make_method(method, xs, ys, lr, gamma=gamma, tol=1e-6)  # noqa: E731
    return scalar_trajectory(make, lambda x, y: value(x, y).sum(), start, iterations, limit=1e100)


def agreement(runs: list[dict]) -> dict:
    """Per paper statement: what the paper says, what we measured, whether they agree."""
    measured = {(r["game"], r["alpha"], r["method"]): r["verdict"] for r in runs}
    rows = []
    for (game, alpha, method), said in PAPER.items():
        ours = measured.get((game, alpha, method))
        if ours is None:
            continue
        agrees = ours != "converged" if said == "not converged" else ours == said
        rows.append({"game": game, "alpha": alpha, "method": method, "paper": said, "ours": ours, "agrees": agrees})
    return {"statements": rows, "agreeing": sum(r["agrees"] for r in rows), "total": len(rows)}


def run_scalar_games(section, steps: int, out: Path) -> dict:
    """Every ``section.games`` x ``section.alphas`` x ``section.methods`` trajectory of ``steps``
    iterations: results.json,
    trajectories.png (bilinear: the (x, y) plane; quadratics: log10 of the distance per iteration)."""
    runs, paths = [], {}
    for game in section.games:
        for alpha in section.alphas:
            for method in section.methods:
                path = trajectory(method, GAMES[game](alpha), section.start, section.lr, section.gamma, steps)
                paths[(game, alpha, method)] = path
                distances = path.norm(dim=1).tolist()
                finite = [d for d in distances if d != float("inf")]
                runs.append(
                    {
                        "game": game,
                        "alpha": alpha,
                        "method": method,
                        "iterations": len(finite) - 1,
                        "final_distance": finite[-1],
                        "log10_final_distance": float(torch.tensor(finite[-1]).log10()),
                        "verdict": classify(distances),
                    }
                )
    settings = {k: getattr(section, k) for k in ("games", "alphas", "methods", "lr", "gamma", "start")}
    settings["iterations"] = steps
    results = {"experiment": section.experiment, "settings": settings, "runs": runs, "paper": agreement(runs)}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot_scalar_games(paths, section, out / "trajectories.png")
    return results


def plot_scalar_games(paths: dict, section, path: Path) -> None:
    """One panel per (game, alpha): the bilinear game's trajectories in the (x, y) plane (window
    [-2, 2]^2, as Fig. 2); the quadratics' log10 distance to the origin per iteration (Fig. 3)."""
    panels = [(game, alpha) for game in section.games for alpha in section.alphas]
    columns = len(section.alphas)
    rows = len(section.games)
    with saved_figure(path, rows, columns, figsize=(4 * columns, 3.6 * rows), squeeze=False, layout="constrained") as (
        _figure,
        axes,
    ):
        for index, (game, alpha) in enumerate(panels):
            ax = axes[index // columns][index % columns]
            for method in section.methods:
                trajectory_ = paths[(game, alpha, method)]
                finite = trajectory_[torch.isfinite(trajectory_).all(dim=1)]
                if game == "bilinear":
                    ax.plot(finite[:, 0], finite[:, 1], marker=".", markersize=3, label=LABELS[method])
                else:
                    ax.plot(finite.norm(dim=1).clamp_min(1e-300).log10(), label=LABELS[method])
            if game == "bilinear":
                ax.set_xlim(-2, 2)
                ax.set_ylim(-2, 2)
                ax.set_xlabel("x")
                ax.set_ylabel("y")
            else:
                ax.set_xlabel("iteration")
                ax.set_ylabel("log10 |(x, y)|")
                ax.set_ylim(-10, 3)
            ax.set_title(f"{game.replace('_', '-')}, α = {alpha}", fontsize=9)
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7)
