"""cgd_optim.ACGD against the ICR authors' ``cgds`` package, side by side in one process.

    python -m benchmarks.acgd_vs_cgds [--steps 10] [--warmup 2] [--problems dcgan32 mlp_gan quadratic_1e4]
                                      [--out benchmarks/results/acgd_vs_cgds.json] [--device cpu] [--quick]

For each problem (``benchmarks/problems.py``) it
1. checks that both produce the same iterates over 3 steps (float64, eps = 1e-14, tol 1e-10,
   cgds's tolerances squared to match ours, which bound the residual norm);
2. times them in float32 with the paper's settings (lr 1e-4, beta 0.99, eps 1e-5, tol 1e-6 on
   the residual norm = cgds's default 1e-12 on its square), alternating which goes first, from
   identical weights on identical batches, beside a simultaneous Adam step and our ACGD without
   warm starts; and reports medians, CG iterations, Hessian-vector products (HVPs) per step and
   our overhead over the HVP floor (gradient time + HVPs x time of one HVP);
3. measures the peak memory of one step of each.
It also counts host reads on a 50 x 50 bilinear game, sweeps the CG tolerance on the DCGAN and
times forward-over-reverse HVPs against double backward. It prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import warnings
from pathlib import Path

import torch

from cgd_optim import ACGD
from cgd_optim.autodiff import flatten, gradients, mixed_hvp, zeros_for_none

from . import forward_hvp, problems
from .device_reads import DeviceReads
from .measure import median, peak_memory, timed

PAPER = dict(lr=1e-4, beta=0.99, eps=1e-5)


class CountingHvp:
    """Wraps cgds's Hvp_vec (module attributes in CGDs.acgd and CGDs.cgd_utils) to count calls."""

    def __init__(self) -> None:
        import CGDs.acgd
        import CGDs.cgd_utils

        self.modules = (CGDs.acgd, CGDs.cgd_utils)
        self.original = CGDs.cgd_utils.Hvp_vec
        self.calls = 0

        def counted(*args, **kwargs):
            self.calls += 1
            return self.original(*args, **kwargs)

        for module in self.modules:
            module.Hvp_vec = counted


class Ours:
    label = "cgd_optim.ACGD"

    def __init__(self, instance, **options) -> None:
        self.instance = instance
        self.optimizer = ACGD(instance.min_params, instance.max_params, **options)

    def step(self, batch) -> None:
        self.optimizer.step(lambda: self.instance.value(batch))

    def counts(self) -> tuple[int, int]:
        stats = self.optimizer.step_stats
        return int(stats["iterations"]), int(stats["hvp_count"])


class Theirs:
    label = "cgds.ACGD"

    def __init__(self, instance, counter: CountingHvp, *, lr, beta, eps, tol, atol) -> None:
        from CGDs import ACGD as CgdsACGD

        self.instance, self.counter = instance, counter
        # cgds bounds the squared residual: tol and atol squared give the same stopping rule
        self.optimizer = CgdsACGD(instance.max_params, instance.min_params, lr_max=lr, lr_min=lr, eps=eps,
                                  beta=beta, tol=tol**2, atol=atol**2)
        self.last_hvps = 0

    def step(self, batch) -> None:
        before = self.counter.calls
        self.optimizer.step(self.instance.value(batch))
        self.last_hvps = self.counter.calls - before

    def counts(self) -> tuple[int, int]:
        # 2 per CG iteration, plus 2 for the right-hand sides, 1 recovery product and 2 for the warm start
        warm = 2 if self.optimizer.state["step"] > 1 else 0
        return max(0, (self.last_hvps - 3 - warm) // 2), self.last_hvps


class SimultaneousAdam:
    label = "Adam (simultaneous)"

    def __init__(self, instance, lr: float) -> None:
        self.instance = instance
        self.min_opt = torch.optim.Adam(instance.min_params, lr=lr, betas=(0.5, 0.999))
        self.max_opt = torch.optim.Adam(instance.max_params, lr=lr, betas=(0.5, 0.999), maximize=True)

    def step(self, batch) -> None:
        params = self.instance.min_params + self.instance.max_params
        grads = torch.autograd.grad(self.instance.value(batch), params, allow_unused=True)
        for p, g in zip(params, zeros_for_none(grads, params)):
            p.grad = g
        self.min_opt.step()
        self.max_opt.step()

    def counts(self) -> tuple[int, int]:
        return 0, 0


def flat_params(instance) -> torch.Tensor:
    return flatten([p.detach() for p in instance.min_params + instance.max_params])


def equal_iterates(name: str, steps: int = 3, device: str = "cpu", **build) -> dict:
    """Max over steps of |ours - cgds| / |ours - start| in float64 with eps 1e-14 and tol 1e-10."""
    builder = problems.PROBLEMS.get(name) or getattr(problems, name)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # cgds allocates its CG vectors in the default dtype
    try:
        ours_instance = builder(torch.float64, 0, device=device, **build)
        theirs_instance = builder(torch.float64, 0, device=device, **build)
        options = dict(lr=PAPER["lr"], beta=0.99, eps=1e-14, tol=1e-10, atol=0.0)
        ours = Ours(ours_instance, max_iter=10_000, **options)
        theirs = Theirs(theirs_instance, CountingHvp(), **options)
        start = flat_params(ours_instance)
        differences, iterations = [], []
        for step in range(steps):
            batch = ours_instance.batch(step)
            ours.step(batch)
            theirs.step(batch)
            moved = flat_params(ours_instance) - start
            gap = flat_params(ours_instance) - flat_params(theirs_instance)
            differences.append(float(gap.norm() / moved.norm()))
            iterations.append((ours.counts()[0], theirs.counts()[0]))
    finally:
        torch.set_default_dtype(previous)
    return {"relative_difference_per_step": differences, "max_relative_difference": max(differences),
            "cg_iterations_ours_cgds": iterations}


def hvp_floor(instance, batch, device: torch.device, repeats: int = 7) -> dict:
    """Median time of one create_graph gradient (forward included) and of one mixed HVP."""
    xs, ys = instance.min_params, instance.max_params
    grad_times, hvp_times = [], []
    for _ in range(repeats):
        seconds, grads = timed(lambda: zeros_for_none(
            gradients(instance.value(batch), xs + ys, create_graph=True), xs + ys), device)
        grad_times.append(seconds)
    grad_x, grad_y = grads[: len(xs)], grads[len(xs):]
    v_y = torch.randn(sum(p.numel() for p in ys), dtype=ys[0].dtype, device=device)
    v_x = torch.randn(sum(p.numel() for p in xs), dtype=xs[0].dtype, device=device)
    for _ in range(repeats):
        hvp_times.append(timed(lambda: mixed_hvp(grad_y, xs, v_y), device)[0])
        hvp_times.append(timed(lambda: mixed_hvp(grad_x, ys, v_x), device)[0])
    return {"gradient_s": median(grad_times), "hvp_s": median(hvp_times)}


def time_problem(name: str, steps: int, warmup: int, device: torch.device, cold: bool) -> dict:
    builder = problems.PROBLEMS[name]
    counter = CountingHvp()
    tolerance = dict(tol=1e-6, atol=1e-10)
    runners = [
        Ours(builder(torch.float32, 0, device=device), **PAPER, **tolerance),
        Theirs(builder(torch.float32, 0, device=device), counter, **PAPER, **tolerance),
        SimultaneousAdam(builder(torch.float32, 0, device=device), lr=PAPER["lr"]),
    ]
    if cold:
        cold_runner = Ours(builder(torch.float32, 0, device=device), **PAPER, **tolerance, warm_start=False)
        cold_runner.label = "cgd_optim.ACGD (no warm start)"
        runners.append(cold_runner)
    records = {runner.label: {"seconds": [], "iterations": [], "hvps": []} for runner in runners}
    batch_of = runners[0].instance.batch
    for step in range(warmup + steps):
        batch = batch_of(step)
        order = runners if step % 2 == 0 else runners[::-1]
        for runner in order:
            seconds, _ = timed(lambda: runner.step(batch), device)
            if step >= warmup:
                iterations, hvps = runner.counts()
                record = records[runner.label]
                record["seconds"].append(seconds)
                record["iterations"].append(iterations)
                record["hvps"].append(hvps)
    summary = {label: {"median_step_s": median(r["seconds"]),
                       "mean_cg_iterations": sum(r["iterations"]) / len(r["iterations"]),
                       "mean_hvps_per_step": sum(r["hvps"]) / len(r["hvps"]), **r}
               for label, r in records.items()}
    ours, theirs = summary["cgd_optim.ACGD"], summary["cgds.ACGD"]
    floor = hvp_floor(runners[0].instance, batch_of(0), device)
    floor_s = floor["gradient_s"] + ours["mean_hvps_per_step"] * floor["hvp_s"]
    memory = {}
    for runner in runners[:2]:
        batch = batch_of(warmup + steps)
        with peak_memory(device) as report:
            runner.step(batch)
        memory[runner.label] = report
    return {
        "runners": summary,
        "ratio_ours_over_cgds": ours["median_step_s"] / theirs["median_step_s"],
        "ours_over_adam": ours["median_step_s"] / summary["Adam (simultaneous)"]["median_step_s"],
        "cgds_over_adam": theirs["median_step_s"] / summary["Adam (simultaneous)"]["median_step_s"],
        "floor": {**floor, "floor_s": floor_s, "overhead": ours["median_step_s"] / floor_s - 1.0},
        "peak_memory": memory,
    }


def device_reads_bilinear(steps: int = 3) -> dict:
    """Host reads per step on f = x'By (50 x 50) with our CG run into 30 iterations, and cgds's."""
    result = {}
    instance = problems.bilinear()
    ours = Ours(instance, lr=0.5, beta=0.99, eps=1e-5, tol=0.0, atol=0.0, max_iter=30)
    theirs_instance = problems.bilinear()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        theirs = Theirs(theirs_instance, CountingHvp(), lr=0.5, beta=0.99, eps=1e-5, tol=1e-30, atol=0.0)
        for runner, key in ((ours, "cgd_optim.ACGD"), (theirs, "cgds.ACGD")):
            counts, iterations = [], []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for step in range(steps + 1):
                    with DeviceReads() as reads, contextlib.redirect_stdout(None):
                        runner.step(None)
                    if step > 0:  # the first step has no warm start
                        counts.append(reads.count)
                        iterations.append(runner.counts()[0])
            result[key] = {"reads_per_step": counts, "cg_iterations": iterations,
                           "reads_per_iteration": sum(counts) / max(1, sum(iterations))}
    finally:
        torch.set_default_dtype(previous)
    return result


def tolerance_sweep(device: torch.device, steps: int, warmup: int) -> list[dict]:
    rows = []
    for exponent in range(2, 9):
        tol = 10.0 ** -exponent
        runner = Ours(problems.dcgan(torch.float32, 0, device=device), **PAPER, tol=tol, atol=0.0, max_iter=200)
        times, iterations = [], []
        for step in range(warmup + steps):
            seconds, _ = timed(lambda: runner.step(runner.instance.batch(step)), device)
            if step >= warmup:
                times.append(seconds)
                iterations.append(runner.counts()[0])
        rows.append({"tol": tol, "median_step_s": median(times), "mean_cg_iterations": sum(iterations) / len(iterations)})
    return rows


def _print_tables(report: dict) -> None:
    print(f"\n== equal iterates (float64, eps 1e-14, tol 1e-10): max |ours - cgds| / |ours - start| over 3 steps")
    for name, check in report["equal_iterates"].items():
        print(f"  {name:14s} {check['max_relative_difference']:.2e}")
    print("\n== step time, float32, paper settings (median seconds)")
    header = f"  {'problem':14s} {'runner':32s} {'median s':>9s} {'CG it':>6s} {'HVPs':>6s}"
    print(header)
    for name, result in report["timing"].items():
        for label, row in result["runners"].items():
            print(f"  {name:14s} {label:32s} {row['median_step_s']:9.4f} {row['mean_cg_iterations']:6.1f} "
                  f"{row['mean_hvps_per_step']:6.1f}")
        floor = result["floor"]
        print(f"  {name:14s} ours / cgds = {result['ratio_ours_over_cgds']:.3f}; ours / Adam = "
              f"{result['ours_over_adam']:.1f}; cgds / Adam = {result['cgds_over_adam']:.1f}; gradient "
              f"{floor['gradient_s']:.4f} s, HVP {floor['hvp_s']:.4f} s, floor {floor['floor_s']:.4f} s, "
              f"overhead {100 * floor['overhead']:+.1f} %")
        memory = ", ".join(f"{label} {m['peak_bytes'] / 2**20:.1f} MiB" for label, m in result["peak_memory"].items())
        print(f"  {name:14s} peak memory of one step above baseline: {memory}")
    if "device_reads" in report:
        print("\n== host reads per step, 50 x 50 bilinear game")
        for label, row in report["device_reads"].items():
            print(f"  {label:16s} reads {row['reads_per_step']} with CG iterations {row['cg_iterations']}")
    if "tolerance_sweep" in report:
        print("\n== CG tolerance on the width-32 DCGAN (ours)")
        for row in report["tolerance_sweep"]:
            print(f"  tol {row['tol']:.0e}: {row['mean_cg_iterations']:5.1f} iterations, {row['median_step_s']:.4f} s")
    if "forward_over_reverse" in report:
        print("\n== one mixed HVP: double backward vs forward-over-reverse (torch.func.jvp of the gradient)")
        for name, row in report["forward_over_reverse"].items():
            print(f"  {name:14s} double backward {row['double_backward_s']:.4f} s, forward-over-reverse "
                  f"{row['forward_over_reverse_s']:.4f} s (x{row['ratio']:.2f}), max |difference| {row['max_abs_difference']:.1e}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.acgd_vs_cgds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per runner (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument("--problems", nargs="+", default=list(problems.PROBLEMS), choices=list(problems.PROBLEMS),
                        help="which games to time")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--out", default="benchmarks/results/acgd_vs_cgds.json", help="where to write the JSON report")
    parser.add_argument("--quick", action="store_true", help="skip the tolerance sweep, the read count and the HVP backends")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    report = {
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "device": str(device),
                    "threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine()},
        "equal_iterates": {name: equal_iterates(name, device=device) for name in args.problems},
        "timing": {name: time_problem(name, args.steps, args.warmup, device, cold=name != "quadratic_1e4")
                   for name in args.problems},
    }
    if not args.quick:
        report["device_reads"] = device_reads_bilinear()
        report["tolerance_sweep"] = tolerance_sweep(device, steps=max(3, args.steps // 2), warmup=args.warmup)
        report["forward_over_reverse"] = forward_hvp.compare(device)
    _print_tables(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out}")
    return report


if __name__ == "__main__":
    main()
