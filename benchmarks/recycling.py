"""ACGD with ``recycle=k`` (the previous solves' CG pairs as an L-BFGS preconditioner) against
today's default, side by side, at equal accuracy.

    python -m benchmarks.recycling [--problems dcgan32 mlp_gan quadratic_1e4] [--seeds 0 1 2 3]
                                   [--recycle 4] [--steps 10] [--warmup 2] [--late 150] [--quick]
                                   [--out benchmarks/results/recycling_cpu.json]

For each problem of ``benchmarks/problems.py`` and seed, four runners step from identical weights
on identical batches (the weights of the first copied into the others before every step, the
order alternating, as in ``benchmarks.acgd_vs_cgds``): ``cgd_optim.ACGD`` with the paper's
settings (lr 1e-4, beta 0.99, eps 1e-5, Algorithm 1's eps placement, tol 1e-6, atol 1e-10), the
same with ``recycle=k``, ``cgds.ACGD`` (early phase only: the cgds ratio is pooled over the
seeds' early phases, as in ``acgd_vs_cgds``) and a simultaneous Adam step. Recorded: steps
``warmup .. warmup + steps - 1`` (early) and ``late .. late + steps - 1``; per step and runner the
time, CG iterations and Hessian-vector products, and for both ACGD runners the true relative
residual ||b - M s|| / ||b|| of the step's final solution s = -dx / sqrt(eta_x), rebuilt after the
timed step at the step's weights and step sizes (three products, not timed). In float32 that
residual has a floor of about 1e-5 set by the products' own round-off, above tol = 1e-6, so
``--dtype float64`` runs the same comparison where the residuals can be told apart.

It reports, per problem and phase, the mean CG iterations and products per step of each ACGD
runner pooled over seeds, the median true residuals, the ratio of median step times recycle /
default, ours / Adam, and (early) ours / cgds pooled over seeds with a bootstrap 90 % interval.
``--quick``: seed 0, mlp_gan and quadratic_1e4.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from cgd_optim.autodiff import flatten, gradients, mixed_hvp_operator

from . import problems
from .acgd_vs_cgds import PAPER, CountingHvp, Ours, SimultaneousAdam, Theirs, _share_weights
from .measure import median, ratio_of_medians_interval, timed

TOLERANCE = dict(tol=1e-6, atol=1e-10)
DEFAULT, RECYCLED, CGDS, ADAM = "default", "recycle", "cgds", "adam"


def make_runners(name: str, seed: int, k: int, dtype: torch.dtype = torch.float32) -> dict:
    """The four runners of one problem and seed, each on its own copy of the game."""
    build = lambda: problems.PROBLEMS[name](dtype, seed)  # noqa: E731
    return {
        DEFAULT: Ours(build(), **PAPER, **TOLERANCE),
        RECYCLED: Ours(build(), **PAPER, **TOLERANCE, recycle=k),
        CGDS: Theirs(build(), CountingHvp(), **PAPER, **TOLERANCE),
        ADAM: SimultaneousAdam(build(), lr=PAPER["lr"]),
    }


def step_sizes_before(runner: Ours, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(eta_x, eta_y) the runner's next step will use on ``batch``; nothing is changed."""
    instance, optimizer = runner.instance, runner.optimizer
    xs, ys = instance.min_params, instance.max_params
    grads = gradients(instance.value(batch), xs + ys, create_graph=False)
    eta_x, eta_y, _ = optimizer.step_sizes(flatten(grads[: len(xs)]), flatten(grads[len(xs) :]), xs, ys)
    return eta_x, eta_y


def true_relative_residual(runner: Ours, batch, before: list[torch.Tensor], eta_x, eta_y) -> float:
    """||b - M s|| / ||b|| of the step just taken, s = -dx / sqrt(eta_x), at the step's weights ``before``."""
    instance = runner.instance
    xs, ys = instance.min_params, instance.max_params
    after = [p.detach().clone() for p in xs + ys]
    with torch.no_grad():
        for p, w in zip(xs + ys, before):
            p.copy_(w)
    grads = gradients(instance.value(batch), xs + ys, create_graph=True)
    flat_gx, flat_gy = flatten(grads[: len(xs)]), flatten(grads[len(xs) :])
    hvp_xy, hvp_yx = mixed_hvp_operator(flat_gy, xs), mixed_hvp_operator(flat_gx, ys)
    root = eta_x.sqrt()
    with torch.no_grad():
        s = -(flatten(after[: len(xs)]) - flatten(before[: len(xs)])) / root
    b = root * (flat_gx.detach() + hvp_xy(eta_y * flat_gy.detach()))
    residual = b - torch.addcmul(s, root, hvp_xy(eta_y * hvp_yx(root * s)))
    with torch.no_grad():
        for p, w in zip(xs + ys, after):
            p.copy_(w)
    return float(residual.double().norm() / b.double().norm())


def run_steps(runners: dict, labels: list[str], first: int, count: int, records: dict | None) -> None:
    """Steps ``first .. first + count - 1`` of the named runners on shared weights, order alternating."""
    for step in range(first, first + count):
        active = [runners[label] for label in labels]
        batch = active[0].instance.batch(step)
        _share_weights(active)
        for label in labels if step % 2 == 0 else labels[::-1]:
            runner = runners[label]
            if records is None:
                runner.step(batch)
                continue
            is_ours = label in (DEFAULT, RECYCLED)
            if is_ours:
                eta_x, eta_y = step_sizes_before(runner, batch)
                before = [p.detach().clone() for p in runner.instance.min_params + runner.instance.max_params]
            seconds, _ = timed(lambda: runner.step(batch), torch.device("cpu"))
            iterations, hvps = runner.counts()
            entry = records.setdefault(label, {"seconds": [], "iterations": [], "hvps": [], "true_residual": []})
            entry["seconds"].append(seconds)
            entry["iterations"].append(iterations)
            entry["hvps"].append(hvps)
            if is_ours:
                entry["true_residual"].append(true_relative_residual(runner, batch, before, eta_x, eta_y))


def measure_seed(
    name: str, seed: int, k: int, warmup: int, steps: int, late: int, dtype: torch.dtype = torch.float32
) -> dict:
    """The early phase with all four runners, then the late one without cgds."""
    runners = make_runners(name, seed, k, dtype)
    everyone, without_cgds = [DEFAULT, RECYCLED, CGDS, ADAM], [DEFAULT, RECYCLED, ADAM]
    early, late_records = {}, {}
    run_steps(runners, everyone, 0, warmup, None)
    run_steps(runners, everyone, warmup, steps, early)
    run_steps(runners, without_cgds, warmup + steps, late - warmup - steps, None)
    run_steps(runners, without_cgds, late, steps, late_records)
    print(
        f"{name} seed {seed}: "
        + "; ".join(
            f"{phase} CG it. default/recycle "
            f"{_mean(r[DEFAULT]['iterations']):.2f}/{_mean(r[RECYCLED]['iterations']):.2f}"
            for phase, r in (("early", early), ("late", late_records))
        ),
        flush=True,
    )
    return {"early": early, "late": late_records}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _pooled(per_seed: list[dict], phase: str, label: str, key: str) -> list[float]:
    return [value for seed in per_seed for value in seed[phase].get(label, {}).get(key, [])]


def summarise(per_seed: list[dict]) -> dict:
    """Per phase: pooled means, medians and the time ratios (bootstrap 90 % intervals)."""
    summary = {}
    for phase in ("early", "late"):
        entry = {}
        for label in (DEFAULT, RECYCLED):
            entry[label] = {
                "mean_cg_iterations": _mean(_pooled(per_seed, phase, label, "iterations")),
                "mean_hvps_per_step": _mean(_pooled(per_seed, phase, label, "hvps")),
                "median_true_residual": median(_pooled(per_seed, phase, label, "true_residual")),
                "max_true_residual": max(_pooled(per_seed, phase, label, "true_residual")),
                "median_step_s": median(_pooled(per_seed, phase, label, "seconds")),
            }
        seconds = {label: _pooled(per_seed, phase, label, "seconds") for label in (DEFAULT, RECYCLED, CGDS, ADAM)}
        pairs = [
            ("recycle_over_default", RECYCLED, DEFAULT),
            ("default_over_adam", DEFAULT, ADAM),
            ("recycle_over_adam", RECYCLED, ADAM),
            ("default_over_cgds", DEFAULT, CGDS),
            ("recycle_over_cgds", RECYCLED, CGDS),
        ]
        for key, top, bottom in pairs:
            if seconds[top] and seconds[bottom]:
                entry[key] = {
                    "ratio": median(seconds[top]) / median(seconds[bottom]),
                    "interval_90": list(ratio_of_medians_interval(seconds[top], seconds[bottom])),
                }
        entry["iterations_change"] = entry[RECYCLED]["mean_cg_iterations"] / entry[DEFAULT]["mean_cg_iterations"] - 1
        summary[phase] = entry
    return summary


def _print_summary(name: str, summary: dict) -> None:
    for phase, entry in summary.items():
        d, r = entry[DEFAULT], entry[RECYCLED]
        ratios = ", ".join(
            f"{key} {value['ratio']:.3f} [{value['interval_90'][0]:.3f}, {value['interval_90'][1]:.3f}]"
            for key, value in entry.items()
            if isinstance(value, dict) and "ratio" in value
        )
        print(
            f"{name} {phase}: CG it. {d['mean_cg_iterations']:.2f} -> {r['mean_cg_iterations']:.2f} "
            f"({entry['iterations_change']:+.1%}), "
            f"HVPs {d['mean_hvps_per_step']:.2f} -> {r['mean_hvps_per_step']:.2f}, "
            f"median true residual {d['median_true_residual']:.2e} / {r['median_true_residual']:.2e}; {ratios}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--problems",
        nargs="+",
        default=["dcgan32", "mlp_gan", "quadratic_1e4"],
        choices=["dcgan32", "mlp_gan", "quadratic_1e4"],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--recycle", type=int, default=4, help="k: CG pairs kept")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--late", type=int, default=150)
    parser.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        default="float32",
        help="float64: true residuals below float32's round-off floor",
    )
    parser.add_argument("--quick", action="store_true", help="seed 0, mlp_gan and quadratic_1e4")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/recycling_cpu.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.problems = [0], [p for p in args.problems if p != "dcgan32"]
    report = {}
    for name in args.problems:
        per_seed = [
            measure_seed(name, seed, args.recycle, args.warmup, args.steps, args.late, getattr(torch, args.dtype))
            for seed in args.seeds
        ]
        report[name] = {"summary": summarise(per_seed), "seeds": dict(zip(map(str, args.seeds), per_seed))}
        _print_summary(name, report[name]["summary"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "command": "python -m benchmarks.recycling " + " ".join(sys.argv[1:] if argv is None else argv),
                "settings": {
                    **PAPER,
                    **TOLERANCE,
                    "recycle": args.recycle,
                    "seeds": args.seeds,
                    "dtype": args.dtype,
                    "torch_threads": torch.get_num_threads(),
                },
                "problems": report,
            },
            indent=1,
        )
    )
    return report


if __name__ == "__main__":
    main()
