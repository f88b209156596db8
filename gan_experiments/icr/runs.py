"""Run folders of the ICR small experiments: the quadratic game's trajectories (one config runs
every optimizer and step-size pair; deterministic and seconds long, so ``--resume`` recomputes
it) and the projection game's summary and picture (trained by the shared loop)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..plots import saved_figure
from ..records import write_rows
from .projection import projection_stays
from .quadratic import quadratic_trajectory, simgd_spectral_radius


def run_quadratic(q, steps: int, out: Path) -> dict:
    """Trajectories of every ``q.optimizers`` x ``q.step_sizes`` (the ``[quadratic]`` section) from
    ``q.start`` for ``steps`` iterations: trajectories.csv, metrics.json, trajectories.png."""
    paths, summary = {}, []
    for name in q.optimizers:
        for lr_min, lr_max in q.step_sizes:
            path = quadratic_trajectory(name, lr_min, lr_max, tuple(q.start), steps)
            paths[(name, lr_min, lr_max)] = path
            finite = path[torch.isfinite(path).all(dim=1)]
            norm = float(finite[-1].norm())
            summary.append(
                {
                    "optimizer": name,
                    "eta_x": lr_min,
                    "eta_y": lr_max,
                    "iterations": finite.shape[0] - 1,
                    "final_norm": norm,
                    "converged": norm < 1e-3 * float(finite[0].norm()),
                    "diverged": finite.shape[0] < path.shape[0] or norm > 1e3 * float(finite[0].norm()),
                    "simgd_spectral_radius": simgd_spectral_radius(lr_min, lr_max),
                }
            )
    write_rows(
        [
            {"optimizer": name, "eta_x": lr_min, "eta_y": lr_max, "iteration": k, "x": x, "y": y}
            for (name, lr_min, lr_max), path in paths.items()
            for k, (x, y) in enumerate(path.tolist())
        ],
        out / "trajectories.csv",
    )
    final = {"step": steps, "runs": summary}
    (out / "metrics.json").write_text(json.dumps(final, indent=1))
    plot_quadratic(paths, q.optimizers, [tuple(p) for p in q.step_sizes], out / "trajectories.png")
    return final


def plot_quadratic(paths: dict, optimizers: list[str], step_sizes: list[tuple], path: Path) -> None:
    """x_k and y_k over k, one row per step-size pair and one column per optimizer (Figs. 3, 6)."""
    with saved_figure(
        path,
        len(step_sizes),
        len(optimizers),
        figsize=(3.6 * len(optimizers), 2.6 * len(step_sizes)),
        squeeze=False,
        layout="constrained",
    ) as (_figure, axes):
        for i, (lr_min, lr_max) in enumerate(step_sizes):
            for j, name in enumerate(optimizers):
                trajectory = paths[(name, lr_min, lr_max)]
                ax = axes[i][j]
                ax.plot(trajectory[:, 0], label="x (min player)")
                ax.plot(trajectory[:, 1], label="y (max player)")
                ax.set_yscale("symlog", linthresh=1e-2)
                ax.set_title(f"{name}, (η_x, η_y) = ({lr_min}, {lr_max})", fontsize=8)
                ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7)
        for ax in axes[-1]:
            ax.set_xlabel("iteration")


def projection_summary(p, rows: list[dict], out: Path, *, label: str) -> dict:
    """Stays in the projection state over the recorded G(w_G) trajectory (``p``: the ``[projection]``
    section), and its picture, titled ``label`` (the optimizer and seed)."""
    steps = [int(row["step"]) for row in rows]
    first = torch.tensor([float(row["g1"]) for row in rows], dtype=torch.float64)
    second = torch.tensor([float(row["g2"]) for row in rows], dtype=torch.float64)
    stays = projection_stays(first, p.target[0], tolerance=p.tolerance, min_length=p.min_stay)
    final = {
        "step": steps[-1] if steps else 0,
        "g1": float(first[-1]),
        "g2": float(second[-1]),
        "projection": bool(stays),
        "stays": len(stays),
        "iterations_in_projection": sum(n for _, n in stays),
        "longest_stay": max((n for _, n in stays), default=0),
    }
    with saved_figure(out / "trajectory.png", figsize=(7, 3), layout="constrained") as (_figure, ax):
        ax.plot(steps, first, label="G(w)₁")
        ax.plot(steps, second, label="G(w)₂")
        ax.axhline(p.target[0], color="gray", linestyle="--", linewidth=0.8, label="target (2, 2)")
        for start, length in stays:
            ax.axvspan(steps[start], steps[start + length - 1], color="tab:green", alpha=0.15)
        ax.set_xlabel("iteration")
        ax.set_ylim(0, 4 * max(p.target))
        ax.legend(fontsize=7)
        ax.set_title(
            f"{label}, η = diag{tuple(p.eta)}: "
            f"{final['iterations_in_projection']} iterations in the projection state (shaded)",
            fontsize=8,
        )
    return final
