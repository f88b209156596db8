"""Spectrum of ACGD's system matrix along training, and what the previous step's solve says about the next.

    python -m benchmarks.spectrum [--problems dcgan32 mlp_gan] [--steps 2 50 150] [--lanczos 80] [--top 8]
                                  [--out benchmarks/results/spectrum_cpu.json] [--figure docs/figures/spectrum.png]

Every ACGD step solves M s = b with M = I + K K^T, K = A D_xy f eta_y^(1/2), A = eta_x^(1/2)
(Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs", Algorithm 1).
ACGD is trained with the paper's settings (float32, lr 1e-4, beta 0.99, eps 1e-5, tol 1e-6) on
the batches of ``benchmarks/problems.py``; at each step t of ``--steps`` and at t + 1 the system
that step solves is built without changing the optimizer, and

1. a Lanczos run of ``--lanczos`` steps with full reorthogonalisation from a fixed random start
   estimates M's leading eigenvalues (its Ritz values; the largest converge first);
2. the principal angles between the ``--top`` leading Ritz vectors of steps t and t + 1 say how
   fast the leading eigenvectors turn from one batch to the next;
3. step t + 1's system is solved by CG (tol 1e-6, from zero) without a preconditioner, with the
   quasi-Newton preconditioner of step t's CG pairs (``quasi_newton_preconditioner``), with the
   spectral preconditioner H = I + U (diag(1/lambda) - I) U^T of step t's Ritz pairs (from the
   long Lanczos run, ``--top`` and 40 of them, and from step t's own CG directions, which cost no
   product), and with the spectral preconditioner of step t + 1's own ``--top`` and 40 leading
   Ritz pairs (the ideal that no reuse of that many pairs can beat); and with the quasi-Newton and
   the spectral (Rayleigh-Ritz) preconditioners of the CG pairs of the last 8 steps' solves pooled;
4. the fraction of |b|^2 along the top Ritz vectors of step t + 1 and of step t.

It prints a table, writes JSON and draws the figure in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from torch import Tensor

from cgd_optim import ACGD, coupling_operator
from cgd_optim.linalg import conjugate_gradient, lanczos, quasi_newton_preconditioner
from gan_experiments.plots import saved_figure

from . import problems
from .acgd_vs_cgds import PAPER

HISTORY = 8  # steps whose CG pairs the multi-step variants pool
IDEAL_TOP = 40  # the larger set of Ritz pairs: what deflating most of the resolved spectrum would give
SOLVE = dict(tol=1e-6, atol=1e-10, max_iter=200, check_every=1, first_check=0)


def local_system(optimizer: ACGD, instance, batch):
    """``(matvec, coupling, b)`` of the system ``optimizer`` would solve on ``batch`` next; nothing is changed.

    matvec(v) = v + coupling(v), coupling(v) = K K^T v = A D_xy f eta_y D_yx f A v
    (:func:`cgd_optim.coupling_operator`), and b = A (grad_x f + D_xy f eta_y grad_y f): the
    zero-sum system of :func:`cgd_optim.competitive.competitive_update` on the
    :class:`~cgd_optim.LocalGame` of :meth:`ACGD.local_game`.
    """
    game = optimizer.local_game(lambda: instance.value(batch))
    coupling = coupling_operator(game)

    def matvec(v: Tensor) -> Tensor:
        return v + coupling(v)

    return matvec, coupling, game.eta_x.sqrt() * (game.grad_x + game.hvp_xy(game.eta_y * game.grad_y))


def ritz_pairs_from_cg(directions: list[Tensor], products: list[Tensor], top: int) -> tuple[Tensor, Tensor]:
    r"""Rayleigh-Ritz on the span of CG's search directions :math:`P` with their products :math:`MP`
    (which the solve made anyway): :math:`(P^\top M P) c = \theta (P^\top P) c`, no product."""
    directions, products = torch.stack(directions), torch.stack(products)
    gram = (directions @ directions.T).double()
    projected = (directions @ products.T).double()
    projected = (projected + projected.T) / 2
    # an orthonormal basis W of span(P) in P's coordinates (pooled directions of several steps can be
    # nearly dependent: drop what P^T P cannot resolve), then the standard problem W^T P^T M P W
    gram_values, gram_vectors = torch.linalg.eigh(gram)
    kept = gram_values > 1e-10 * gram_values.max()
    basis = gram_vectors[:, kept] / gram_values[kept].sqrt()
    values, vectors = torch.linalg.eigh(basis.T @ projected @ basis)
    order = values.argsort(descending=True)[:top]
    coefficients = basis @ vectors[:, order]
    ritz_vectors = coefficients.T.to(directions.dtype) @ directions
    return values[order], ritz_vectors / ritz_vectors.norm(dim=1, keepdim=True)


def spectral_preconditioner(values: Tensor, vectors: Tensor):
    r""":math:`H r = r + U (\operatorname{diag}(1/\lambda) - I) U^\top r`: the inverse of M on the span
    of the orthonormal rows of U, the identity elsewhere (where M = I + KK^T is near 1)."""
    weights = (1.0 / values - 1.0).to(vectors.dtype)
    return lambda r: r + vectors.T @ (weights * (vectors @ r))


def cg_iterations(matvec, b: Tensor, preconditioner=None, keep: int = 0) -> tuple[int, dict]:
    """CG iterations of the solve of ``matvec(s) = b`` from zero at tol 1e-6, atol 1e-10, and its info."""
    _, info = conjugate_gradient(matvec, b, preconditioner=preconditioner, keep_directions=keep, **SOLVE)
    return int(info["iterations"]), info


def principal_cosines(first: Tensor, second: Tensor) -> list[float]:
    """Cosines of the principal angles between the row spans of two (k, n) orthonormal sets."""
    return torch.linalg.svdvals(first.double() @ second.double().T).tolist()


def energy_fraction(vectors: Tensor, b: Tensor) -> float:
    """Fraction of |b|^2 along the span of the orthonormal rows of ``vectors``."""
    return float((vectors.double() @ b.double()).square().sum() / b.double().square().sum())


def describe(matvec, coupling, b: Tensor, lanczos_steps: int, top: int, seed: int) -> dict:
    """Ritz values and leading Ritz vectors of one system, the CG solve's pairs and iterations."""
    start = torch.randn(b.numel(), generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(b.dtype)
    values, vectors = lanczos(coupling, start, lanczos_steps, max(top, IDEAL_TOP))
    values = values + 1  # eigenvalues of M = I + K K^T
    iterations, info = cg_iterations(matvec, b, keep=SOLVE["max_iter"])
    cg_values, cg_vectors = ritz_pairs_from_cg(info["directions"][:iterations], info["products"][:iterations], top)
    return dict(
        values=values,
        vectors=vectors,
        cg_values=cg_values,
        cg_vectors=cg_vectors,
        iterations=iterations,
        directions=torch.stack(info["directions"][:iterations]),
        products=torch.stack(info["products"][:iterations]),
        b=b,
    )


def compare_consecutive(before: dict, after: dict, matvec, top: int, history: list[tuple[Tensor, Tensor]]) -> dict:
    """What step t's solve (``before``) and the CG pairs of the solves of steps t - H + 1 .. t
    (``history``, oldest first) save on step t + 1's system (``after``, ``matvec``)."""
    b = after["b"]
    k_cg = min(top, before["cg_vectors"].shape[0])
    directions, products = (torch.cat(parts) for parts in zip(*history))
    pooled_values, pooled_vectors = ritz_pairs_from_cg(list(directions), list(products), IDEAL_TOP)
    variants = {
        "none": None,
        "quasi_newton_previous_cg_pairs": quasi_newton_preconditioner(before["directions"], before["products"]),
        f"quasi_newton_last_{len(history)}_steps_cg_pairs": quasi_newton_preconditioner(directions, products),
        f"spectral_last_{len(history)}_steps_cg_ritz": spectral_preconditioner(pooled_values, pooled_vectors),
        "spectral_previous_lanczos": spectral_preconditioner(before["values"][:top], before["vectors"][:top]),
        f"spectral_previous_lanczos_top{IDEAL_TOP}": spectral_preconditioner(
            before["values"][:IDEAL_TOP], before["vectors"][:IDEAL_TOP]
        ),
        "spectral_previous_cg_ritz": spectral_preconditioner(before["cg_values"][:k_cg], before["cg_vectors"][:k_cg]),
        "spectral_own_lanczos (ideal)": spectral_preconditioner(after["values"][:top], after["vectors"][:top]),
        f"spectral_own_lanczos_top{IDEAL_TOP} (ideal)": spectral_preconditioner(
            after["values"][:IDEAL_TOP], after["vectors"][:IDEAL_TOP]
        ),
    }
    return {
        "cg_iterations": {name: cg_iterations(matvec, b, pre)[0] for name, pre in variants.items()},
        "principal_cosines_top": principal_cosines(before["vectors"][:top], after["vectors"][:top]),
        "b_fraction_own_top": energy_fraction(after["vectors"][:top], b),
        "b_fraction_previous_top": energy_fraction(before["vectors"][:top], b),
    }


def _solve_pairs(matvec, coupling, b: Tensor) -> tuple[Tensor, Tensor]:
    """(directions, products) of a cold CG solve of ``matvec(s) = b``."""
    iterations, info = cg_iterations(matvec, b, keep=SOLVE["max_iter"])
    return torch.stack(info["directions"][:iterations]), torch.stack(info["products"][:iterations])


def summary(system: dict, top: int) -> dict:
    values = system["values"]
    return {
        "ritz_values": values.tolist(),
        "cg_iterations": system["iterations"],
        "cg_ritz_values": system["cg_values"].tolist(),
        "eigenvalues_above": {str(level): int((values > level).sum()) for level in (1.01, 1.1, 2.0, 10.0)},
        "b_fraction_top": energy_fraction(system["vectors"][:top], system["b"]),
        "cg_bound_iterations": cg_bound_iterations(float(values[0]), SOLVE["tol"]),
    }


def cg_bound_iterations(largest: float, tol: float) -> int:
    r"""Iterations after which CG's bound :math:`2\rho^k`, :math:`\rho = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)`,
    falls below ``tol`` for a spectrum in :math:`[1, \lambda_{max}]` (:math:`\kappa = \lambda_{max}`;
    the bound is on the energy norm, which for :math:`M \succeq I` tracks the residual up to
    :math:`\sqrt\kappa`)."""
    rho = (math.sqrt(largest) - 1) / (math.sqrt(largest) + 1)
    return 0 if rho <= 0 else math.ceil(math.log(tol / 2) / math.log(rho))


def measure_problem(name: str, points: list[int], lanczos_steps: int, top: int, seed: int = 0) -> dict:
    """Train ACGD to the last point + 1 and describe the systems of steps t and t + 1 for each t in ``points``."""
    instance = problems.PROBLEMS[name](torch.float32, seed)
    optimizer = ACGD(instance.min_params, instance.max_params, **PAPER, tol=SOLVE["tol"], atol=SOLVE["atol"])
    report, previous, history = {}, None, []
    for step in range(1, max(points) + 2):
        batch = instance.batch(step)
        if step in points or step - 1 in points:
            matvec, coupling, b = local_system(optimizer, instance, batch)
            system = describe(matvec, coupling, b, lanczos_steps, top, seed=step)
            report[str(step)] = summary(system, top)
            if step - 1 in points:
                report[str(step)]["from_previous_step"] = compare_consecutive(previous, system, matvec, top, history)
                _print_pair(name, step, report)
            previous = system if step in points else None
        if any(0 <= t - step < HISTORY for t in points):  # the CG pairs of the solves before each point
            history = [*history[-(HISTORY - 1) :], _solve_pairs(*local_system(optimizer, instance, batch))]
        optimizer.step(lambda: instance.value(batch))
    return report


def _print_pair(name: str, step: int, report: dict) -> None:
    before, after = report[str(step - 1)], report[str(step)]
    reuse = after["from_previous_step"]
    print(
        f"{name} steps {step - 1}/{step}: top Ritz values {[round(v, 2) for v in before['ritz_values'][:6]]}, "
        f"above 1.1/2/10: {before['eigenvalues_above']['1.1']}/{before['eigenvalues_above']['2.0']}/"
        f"{before['eigenvalues_above']['10.0']}; CG iterations {reuse['cg_iterations']}; "
        f"cos principal angles {[round(c, 3) for c in reuse['principal_cosines_top']]}; "
        f"|b|^2 in own/previous top {reuse['b_fraction_own_top']:.3f}/{reuse['b_fraction_previous_top']:.3f}",
        flush=True,
    )


def draw(report: dict, path: Path) -> None:
    """Leading Ritz values minus one (log) and the principal-angle cosines, one row per problem."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with saved_figure(path, len(report), 2, figsize=(10, 3.4 * len(report)), squeeze=False) as (fig, axes):
        for row, (name, steps) in enumerate(report.items()):
            spectrum, angles = axes[row]
            for step, entry in steps.items():
                values = torch.tensor(entry["ritz_values"][:30]) - 1
                spectrum.semilogy(range(1, len(values) + 1), values.clamp_min(1e-8), marker=".", label=f"step {step}")
                if "from_previous_step" in entry:
                    cosines = entry["from_previous_step"]["principal_cosines_top"]
                    angles.plot(range(1, len(cosines) + 1), cosines, marker="o", label=f"steps {int(step) - 1}/{step}")
            spectrum.set(title=f"{name}: leading eigenvalues of M", xlabel="index", ylabel="Ritz value - 1")
            angles.set(
                title=f"{name}: top Ritz vectors of consecutive steps",
                xlabel="principal angle index",
                ylabel="cosine",
                ylim=(0, 1.05),
            )
            spectrum.legend(fontsize=7)
            angles.legend(fontsize=7)
        fig.tight_layout()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", default=["dcgan32", "mlp_gan"], choices=["dcgan32", "mlp_gan"])
    parser.add_argument("--steps", nargs="+", type=int, default=[2, 50, 150])
    parser.add_argument("--lanczos", type=int, default=80, help="Lanczos steps per system")
    parser.add_argument("--top", type=int, default=8, help="leading Ritz pairs kept")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/spectrum_cpu.json"))
    parser.add_argument("--figure", type=Path, default=Path("docs/figures/spectrum.png"))
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    report = {name: measure_problem(name, sorted(args.steps), args.lanczos, args.top) for name in args.problems}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "command": "python -m benchmarks.spectrum " + " ".join(sys.argv[1:] if argv is None else argv),
                "settings": {**PAPER, **SOLVE, "lanczos": args.lanczos, "top": args.top},
                "problems": report,
            },
            indent=1,
        )
    )
    draw(report, args.figure)
    return report


if __name__ == "__main__":
    main()
