"""cgd_optim.ACGD against the ICR authors' ``cgds`` package, side by side in one process.

    python -m benchmarks.acgd_vs_cgds [--steps 10] [--warmup 2] [--steady-after 150] [--device cpu]
                                      [--problems dcgan32 mlp_gan quadratic_1e4] [--quick] [--early-seeds 1 2 3]
                                      [--out benchmarks/results/acgd_vs_cgds.json]

For each problem (``benchmarks/problems.py``) it
1. checks that both produce the same iterates over 3 steps (float64, eps = 1e-14, tol 1e-10,
   cgds's tolerances squared to match ours, which bound the residual norm);
2. times them in float32 with the paper's settings (lr 1e-4, beta 0.99, eps 1e-5, tol 1e-6 on
   the residual norm = cgds's default 1e-12 on its square), alternating which goes first, from
   identical weights on identical batches, beside a simultaneous Adam step and our ACGD without
   warm starts; and reports medians, CG iterations, Hessian-vector products (HVPs) per step and
   our overhead over the HVP floor (gradient time + HVPs x time of one HVP);
3. measures the peak memory of one step of each.
It also repeats the early phase of the two GANs from other initial weights (``--early-seeds``)
and pools their steps, counts host reads on a 50 x 50 bilinear game, sweeps the CG tolerance on
the DCGAN and times forward-over-reverse HVPs against double backward. It prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import subprocess
import sys
import warnings
from pathlib import Path

import torch

from cgd_optim import ACGD
from cgd_optim.autodiff import flatten, gradients, mixed_hvp_operator, zeros_for_none
from cgd_optim.distributed import average_gradients_, resolve_process_group

from . import forward_hvp, problems
from .device_reads import DeviceReads
from .measure import cuda_peak_memory, median, ratio_of_medians_interval, timed

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
        self.optimizer = CgdsACGD(
            instance.max_params, instance.min_params, lr_max=lr, lr_min=lr, eps=eps, beta=beta, tol=tol**2, atol=atol**2
        )
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
        average_gradients_(params, resolve_process_group("auto"))  # what DDP's all-reduce does; none in one process
        self.min_opt.step()
        self.max_opt.step()

    def counts(self) -> tuple[int, int]:
        return 0, 0


def flat_params(instance) -> torch.Tensor:
    return flatten([p.detach() for p in instance.min_params + instance.max_params])


def equal_iterates(name: str, steps: int = 3, device: str = "cpu", eps: float = 1e-14, **build) -> dict:
    """Max over steps of |ours - cgds| / |ours - start| in float64 with eps 1e-14 and tol 1e-10.

    The remaining difference is where eps sits (inside the bias correction in Algorithm 1,
    outside in cgds): it scales like eps / |g| on the smallest gradients, ~1e-5 at eps 1e-14
    on the MLP GAN and ~1e-11 at eps 1e-20.
    """
    builder = problems.PROBLEMS.get(name) or getattr(problems, name)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # cgds allocates its CG vectors in the default dtype
    try:
        ours_instance = builder(torch.float64, 0, device=device, **build)
        theirs_instance = builder(torch.float64, 0, device=device, **build)
        options = dict(lr=PAPER["lr"], beta=0.99, eps=eps, tol=1e-10, atol=0.0)
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
    return {
        "relative_difference_per_step": differences,
        "max_relative_difference": max(differences),
        "cg_iterations_ours_cgds": iterations,
    }


def hvp_floor(instance, batch, device: torch.device, repeats: int = 7) -> dict:
    """Median times of one create_graph gradient (forward included) and of each kind of mixed HVP.

    ``hvp_xy_s`` is D_xy f v (differentiating the max player's gradient by the min player's
    parameters), ``hvp_yx_s`` the other; the two cost differently on GANs, and a solve with m
    operator applications makes m + 1 of the first kind and m of the second.
    """
    xs, ys = instance.min_params, instance.max_params
    grad_times, xy_times, yx_times = [], [], []
    for _ in range(repeats):
        seconds, grads = timed(
            lambda: zeros_for_none(gradients(instance.value(batch), xs + ys, create_graph=True), xs + ys), device
        )
        grad_times.append(seconds)
    # built once, as the solver builds them once per step (mixed_hvp would concatenate the
    # gradient in the graph for every product: floors measured that way before commit 683119c are higher)
    hvp_xy, hvp_yx = mixed_hvp_operator(grads[len(xs) :], xs), mixed_hvp_operator(grads[: len(xs)], ys)
    v_y = torch.randn(sum(p.numel() for p in ys), dtype=ys[0].dtype, device=device)
    v_x = torch.randn(sum(p.numel() for p in xs), dtype=xs[0].dtype, device=device)
    for _ in range(repeats):
        xy_times.append(timed(lambda: hvp_xy(v_y), device)[0])
        yx_times.append(timed(lambda: hvp_yx(v_x), device)[0])
    xy, yx = median(xy_times), median(yx_times)
    return {"gradient_s": median(grad_times), "hvp_xy_s": xy, "hvp_yx_s": yx, "hvp_s": (xy + yx) / 2}


def _make_runners(name: str, device: torch.device, cold: bool, seed: int = 0) -> list:
    builder = problems.PROBLEMS[name]
    tolerance = dict(tol=1e-6, atol=1e-10)
    runners = [
        Ours(builder(torch.float32, seed, device=device), **PAPER, **tolerance),
        Theirs(builder(torch.float32, seed, device=device), CountingHvp(), **PAPER, **tolerance),
        SimultaneousAdam(builder(torch.float32, seed, device=device), lr=PAPER["lr"]),
    ]
    if cold:
        cold_runner = Ours(builder(torch.float32, seed, device=device), **PAPER, **tolerance, warm_start=False)
        cold_runner.label = "cgd_optim.ACGD (no warm start)"
        runners.append(cold_runner)
    return runners


@torch.no_grad()
def _share_weights(runners: list) -> None:
    """Copy the first runner's parameters and buffers into the others' copies of the game.

    GAN dynamics amplify float32 rounding: without this, after 150 steps the runners sit at
    different points and solve different systems (e.g. 3 against 4 CG iterations), which says
    nothing about the optimizers. Each keeps its own optimizer state (second moments, warm start).
    """
    source = runners[0].instance
    tensors = [*source.generator.state_dict().values(), *source.discriminator.state_dict().values()]
    for runner in runners[1:]:
        target = runner.instance
        targets = [*target.generator.state_dict().values(), *target.discriminator.state_dict().values()]
        for a, b in zip(targets, tensors):
            a.copy_(b)


def _run_steps(runners: list, first: int, count: int, device: torch.device, record: bool) -> dict:
    """Steps ``first .. first + count - 1`` of every runner on the same batches and weights, alternating the order."""
    records = {runner.label: {"seconds": [], "iterations": [], "hvps": []} for runner in runners}
    batch_of = runners[0].instance.batch
    for step in range(first, first + count):
        batch = batch_of(step)
        _share_weights(runners)
        for runner in runners if step % 2 == 0 else runners[::-1]:
            _timed_step(runner, batch, device, records[runner.label] if record else None)
    return records


def _timed_step(runner, batch, device: torch.device, records: dict | None) -> None:
    """One step of ``runner``; its seconds, CG iterations and HVPs are appended to ``records`` if given."""
    seconds, _ = timed(lambda: runner.step(batch), device)
    if records is not None:
        iterations, hvps = runner.counts()
        for key, value in (("seconds", seconds), ("iterations", iterations), ("hvps", hvps)):
            records[key].append(value)


def _runner_summary(records: dict) -> dict:
    """Median step time, mean CG iterations and HVPs per step, and the samples, of one runner."""
    return {
        "median_step_s": median(records["seconds"]),
        "mean_cg_iterations": sum(records["iterations"]) / len(records["iterations"]),
        "mean_hvps_per_step": sum(records["hvps"]) / len(records["hvps"]),
        **records,
    }


def _phase_summary(records: dict, floor: dict) -> dict:
    summary = {label: _runner_summary(r) for label, r in records.items()}
    ours, theirs = summary["cgd_optim.ACGD"], summary["cgds.ACGD"]
    adam = summary["Adam (simultaneous)"]["median_step_s"]
    floor_s = floor_seconds(floor, ours["hvps"])
    return {
        "runners": summary,
        "ratio_ours_over_cgds": ours["median_step_s"] / theirs["median_step_s"],
        "ours_over_adam": ours["median_step_s"] / adam,
        "cgds_over_adam": theirs["median_step_s"] / adam,
        "floor_s": floor_s,
        "overhead": ours["median_step_s"] / floor_s - 1.0,
    }


def floor_seconds(floor: dict, hvps_per_step: list[int]) -> float:
    """Mean over steps of gradient + HVPs at their measured times. A cold step's 2m + 1 products
    are m + 1 D_xy (m operator applications and the right-hand side) and m D_yx; a warm-started
    step's 2m + 2 are m + 1 of each (L s0 and the residual's product come on top of m)."""
    steps = [floor["gradient_s"] + (h + 1) // 2 * floor["hvp_xy_s"] + h // 2 * floor["hvp_yx_s"] for h in hvps_per_step]
    return sum(steps) / len(steps)


def _alone_summary(records: dict, floor: dict) -> dict:
    """Our steps timed with no other runner in between: the caches hold our game, as in training
    and as when the floor is measured (interleaved runners evict each other's small models).

    ``overhead`` divides by the floor measured after the phase; ``paired_overhead`` is the median
    over steps of step / (that step's own floor, timed right after it), which the machine's
    drift between a phase and its floor measurement cannot move.
    """
    summary = _runner_summary({key: records[key] for key in ("seconds", "iterations", "hvps")})
    floor_s = floor_seconds(floor, records["hvps"])
    ratios = [step / paired for step, paired in zip(records["seconds"], records["paired_floor_seconds"])]
    return {
        **summary,
        "floor_s": floor_s,
        "overhead": summary["median_step_s"] / floor_s - 1.0,
        "paired_floor_seconds": records["paired_floor_seconds"],
        "paired_floor_s": median(records["paired_floor_seconds"]),
        "paired_overhead": median(ratios) - 1.0,
    }


def paired_floor_step(instance, batch, hvps: int, device: torch.device) -> float:
    """Seconds of one step's floor on its own batch: a create_graph gradient (forward included) and
    ``hvps`` mixed products, (hvps + 1) // 2 of D_xy and hvps // 2 of D_yx as in
    :func:`floor_seconds`, each operator built once as a solver would."""
    xs, ys = instance.min_params, instance.max_params
    v_y = torch.randn(sum(p.numel() for p in ys), dtype=ys[0].dtype, device=device)
    v_x = torch.randn(sum(p.numel() for p in xs), dtype=xs[0].dtype, device=device)

    def work():
        grads = zeros_for_none(gradients(instance.value(batch), xs + ys, create_graph=True), xs + ys)
        d_xy, d_yx = mixed_hvp_operator(grads[len(xs) :], xs), mixed_hvp_operator(grads[: len(xs)], ys)
        for _ in range((hvps + 1) // 2):
            d_xy(v_y)
        for _ in range(hvps // 2):
            d_yx(v_x)

    return timed(work, device)[0]


def _alone_steps(runner, first: int, count: int, device: torch.device) -> dict:
    """``count`` steps of one runner, each followed by its own floor (:func:`paired_floor_step`)."""
    records = {"seconds": [], "iterations": [], "hvps": [], "paired_floor_seconds": []}
    for step in range(first, first + count):
        batch = runner.instance.batch(step)
        _timed_step(runner, batch, device, records)
        records["paired_floor_seconds"].append(paired_floor_step(runner.instance, batch, records["hvps"][-1], device))
    return records


def time_problem(name: str, steps: int, warmup: int, steady_after: int, device: torch.device, cold: bool) -> dict:
    """Two timed phases: early training (after ``warmup`` steps) and after ``steady_after`` steps.

    Each phase times ``steps`` interleaved steps of every runner, then ``steps`` more of ours
    alone, each followed by its own floor (for the overhead over the HVP floor in the caches'
    state of a training loop, free of the machine's drift).

    Early on, Algorithm 1's eps (inside the bias correction) and cgds's (outside it) give
    different step sizes to coordinates with small gradients, so the two solve different
    systems; once 1 - beta^t is near 1 they solve the same ones.
    """
    runners = _make_runners(name, device, cold)
    instance = runners[0].instance
    _run_steps(runners, 0, warmup, device, record=False)
    starts = [warmup] + ([steady_after] if steady_after > warmup + steps else [])
    phases, done = {}, warmup
    for start in starts:
        _run_steps(runners, done, start - done, device, record=False)
        records = _run_steps(runners, start, steps, device, record=True)
        alone = _alone_steps(runners[0], start + steps, steps, device)
        done = start + 2 * steps
        # the floor is measured right after the phase, at its weights: the machine's speed drifts
        floor = hvp_floor(instance, instance.batch(start), device)
        phases[f"steps {start}-{start + steps - 1}"] = {
            **_phase_summary(records, floor),
            "floor": floor,
            "ours_alone": _alone_summary(alone, floor),
        }
    return {"phases": phases, "peak_memory": peak_step_memory(name, runners, device)}


def early_phase_over_seeds(name: str, seeds: list[int], steps: int, warmup: int, device: torch.device) -> dict:
    """The early phase again from other initial weights, ours and cgds alone (alternating).

    On the development CPU, steps of identical work (the same CG iterations and products) differ
    in time by a fifth or more, so ten steps pin a ratio of medians down to a few per cent only.
    Pooling the steps of several seeds gives the ratio of medians with a bootstrap 90 % interval,
    and each seed's ratio and CG iterations.
    """
    ours, theirs, per_seed = [], [], {}
    for seed in seeds:
        runners = _make_runners(name, device, cold=False, seed=seed)[:2]
        _run_steps(runners, 0, warmup, device, record=False)
        records = _run_steps(runners, warmup, steps, device, record=True)
        mine, cgds = records["cgd_optim.ACGD"], records["cgds.ACGD"]
        per_seed[seed] = {
            "ratio_ours_over_cgds": median(mine["seconds"]) / median(cgds["seconds"]),
            "cg_iterations_ours": sum(mine["iterations"]) / steps,
            "cg_iterations_cgds": sum(cgds["iterations"]) / steps,
        }
        ours += mine["seconds"]
        theirs += cgds["seconds"]
    low, high = ratio_of_medians_interval(ours, theirs)
    return {
        "steps": f"{warmup}-{warmup + steps - 1}",
        "seeds": per_seed,
        "pooled_ratio_ours_over_cgds": median(ours) / median(theirs),
        "interval_90": [low, high],
        "ours_seconds": ours,
        "cgds_seconds": theirs,
    }


def peak_step_memory(name: str, runners: list, device: torch.device) -> dict:
    """CUDA: max_memory_allocated over one step in this process. CPU: a fresh process per optimizer."""
    memory = {}
    for runner, which in zip(runners[:2], ("ours", "cgds")):
        if device.type == "cuda":
            with cuda_peak_memory(device) as report:
                runner.step(runner.instance.batch(10_000))
        else:
            command = [sys.executable, "-m", "benchmarks.memory_probe", name, which]
            report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        memory[runner.label] = report
    return memory


def device_reads_bilinear(steps: int = 3) -> dict:
    """Host reads per step on f = x'By (50 x 50) with our CG run into 30 iterations, and cgds's."""
    result = {}
    instance = problems.bilinear()
    # check_every=4 is the accelerator default, where a read stalls the device; on the CPU the
    # default checks every iteration because a read costs nothing there
    ours = Ours(instance, lr=0.5, beta=0.99, eps=1e-5, tol=0.0, atol=0.0, max_iter=30, check_every=4)
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
            result[key] = {
                "reads_per_step": counts,
                "cg_iterations": iterations,
                "reads_per_iteration": sum(counts) / max(1, sum(iterations)),
            }
    finally:
        torch.set_default_dtype(previous)
    return result


def cuda_synchronisations(device: torch.device) -> dict:
    """Warnings from ``torch.cuda.set_sync_debug_mode("warn")`` during one DCGAN step of each optimizer.

    Every synchronising call (a host read, a blocking copy) warns once per occurrence; ours should
    show the solver's periodic checks and the one fused read per step.
    """
    result = {}
    for runner in _make_runners("dcgan32", device, cold=False)[:2]:
        runner.step(runner.instance.batch(0))  # first step: allocations, no warm start
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(None):
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                runner.step(runner.instance.batch(1))
            finally:
                torch.cuda.set_sync_debug_mode("default")
        messages = [str(w.message).splitlines()[0] for w in caught if "synchroniz" in str(w.message)]
        result[runner.label] = {
            "synchronisations": len(messages),
            "iterations": runner.counts()[0],
            "first_messages": messages[:5],
        }
    return result


def tolerance_sweep(device: torch.device, steps: int, warmup: int) -> list[dict]:
    rows = []
    for exponent in range(2, 9):
        tol = 10.0**-exponent
        runner = Ours(problems.dcgan(torch.float32, 0, device=device), **PAPER, tol=tol, atol=0.0, max_iter=200)
        times, iterations = [], []
        for step in range(warmup + steps):
            seconds, _ = timed(lambda: runner.step(runner.instance.batch(step)), device)
            if step >= warmup:
                times.append(seconds)
                iterations.append(runner.counts()[0])
        rows.append(
            {"tol": tol, "median_step_s": median(times), "mean_cg_iterations": sum(iterations) / len(iterations)}
        )
    return rows


def _print_tables(report: dict) -> None:
    print("\n== equal iterates (float64, eps 1e-14, tol 1e-10): max |ours - cgds| / |ours - start| over 3 steps")
    for name, check in report["equal_iterates"].items():
        print(f"  {name:14s} {check['max_relative_difference']:.2e}")
    print("\n== step time, float32, paper settings (median seconds)")
    print(f"  {'problem':14s} {'phase':14s} {'runner':32s} {'median s':>9s} {'CG it':>6s} {'HVPs':>6s}")
    for name, result in report["timing"].items():
        for phase, summary in result["phases"].items():
            floor = summary["floor"]
            for label, row in summary["runners"].items():
                print(
                    f"  {name:14s} {phase:14s} {label:32s} {row['median_step_s']:9.4f} "
                    f"{row['mean_cg_iterations']:6.1f} {row['mean_hvps_per_step']:6.1f}"
                )
            print(
                f"  {name:14s} {phase:14s} ours / cgds = {summary['ratio_ours_over_cgds']:.3f}; ours / Adam = "
                f"{summary['ours_over_adam']:.1f}; cgds / Adam = {summary['cgds_over_adam']:.1f}; "
                f"floor {summary['floor_s']:.4f} s, overhead {100 * summary['overhead']:+.1f} %"
            )
            alone = summary["ours_alone"]
            print(
                f"  {name:14s} {phase:14s} ours alone (next {len(alone['seconds'])} steps): "
                f"{alone['median_step_s']:.4f} s, {alone['mean_hvps_per_step']:.1f} HVPs, "
                f"floor {alone['floor_s']:.4f} s, "
                f"overhead {100 * alone['overhead']:+.1f} %; each step's own floor {alone['paired_floor_s']:.4f} s, "
                f"overhead {100 * alone['paired_overhead']:+.1f} %"
            )
            print(
                f"  {name:14s} {phase:14s} gradient {floor['gradient_s']:.4f} s, HVP D_xy "
                f"{floor['hvp_xy_s']:.4f} s, D_yx {floor['hvp_yx_s']:.4f} s"
            )
        memory = ", ".join(f"{label} {m['peak_bytes'] / 2**20:.1f} MiB" for label, m in result["peak_memory"].items())
        print(f"  {name:14s} peak memory of one step above baseline: {memory}")
    _print_further_tables(report)


def _print_further_tables(report: dict) -> None:
    """The optional parts of the report: early phase over seeds, reads, tolerances, syncs, HVP routes."""
    if "early_phase_over_seeds" in report:
        print("\n== early phase from other initial weights (ours and cgds alone): ratio of medians ours / cgds")
        for name, row in report["early_phase_over_seeds"].items():
            seeds = "; ".join(
                f"seed {seed}: {r['ratio_ours_over_cgds']:.3f} ({r['cg_iterations_ours']:.1f} / "
                f"{r['cg_iterations_cgds']:.1f} CG it.)"
                for seed, r in row["seeds"].items()
            )
            low, high = row["interval_90"]
            print(
                f"  {name:14s} steps {row['steps']}: {seeds}; pooled {len(row['ours_seconds'])} steps "
                f"{row['pooled_ratio_ours_over_cgds']:.3f} (bootstrap 90 % interval {low:.3f}-{high:.3f})"
            )
    if "device_reads" in report:
        print("\n== host reads per step, 50 x 50 bilinear game")
        for label, row in report["device_reads"].items():
            print(f"  {label:16s} reads {row['reads_per_step']} with CG iterations {row['cg_iterations']}")
    if "tolerance_sweep" in report:
        print("\n== CG tolerance on the width-32 DCGAN (ours)")
        for row in report["tolerance_sweep"]:
            print(f"  tol {row['tol']:.0e}: {row['mean_cg_iterations']:5.1f} iterations, {row['median_step_s']:.4f} s")
    if "cuda_synchronisations" in report:
        print("\n== torch.cuda.set_sync_debug_mode('warn') during one DCGAN step")
        for label, row in report["cuda_synchronisations"].items():
            print(f"  {label:16s} {row['synchronisations']} synchronising calls, {row['iterations']} CG iterations")
    if "forward_over_reverse" in report:
        print("\n== one mixed HVP: double backward vs forward-over-reverse (torch.func.jvp of the gradient)")
        for name, row in report["forward_over_reverse"].items():
            print(
                f"  {name:14s} double backward {row['double_backward_s']:.4f} s, forward-over-reverse "
                f"{row['forward_over_reverse_s']:.4f} s (x{row['ratio']:.2f}), "
                f"max |difference| {row['max_abs_difference']:.1e}"
            )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.acgd_vs_cgds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per runner (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument(
        "--steady-after",
        type=int,
        default=150,
        help="time a second phase from this step on, once bias corrections are near 1 (default 150; 0: skip)",
    )
    parser.add_argument(
        "--problems",
        nargs="+",
        default=list(problems.PROBLEMS),
        choices=list(problems.PROBLEMS),
        help="which games to time",
    )
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--out", default="benchmarks/results/acgd_vs_cgds.json", help="where to write the JSON report")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip the early phase over seeds, the tolerance sweep, the read count and the HVP backends",
    )
    parser.add_argument(
        "--early-seeds",
        type=int,
        nargs="*",
        default=[1, 2, 3],
        help="initial weights of the early phase's repeats on the two GANs (default 1 2 3; none: skip)",
    )
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = _parser().parse_args(argv)
    device = torch.device(args.device)
    report = {
        "settings": {"steps": args.steps, "warmup": args.warmup, "steady_after": args.steady_after},
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "device": str(device),
            "threads": torch.get_num_threads(),
            "processor": platform.processor() or platform.machine(),
        },
        "equal_iterates": {name: equal_iterates(name, device=device) for name in args.problems},
        "timing": {
            name: time_problem(name, args.steps, args.warmup, args.steady_after, device, cold=name != "quadratic_1e4")
            for name in args.problems
        },
    }
    if not args.quick:
        gans = [name for name in args.problems if name != "quadratic_1e4"]
        if args.early_seeds and gans:
            report["early_phase_over_seeds"] = {
                name: early_phase_over_seeds(name, args.early_seeds, args.steps, args.warmup, device) for name in gans
            }
        report["device_reads"] = device_reads_bilinear()
        report["tolerance_sweep"] = tolerance_sweep(device, steps=args.steps, warmup=args.warmup)
        report["forward_over_reverse"] = forward_hvp.compare(device)
        if device.type == "cuda":
            report["cuda_synchronisations"] = cuda_synchronisations(device)
    _print_tables(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out}")
    return report


if __name__ == "__main__":
    main()
