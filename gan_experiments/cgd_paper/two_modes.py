r"""The two-mode GAN of Schäfer & Anandkumar 2019 (Sec. 5, Fig. 4 and supplement; the authors'
``two_modes_gan.jl`` and ``GAN.jl``).

Data: two Gaussians of std 0.1 at :math:`(1/\sqrt2, 1/\sqrt2)` and :math:`(1, 0)` (the code's
means; the text's, :math:`(0, 1)` and :math:`(1/\sqrt2, 1/\sqrt2)`, are the same pair rotated by
45 degrees, which nothing in the networks or the noise distinguishes). Generator 512-dimensional
standard normal noise to the plane; discriminator the plane to a logit; both dense ReLU networks
with four hidden layers of 128 units (the paper's text; the code has five), no biases, every
layer initialised as 0.8 times a random orthonormal matrix, the last layer linear (the code's).
The game is zero-sum: the discriminator's cross-entropy on 256 real and 256 generated points
per step, f = E log σ(D(x)) + E log(1 - σ(D(G(z)))), which G minimizes and D maximizes.

Every method uses the RMSProp-type scaling of the authors' code with ρ = 0.9
(:func:`cgd_optim.gradient_play.rmsprop_average`): ``rmsprop=0.9`` for SGA, ConOpt and OGDA;
for CGD the same accumulator through CGD's public ``step_sizes`` hook (:class:`RMSPropCGD`:
:math:`\eta / \sqrt{s}`, s starting at 1, no ε, exactly the code's), and, as a second CGD arm,
ACGD configured as closely as its options allow (``beta=0.9``, ``eps=1e-8``,
``eps_placement="outside"``: its average starts at 0 with a bias correction instead of at 1, so
its first steps are :math:`\eta/|g|` where the code's are at most η).

Each (method, η, seed) run stops once its forward passes, counted as the paper counts them,
exceed the budget (5,000), and is saved to ``runs/<name>.json`` with its samples, so that an
interrupted run folder resumes where it stopped.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from pathlib import Path

import torch
from torch import nn

from cgd_optim import ACGD, CGD
from cgd_optim.autodiff import flat_or_concatenated
from cgd_optim.gradient_play import rmsprop_average

from ..data.mixtures import GaussianMixture
from ..losses import ogan_value
from ..metrics.modes import mode_statistics
from ..plots import saved_figure
from .methods import LABELS, forward_passes, make_method

MIXTURE = GaussianMixture(torch.tensor([[1 / math.sqrt(2), 1 / math.sqrt(2)], [1.0, 0.0]]), 0.1)
LABELS = {**LABELS, "cgd_acgd": "CGD (ACGD's scaling)"}


def dense_net(inputs: int, outputs: int, hidden: int, layers: int, generator: torch.Generator) -> nn.Sequential:
    """``GAN.jl``'s dense net: ``layers`` hidden ReLU layers, no biases, 0.8 x orthonormal weights
    (float32, where the Julia code runs float64: a cheaper step on the CPU)."""
    sizes = [inputs, *[hidden] * layers, outputs]
    modules: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        linear = nn.Linear(n_in, n_out, bias=False)
        with torch.no_grad():
            tall = torch.randn(max(n_in, n_out), min(n_in, n_out), dtype=torch.float64, generator=generator)
            q = torch.linalg.qr(tall).Q
            linear.weight.copy_((0.8 * (q if n_out >= n_in else q.T)).float())
        modules.append(linear)
        if k < len(sizes) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


class RMSPropCGD(CGD):
    """CGD whose diagonal step sizes are the authors' RMSProp-type scaling (``two_modes_gan.jl``):
    :math:`\\eta / \\sqrt{s}`, s starting at 1, folding in each step's gradient from the second
    step on, no ε (through :meth:`cgd_optim.CGD.step_sizes`, the public hook for CGD variants)."""

    rho = 0.9

    def step_sizes(self, grad_x, grad_y, xs, ys):
        new_state: dict = {}
        etas = []
        for player, params, grad in (("min", xs, grad_x), ("max", ys, grad_y)):
            stored = [self.state.get(p, {}).get("square_avg") for p in params]
            previous = None if stored[0] is None else flat_or_concatenated(stored, params)
            square_avg = rmsprop_average(previous, grad, self.rho)
            lr = self.param_groups[0 if player == "min" else -1]["lr"]
            etas.append(lr / square_avg.sqrt())
            for p, piece in zip(params, square_avg.split([p.numel() for p in params])):
                new_state[p] = {"square_avg": piece.view_as(p)}
        return etas[0], etas[1], new_state


def build(method: str, G, D, eta: float, section):
    if method == "cgd":
        return RMSPropCGD(G.parameters(), D.parameters(), lr=eta, tol=section.tol, max_iter=1000)
    if method == "cgd_acgd":
        options = dict(beta=section.rmsprop, eps=1e-8, eps_placement="outside", tol=section.tol, max_iter=1000)
        return ACGD(G.parameters(), D.parameters(), lr=eta, **options)
    return make_method(method, G.parameters(), D.parameters(), eta, gamma=section.gamma, rmsprop=section.rmsprop)


def one_run(method: str, eta: float, seed: int, section, budget: int) -> dict:
    """Train until the budget is spent (or a step fails); the final samples' mode statistics."""
    weights = torch.Generator().manual_seed(seed)
    G = dense_net(section.noise_dim, 2, section.hidden, section.layers, weights)
    D = dense_net(2, 1, section.hidden, section.layers, weights)
    optimizer = build(method, G, D, eta, section)
    batches = torch.Generator().manual_seed(1_000 + seed)
    spent, iterations, failed = 0, 0, None
    while spent <= budget:
        real = MIXTURE.sample(section.batch_size, batches)
        z = torch.randn(section.batch_size, section.noise_dim, generator=batches)
        try:
            optimizer.step(lambda real=real, z=z: ogan_value(D(real), D(G(z))))
        except FloatingPointError as error:
            failed = str(error).split(";")[0]
            break
        spent += forward_passes("cgd" if method.startswith("cgd") else method, optimizer)
        iterations += 1
    with torch.no_grad():
        z = torch.randn(section.eval_samples, section.noise_dim, generator=batches)
        samples = G(z)
    finite = bool(torch.isfinite(samples).all())
    stats = mode_statistics(samples, MIXTURE.centres, MIXTURE.std) if finite else None
    return {
        "iterations": iterations,
        "forward_passes": spent,
        "failed": failed,
        "finite": finite,
        "modes": stats["modes_covered"] if stats else 0,
        "high_quality_percent": stats["percent_high_quality"] if stats else 0.0,
        "sample_spread": float(samples.std(dim=0).mean()) if finite else None,
        "samples": samples[:500].tolist() if finite else [],
    }


def run_two_modes(section, steps: int, out: Path) -> dict:
    """Every method x step size x seed, ``steps`` forward passes each (saved per run; a resumed
    folder skips those it has)."""
    folder = out / "runs"
    folder.mkdir(exist_ok=True)
    runs = []
    for method in section.methods:
        for eta in section.step_sizes:
            for seed in section.seeds:
                saved = folder / f"{method}_eta{eta}_seed{seed}.json"
                if not saved.exists():
                    saved.write_text(json.dumps(one_run(method, eta, seed, section, steps)))
                record = json.loads(saved.read_text())
                record.pop("samples")
                runs.append({"method": method, "eta": eta, "seed": seed, **record, "verdict": verdict(record)})
    keys = (
        "methods",
        "step_sizes",
        "seeds",
        "gamma",
        "rmsprop",
        "tol",
        "batch_size",
        "noise_dim",
        "hidden",
        "layers",
    )
    settings = {**{k: getattr(section, k) for k in keys}, "budget": steps}
    results = {"experiment": "two_modes", "settings": settings, "runs": runs}
    results["table"] = table(runs, section)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot_two_modes(folder, section, out / "samples.png")
    return results


SPREAD_LIMIT = 10.0  # a generator whose samples spread 10 times wider than the data (std 0.1-0.4) has left it


@functools.cache
def data_spread() -> float:
    """The data's mean standard deviation per coordinate, on 10,000 samples (computed once)."""
    return float(MIXTURE.sample(10_000, torch.Generator().manual_seed(0)).std(dim=0).mean())


def verdict(run: dict) -> str:
    """``"diverged"``: a step failed (non-finite), the samples are not finite, or they spread more
    than :data:`SPREAD_LIMIT` times the data's (mean std per coordinate 0.39); otherwise
    ``"both modes"`` or ``"mode collapse"`` by the modes covered (a mode is covered by one
    high-quality sample, within 3 standard deviations of its centre)."""
    if run["failed"] is not None or not run["finite"] or run["sample_spread"] > SPREAD_LIMIT * data_spread():
        return "diverged"
    return "both modes" if run["modes"] == 2 else "mode collapse"


def table(runs: list[dict], section) -> list[dict]:
    """Per method and step size, over the seeds: mean modes covered (of 2), mean % high quality,
    and how many runs diverged, collapsed to one mode or covered both (:func:`verdict`)."""
    rows = []
    for method in section.methods:
        for eta in section.step_sizes:
            chosen = [r for r in runs if r["method"] == method and r["eta"] == eta]
            verdicts = [verdict(r) for r in chosen]
            rows.append(
                {
                    "method": method,
                    "eta": eta,
                    "modes_mean": sum(r["modes"] for r in chosen) / len(chosen),
                    "high_quality_percent_mean": sum(r["high_quality_percent"] for r in chosen) / len(chosen),
                    **{key: verdicts.count(key) for key in ("diverged", "mode collapse", "both modes")},
                    "seeds": len(chosen),
                }
            )
    return rows


def plot_two_modes(folder: Path, section, path: Path) -> None:
    """The first seed's final samples over the data, one panel per method (rows) and step size (columns)."""
    rows, columns = len(section.methods), len(section.step_sizes)
    data = MIXTURE.sample(500, torch.Generator().manual_seed(0))
    with saved_figure(
        path, rows, columns, figsize=(2.6 * columns, 2.6 * rows), squeeze=False, layout="constrained"
    ) as (
        _figure,
        axes,
    ):
        for i, method in enumerate(section.methods):
            for j, eta in enumerate(section.step_sizes):
                ax = axes[i][j]
                record = json.loads((folder / f"{method}_eta{eta}_seed{section.seeds[0]}.json").read_text())
                ax.scatter(data[:, 0], data[:, 1], s=2, color="0.7")
                if record["samples"]:
                    samples = torch.tensor(record["samples"])
                    ax.scatter(samples[:, 0], samples[:, 1], s=2, color="tab:blue")
                ax.set_xlim(-1.5, 1.5)
                ax.set_ylim(-1.5, 1.5)
                ax.set_title(f"{LABELS[method]}, η = {eta}: {record['modes']} modes", fontsize=7)
                ax.set_xticks([])
                ax.set_yticks([])
