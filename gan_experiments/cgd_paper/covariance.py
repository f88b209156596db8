r"""Covariance estimation (Schäfer & Anandkumar 2019, Sec. 5 and supplement; the noiseless case of
Daskalakis et al. 2018, "Training GANs with optimism", App. C; the authors' ``cvest.jl``).

A quadratic critic :math:`x^\top W x` against a linear generator :math:`x = V z`, :math:`z \sim N(0, I)`:

.. math::
    f(W, V) = \langle W, V V^\top - \hat\Sigma \rangle,

W (the critic, x in our convention) minimizes f, V (the generator) maximizes it; the equilibrium
is :math:`V V^\top = \Sigma`, :math:`W = 0`. :math:`\Sigma = U U^\top` with U standard Gaussian.
Deterministic case: :math:`\hat\Sigma = \Sigma`; stochastic case: the empirical covariance of N
fresh samples :math:`U z` at every iteration.

Choices where the paper's text and its code differ (both stated in docs/experiments.md): the
start is the code's, :math:`W_0 = \delta_W \delta_W^\top`, :math:`V_0 = U + \delta_V` with
:math:`\delta` entries uniform on [-0.5, 0.5] (the text has :math:`W_0 = \delta_W`); the residual
is the code's, :math:`\sqrt{\|V V^\top - \Sigma\|_F^2 + \|(W + W^\top)/2\|_F^2}` (the text sums the
two norms). A run ends when its forward passes, counted as the paper counts them
(:func:`~gan_experiments.cgd_paper.methods.forward_passes`), exceed the budget, when its
residual leaves :math:`10^3` times the start's (diverged), or when it falls below
:math:`10^{-12}` of it (converged to round-off; the rest of the budget would change nothing).

Each (case, d or N, method, eta) run is saved to ``runs/<name>.json`` as it ends (its row of the
table, and its curve thinned to about 1,000 points under ``residuals`` and ``forward_passes``,
whose last entry is the run's total), so that an interrupted run folder resumes where it stopped
(``--resume``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from ..plots import saved_figure
from .methods import LABELS, forward_passes, make_method
from .verdict import EXCURSION, classify

ROUND_OFF = 1e-12


def problem(d: int, seed: int) -> dict:
    """U, Sigma = U U', and the start (W_0, V_0) of ``cvest.jl``, float64, from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    U = torch.randn(d, d, dtype=torch.float64, generator=generator)
    delta_w = torch.rand(d, d, dtype=torch.float64, generator=generator) - 0.5
    delta_v = torch.rand(d, d, dtype=torch.float64, generator=generator) - 0.5
    return {"U": U, "sigma": U @ U.T, "W0": delta_w @ delta_w.T, "V0": U + delta_v}


def residual(W: torch.Tensor, V: torch.Tensor, sigma: torch.Tensor) -> float:
    """:math:`\\sqrt{\\|VV^\\top - \\Sigma\\|_F^2 + \\|(W + W^\\top)/2\\|_F^2}` (``cvest.jl``'s ``resi``)."""
    return math.hypot(float(torch.linalg.matrix_norm(V @ V.T - sigma)), float(torch.linalg.matrix_norm((W + W.T) / 2)))


def one_run(method: str, eta: float, game: dict, budget: int, *, gamma: float, tol: float, samples: int, seed: int):
    """Residuals and cumulative forward passes of one method at step size ``eta``; ``samples`` > 0:
    a fresh empirical covariance of that many samples at every iteration."""
    W = game["W0"].clone().requires_grad_(True)
    V = game["V0"].clone().requires_grad_(True)
    optimizer = make_method(method, [W], [V], eta, gamma=gamma, tol=tol)
    noise = torch.Generator().manual_seed(10_000 + seed)
    d = W.shape[0]
    start = residual(W.detach(), V.detach(), game["sigma"])
    residuals, passes, spent = [start], [0], 0
    while spent <= budget:
        if samples:
            x = game["U"] @ torch.randn(d, samples, dtype=torch.float64, generator=noise)
            target = x @ x.T / samples
        else:
            target = game["sigma"]
        try:
            optimizer.step(lambda target=target: (W * (V @ V.T - target)).sum())
        except FloatingPointError:
            residuals.append(float("inf"))
            break
        spent += forward_passes(method, optimizer)
        residuals.append(residual(W.detach(), V.detach(), game["sigma"]))
        passes.append(spent)
        last = residuals[-1]
        if not math.isfinite(last) or last > EXCURSION * start or (not samples and last < ROUND_OFF * start):
            break
    return residuals, passes


def run_covariance(section, steps: int, out: Path) -> dict:
    """The deterministic grid (``section.dims`` x ``section.step_sizes`` x methods, ``steps`` forward
    passes each) and the stochastic
    one (d = ``section.stochastic_dim``, ``section.samples`` x step sizes x methods)."""
    folder = out / "runs"
    folder.mkdir(exist_ok=True)
    plan = [("deterministic", d, 0) for d in section.dims]
    plan += [("stochastic", section.stochastic_dim, n) for n in section.sample_counts]
    runs = []
    for case, d, samples in plan:
        game = problem(d, section.seed)
        for method in section.methods:
            for eta in section.step_sizes:
                name = f"{case}_d{d}_n{samples}_{method}_eta{eta}"
                saved = folder / f"{name}.json"
                if not saved.exists():  # a resumed run folder keeps the runs it has
                    budget = section.stochastic_budget if samples else steps
                    options = dict(gamma=section.gamma, tol=section.tol, samples=samples, seed=section.seed)
                    residuals, passes = one_run(method, eta, game, budget, **options)
                    record = summary(case, d, samples, method, eta, residuals, passes)
                    saved.write_text(json.dumps({**record, **thinned(residuals, passes)}))
                record = json.loads(saved.read_text())  # the row, and the thinned curve under its two keys
                row = {key: value for key, value in record.items() if key not in ("residuals", "forward_passes")}
                runs.append({**row, "forward_passes": record["forward_passes"][-1]})
    results = {"experiment": "covariance", "settings": {**settings(section), "budget": steps}, "runs": runs}
    results["paper"] = claims(runs, section)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot_covariance(runs, folder, section, out / "residuals.png")
    return results


def thinned(residuals: list[float], passes: list[int], points: int = 1000) -> dict:
    """At most ``points`` + 1 of a run's (forward passes, residual) pairs, evenly spaced, the last
    kept: enough for the figure, small enough to commit."""
    stride = max(1, len(residuals) // points)
    keep = sorted({*range(0, len(residuals), stride), len(residuals) - 1})
    return {
        "residuals": [residuals[k] for k in keep],
        "forward_passes": [passes[min(k, len(passes) - 1)] for k in keep],
    }


def summary(case: str, d: int, samples: int, method: str, eta: float, residuals: list, passes: list) -> dict:
    """One run's row: its final residual (absolute and relative), cost and verdict."""
    finite = [r for r in residuals if math.isfinite(r)]
    reached = [p for r, p in zip(residuals, passes) if r <= 1e-2 * residuals[0]]
    return {
        "case": case,
        "d": d,
        "samples": samples,
        "method": method,
        "eta": eta,
        "iterations": len(residuals) - 1,
        "forward_passes": passes[-1],
        "final_residual": finite[-1],
        "relative_final_residual": finite[-1] / residuals[0],
        "passes_to_1e-2": reached[0] if reached else None,
        "verdict": classify(residuals),
    }


def settings(section) -> dict:
    keys = ("dims", "step_sizes", "methods", "gamma", "tol", "stochastic_dim", "sample_counts")
    keys += ("stochastic_budget", "seed")
    return {key: getattr(section, key) for key in keys}


def claims(runs: list[dict], section) -> dict:
    """The paper's statements checked on our runs."""
    deterministic = [r for r in runs if r["case"] == "deterministic"]
    cgd = [r for r in deterministic if r["method"] == "cgd"]
    large = [r for r in deterministic if r["d"] >= 40 and r["method"] != "cgd" and r["verdict"] == "converged"]
    smallest = min(section.step_sizes)
    speed = {}
    for d in section.dims:
        others = [r["passes_to_1e-2"] for r in deterministic if r["d"] == d and r["method"] != "cgd"]
        ours = [r["passes_to_1e-2"] for r in deterministic if r["d"] == d and r["method"] == "cgd"]
        best_other = min((p for p in others if p is not None), default=None)
        best_cgd = min((p for p in ours if p is not None), default=None)
        speed[str(d)] = {"cgd": best_cgd, "best_other": best_other}
    stochastic = [r for r in runs if r["case"] == "stochastic"]
    return {
        "cgd_converges_at_every_step_size": all(r["verdict"] == "converged" for r in cgd),
        "d40_60_only_smallest_step_ogda_converges_besides_cgd": all(
            r["method"] == "ogda" and r["eta"] == smallest for r in large
        ),
        "others_converging_at_d40_60": [(r["d"], r["method"], r["eta"]) for r in large],
        "forward_passes_to_1e-2_of_the_start": speed,
        "stochastic_cgd_never_diverges": all(r["verdict"] != "diverged" for r in stochastic if r["method"] == "cgd"),
        "stochastic_others_diverging": sorted(
            {(r["method"], r["eta"]) for r in stochastic if r["method"] != "cgd" and r["verdict"] == "diverged"}
        ),
    }


def plot_covariance(runs: list[dict], folder: Path, section, path: Path) -> None:
    """log10 residual against forward passes, as the paper's Figs. 5-7: the deterministic case's
    panels (one per d) on the first row, the stochastic case's (one per N) on the second; a colour
    per step size and a line style per method."""
    deterministic = sorted({(r["case"], r["d"], r["samples"]) for r in runs if r["case"] == "deterministic"})
    stochastic = sorted({(r["case"], r["d"], r["samples"]) for r in runs if r["case"] == "stochastic"})
    rows = [row for row in (deterministic, stochastic) if row]
    columns = max(len(row) for row in rows)
    styles = dict(zip(section.methods, ["-", "--", ":", "-."]))
    colours = dict(zip(section.step_sizes, ["tab:red", "tab:green", "tab:blue", "tab:brown"]))
    size = (4.4 * columns, 3.6 * len(rows))
    with saved_figure(path, len(rows), columns, figsize=size, squeeze=False, layout="constrained") as (_figure, axes):
        for i, row in enumerate(rows):
            for j, (case, d, samples) in enumerate(row):
                ax = axes[i][j]
                for method in section.methods:
                    for eta in section.step_sizes:
                        record = json.loads((folder / f"{case}_d{d}_n{samples}_{method}_eta{eta}.json").read_text())
                        pairs = [
                            (p, r) for p, r in zip(record["forward_passes"], record["residuals"]) if math.isfinite(r)
                        ]
                        label = f"{LABELS[method]} η={eta}" if (i, j) == (0, 0) else None
                        ax.plot(
                            [p for p, _ in pairs],
                            [math.log10(max(r, 1e-300)) for _, r in pairs],
                            styles[method],
                            color=colours[eta],
                            linewidth=1,
                            label=label,
                        )
                ax.set_title(f"{case}, d = {d}" + (f", N = {samples}" if samples else ""), fontsize=9)
                ax.set_xlabel("forward passes")
                ax.set_ylabel("log10 residual")
                ax.set_ylim(-13, 5)
                ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=6, ncol=2)
