"""One command that verifies the package on a CUDA machine in a few minutes, and writes one report.

    python -m benchmarks.gpu_check --out gpu_check.json     # on a CUDA machine, from the checkout
    python -m benchmarks.gpu_check --dry-run --out dry.json # the same plan on the CPU, tiny sizes

Six parts, each under its own key of the JSON report, each holding its measurement or, under
``"skipped"``, the reason it did not run (a part that fails holds ``"error"``):

- ``cuda_tests``: the test suite's CUDA parametrisations (``pytest -k cuda``);
- ``device_reads``: host synchronisations of one ACGD step on the 50 x 50 bilinear benchmark with
  the solver run into 30 iterations, counted by ``torch.cuda.set_sync_debug_mode("warn")``
  (docs/performance.md promises at most 10; the CPU counter of benchmarks/device_reads.py
  measured 1);
- ``step_seconds``: ACGD, CGD, simultaneous Adam and the authors' ``cgds`` per step on the ICR
  DCGAN at width 64 and batch 64, side by side in one process; float32 for all, and bfloat16
  autocast and float16 with loss scaling for ours;
- ``peak_memory``: ``torch.cuda.max_memory_allocated`` above the starting level during one step
  of ACGD, Adam and ``cgds`` (the ICR repository's users reported 18 GB for ACGD against 4 GB for
  Adam, devzhk/Implicit-Competitive-Regularization#12);
- ``fig9_cifar10_smoke``: 200 iterations of ``icr_fig9wgan_cifar10`` (the authors' eps
  placement) on synthetic CIFAR-10 files written in torchvision's format (no download);
- ``nccl``: where two GPUs exist, ACGD on two NCCL processes against one process on the whole batch.

What the machine lacks (``cgds``, ``tomli-w``, ``mlxtend``, a second GPU) is skipped with the reason;
docs/performance.md says how to carry such packages as wheels.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmarks import problems
from benchmarks.acgd_vs_cgds import CountingHvp, Ours, SimultaneousAdam, Theirs
from benchmarks.device_reads import DeviceReads
from benchmarks.measure import cuda_peak_memory, median, timed
from benchmarks.synthetic_data import write_cifar10
from cgd_optim import ACGD, CGD

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("cuda_tests", "device_reads", "step_seconds", "peak_memory", "fig9_cifar10_smoke", "nccl")
PAPER = dict(lr=1e-4, beta=0.99, eps=1e-5)


@dataclass(frozen=True)
class Plan:
    """The sizes of a run: the GPU check's, or the dry run's on the CPU."""

    device: torch.device
    width: int = 64
    batch: int = 64
    steps: int = 5
    warmup: int = 2
    fig9_iterations: int = 200
    tests_timeout: int = 150
    dry_run: bool = False

    @classmethod
    def dry(cls) -> Plan:
        return cls(torch.device("cpu"), width=4, batch=4, steps=1, warmup=1, fig9_iterations=3, dry_run=True)


def guarded(part: Callable[[Plan], dict], plan: Plan) -> dict:
    """The part's report; an exception becomes ``{"error": ...}`` so that the other parts still run."""
    started = time.perf_counter()
    try:
        report = part(plan)
    except Exception as error:
        report = {"error": f"{type(error).__name__}: {error}"}
    report["wall_seconds"] = round(time.perf_counter() - started, 2)
    return report


def cuda_tests(plan: Plan) -> dict:
    """The suite's CUDA parametrisations (``pytest -k cuda``); without a CUDA device they would all
    skip themselves, so the dry run only names the command."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda", "tests"]
    if plan.device.type != "cuda":
        return {"skipped": "no CUDA device: the CUDA parametrisations skip themselves here", "command": command[2:]}
    output = _run(command, plan.tests_timeout)
    last = output.splitlines()[-1] if output else ""
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", last)}
    return {**counts, "summary": last, "failures": re.findall(r"^FAILED .*$", output, re.M)[:10]}


def _run(command: list[str], timeout: int) -> str:
    env = {**os.environ, "CI": "", "PYTHONPATH": str(ROOT)}  # CI unset: a missing optional package skips
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    return (done.stdout + done.stderr).strip()


def device_reads(plan: Plan) -> dict:
    """Host reads per ACGD step on the bilinear benchmark, solver run into 30 iterations (check_every 4)."""
    instance = problems.bilinear(device=plan.device)
    runner = Ours(instance, lr=0.5, beta=0.99, eps=1e-5, tol=0.0, atol=0.0, max_iter=30, check_every=4)
    runner.step(None)  # the first step: allocations, no warm start
    if plan.device.type != "cuda":
        with warnings.catch_warnings(), DeviceReads() as reads:
            warnings.simplefilter("ignore")
            runner.step(None)
        return {"counter": "TorchFunctionMode host reads (CPU)", "reads": reads.count, "iterations": runner.counts()[0]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            runner.step(None)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    messages = [str(w.message).splitlines()[0] for w in caught if "synchroniz" in str(w.message)]
    return {
        "counter": 'torch.cuda.set_sync_debug_mode("warn")',
        "reads": len(messages),
        "iterations": runner.counts()[0],
        "promised_at_most": 10,
        "first_messages": messages[:5],
    }


def _runners(plan: Plan) -> dict[str, Callable[[], object]]:
    """Each timed configuration: a step function on its own copy of the DCGAN, same weights and batches."""
    build = lambda: problems.dcgan(width=plan.width, batch_size=plan.batch, device=plan.device)  # noqa: E731
    runners: dict[str, object] = {
        "ACGD float32": Ours(build(), **PAPER, tol=1e-6),
        "CGD float32": _Closure(build(), lambda i: CGD(i.min_params, i.max_params, lr=PAPER["lr"])),
        "Adam float32": SimultaneousAdam(build(), lr=PAPER["lr"]),
        "ACGD bfloat16": _Closure(build(), lambda i: ACGD(i.min_params, i.max_params, **PAPER), torch.bfloat16),
        "ACGD float16, loss scaling": _Closure(
            build(), lambda i: ACGD(i.min_params, i.max_params, **PAPER, loss_scaling=True), torch.float16
        ),
        "CGD float16, loss scaling": _Closure(
            build(), lambda i: CGD(i.min_params, i.max_params, lr=PAPER["lr"], loss_scaling=True), torch.float16
        ),
    }
    if importlib.util.find_spec("CGDs") is not None:
        runners["cgds ACGD float32"] = Theirs(build(), CountingHvp(), **PAPER, tol=1e-6, atol=1e-10)
    return runners


class _Closure:
    """One of our optimizers on an instance, its closure under autocast to ``dtype`` when given."""

    def __init__(self, instance, make, dtype: torch.dtype | None = None) -> None:
        self.instance, self.optimizer, self.dtype = instance, make(instance), dtype

    def step(self, batch) -> None:
        def closure():
            with torch.autocast(
                self.instance_device, dtype=self.dtype or torch.float32, enabled=self.dtype is not None
            ):
                return self.instance.value(batch).float()

        self.optimizer.step(closure)

    @property
    def instance_device(self) -> str:
        return next(self.instance.generator.parameters()).device.type


def step_seconds(plan: Plan) -> dict:
    """Median seconds per step after ``plan.warmup`` steps, round robin over the configurations."""
    runners = _runners(plan)
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    batch_of = next(iter(runners.values())).instance.batch
    for step in range(plan.warmup + plan.steps):
        for name, runner in runners.items():
            elapsed, _ = timed(lambda runner=runner, step=step: runner.step(batch_of(step)), plan.device)
            if step >= plan.warmup:
                seconds[name].append(elapsed)
    adam = median(seconds["Adam float32"])
    report = {
        name: {"median_seconds": median(times), "ratio_to_adam": median(times) / adam}
        for name, times in seconds.items()
    }
    if "cgds ACGD float32" not in runners:
        report["cgds ACGD float32"] = {"skipped": "cgds is not installed (carry its wheel: docs/performance.md)"}
    return {"width": plan.width, "batch": plan.batch, "steps": plan.steps, "configurations": report}


def peak_memory(plan: Plan) -> dict:
    """``max_memory_allocated`` above the starting level during one step (after one warm-up step)."""
    if plan.device.type != "cuda":
        return {"skipped": "max_memory_allocated needs a CUDA device (the CPU's measure: benchmarks/memory_probe.py)"}
    report = {}
    for name, runner in _runners(plan).items():
        if not name.endswith("float32") or name.startswith("CGD"):
            continue
        runner.step(runner.instance.batch(0))
        with cuda_peak_memory(plan.device) as measured:
            runner.step(runner.instance.batch(1))
        report[name] = {"peak_bytes": measured["peak_bytes"], "peak_gib": measured["peak_bytes"] / 2**30}
        del runner
        torch.cuda.empty_cache()
    if "cgds ACGD float32" not in report:
        report["cgds ACGD float32"] = {"skipped": "cgds is not installed (carry its wheel: docs/performance.md)"}
    return report


def fig9_cifar10_smoke(plan: Plan) -> dict:
    """``icr_fig9wgan_cifar10`` for ``plan.fig9_iterations`` iterations on synthetic CIFAR-10 files."""
    needed = ("tomli_w", "torchvision", "matplotlib", "tqdm", "sklearn")  # the experiments extra's, as imported
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        return {"skipped": f"gan_experiments needs {', '.join(missing)} (the experiments extra; carry the wheels)"}
    from gan_experiments.cli import main

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "data"
        write_cifar10(root, per_batch=8 if plan.dry_run else 256)
        overrides = [
            f"run.steps={plan.fig9_iterations}",
            f"run.eval_every={plan.fig9_iterations}",
            f"run.checkpoint_every={plan.fig9_iterations}",
            "run.samples=256",
            "metrics.inception_samples=256",
            *(["model.width=8"] if plan.dry_run else []),
        ]
        command = ["run", "icr_fig9wgan_cifar10", "--data-root", str(root), "--out", str(Path(scratch) / "run")]
        command += ["--device", plan.device.type]
        for override in overrides:
            command += ["--set", override]
        started = time.perf_counter()
        with contextlib.redirect_stdout(None), contextlib.redirect_stderr(None):
            status = main(command)
        elapsed = time.perf_counter() - started
        metrics_file = Path(scratch) / "run" / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    numbers = {key: value for key, value in metrics.items() if isinstance(value, (int, float))}
    return {
        "exit_status": status,
        "iterations": metrics.get("step"),
        "seconds": elapsed,
        "seconds_per_iteration": elapsed / plan.fig9_iterations,
        "finite": all(value == value and abs(value) != float("inf") for value in numbers.values()),
        "metrics": numbers,
        "skipped_metrics": {key: value for key, value in metrics.items() if "skipped" in key},
    }


def nccl(plan: Plan) -> dict:
    """ACGD on two NCCL processes (one GPU each) against one process on the whole batch."""
    import torch.distributed as dist

    if plan.device.type != "cuda":
        return {"skipped": "NCCL needs CUDA devices (dry run on the CPU; tests/test_distributed.py runs gloo)"}
    if torch.cuda.device_count() < 2:
        return {"skipped": f"{torch.cuda.device_count()} GPU: a two-process NCCL run needs two"}
    if not dist.is_nccl_available():
        return {"skipped": "this torch build has no NCCL"}
    from benchmarks.nccl_ranks import compare

    return compare(steps=3)


PARTS: dict[str, Callable[[Plan], dict]] = {
    "cuda_tests": cuda_tests,
    "device_reads": device_reads,
    "step_seconds": step_seconds,
    "peak_memory": peak_memory,
    "fig9_cifar10_smoke": fig9_cifar10_smoke,
    "nccl": nccl,
}


def check(plan: Plan) -> dict:
    """Every part under its key (:data:`KEYS`), with the machine's description."""
    report = {key: guarded(PARTS[key], plan) for key in KEYS}
    report["machine"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(plan.device) if plan.device.type == "cuda" else "cpu",
        "gpus": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "dry_run": plan.dry_run,
    }
    return report


def print_table(report: dict) -> None:
    print(f"gpu_check on {report['machine']['device']} (torch {report['machine']['torch']})")
    for key in KEYS:
        part = report[key]
        if "skipped" in part or "error" in part:
            print(
                f"  {key:20s} {'skipped' if 'skipped' in part else 'ERROR'}: {part.get('skipped', part.get('error'))}"
            )
        elif key == "step_seconds":
            for name, row in part["configurations"].items():
                shown = row.get("skipped") or f"{row['median_seconds']:.4f} s  ({row['ratio_to_adam']:.2f}x Adam)"
                print(f"  {key:20s} {name:28s} {shown}")
        else:
            shown = {k: v for k, v in part.items() if not isinstance(v, (dict, list))}
            print(f"  {key:20s} {shown}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json", help="the JSON report")
    parser.add_argument("--dry-run", action="store_true", help="the same plan on the CPU at tiny sizes")
    args = parser.parse_args(argv)
    if args.dry_run:
        plan = Plan.dry()
    elif torch.cuda.is_available():
        plan = Plan(torch.device("cuda"))
    else:
        parser.error("no CUDA device: run on a GPU machine, or pass --dry-run to check the plan on the CPU")
    report = check(plan)
    Path(args.out).write_text(json.dumps(report, indent=1, default=str))
    print_table(report)
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
