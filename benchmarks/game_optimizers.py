"""What one step of every optimizer of the package costs on the ICR DCGAN benchmark game, side by
side with simultaneous Adam, in one process.

Every optimizer steps its own copy of the game (identical weights at the start) on the same batch,
in round-robin order within each step, so that a machine's drift touches all alike; each step is
timed alone (the device drained before and after). Reported per optimizer: the median seconds per
step after ``--warmup`` steps, the ratio to Adam's, the closure evaluations (each a gradient of
both players) and the Hessian-vector products per step (``step_stats["hvp_count"]``: CGD / ACGD's
mixed products, the double-backward passes of LCGD, SGA and ConOpt).

    python -m benchmarks.game_optimizers --out benchmarks/results/game_optimizers_cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks.acgd_vs_cgds import SimultaneousAdam
from benchmarks.measure import median, timed
from benchmarks.problems import dcgan
from cgd_optim import (
    ACGD,
    CGD,
    LCGD,
    OGDA,
    SGA,
    ConOpt,
    ExtraAdam,
    ExtraSGD,
    OptimisticAdam,
    ProximalMinimax,
    SimGD,
)

LR = 1e-4  # ICR Table 3's learning rate, for every optimizer


def proximal(instance) -> ProximalMinimax:
    """Farnia & Ozdaglar's proximal training around two Adams (its defaults: 20 inner steps)."""
    return ProximalMinimax(
        instance.discriminator,
        min_optimizer=torch.optim.Adam(instance.min_params, lr=LR, betas=(0.5, 0.999)),
        max_optimizer=torch.optim.Adam(instance.max_params, lr=LR, betas=(0.5, 0.999)),
        penalty="parameter",
    )


OPTIMIZERS: dict[str, Callable] = {
    "Adam (simultaneous)": lambda i: SimultaneousAdam(i, LR),
    "SimGD": lambda i: SimGD(i.min_params, i.max_params, lr=LR),
    "OGDA": lambda i: OGDA(i.min_params, i.max_params, lr=LR),
    "OptimisticAdam": lambda i: OptimisticAdam(i.min_params, i.max_params, lr=LR, betas=(0.5, 0.9)),
    "ExtraSGD": lambda i: ExtraSGD(i.min_params, i.max_params, lr=LR),
    "ExtraAdam": lambda i: ExtraAdam(i.min_params, i.max_params, lr=LR, betas=(0.5, 0.9)),
    "LCGD": lambda i: LCGD(i.min_params, i.max_params, lr=LR),
    "SGA": lambda i: SGA(i.min_params, i.max_params, lr=LR),
    "ConOpt": lambda i: ConOpt(i.min_params, i.max_params, lr=LR),
    "CGD": lambda i: CGD(i.min_params, i.max_params, lr=LR),
    "ACGD": lambda i: ACGD(i.min_params, i.max_params, lr=LR),
    "ProximalMinimax (20 inner Adam steps)": proximal,
}


def one_step(name: str, optimizer, instance, batch) -> tuple[int, int]:
    """Step ``optimizer`` once on ``batch``; (closure evaluations, Hessian-vector products)."""
    calls = []

    def closure():
        calls.append(1)
        return instance.value(batch)

    if name.startswith("Adam"):
        optimizer.step(batch)
        return 1, 0
    if name.startswith("ProximalMinimax"):
        optimizer.step(closure, batch[0])
        return len(calls), 0
    optimizer.step(closure)
    return len(calls), int(optimizer.step_stats.get("hvp_count", 0))


def measure(width: int, batch_size: int, steps: int, warmup: int, device: torch.device) -> dict:
    """Per optimizer: seconds of each timed step, evaluations and products per step."""
    runs = {}
    for name, make in OPTIMIZERS.items():
        instance = dcgan(width=width, batch_size=batch_size, device=device)
        runs[name] = {"instance": instance, "optimizer": make(instance), "seconds": [], "evaluations": [], "hvps": []}
    for step in range(warmup + steps):
        for name, run in runs.items():
            batch = run["instance"].batch(step)
            seconds, (evaluations, hvps) = timed(
                lambda run=run, name=name, batch=batch: one_step(name, run["optimizer"], run["instance"], batch), device
            )
            if step >= warmup:
                run["seconds"].append(seconds)
                run["evaluations"].append(evaluations)
                run["hvps"].append(hvps)
    adam = median(runs["Adam (simultaneous)"]["seconds"])
    return {
        name: {
            "median_seconds": median(run["seconds"]),
            "ratio_to_adam": median(run["seconds"]) / adam,
            "evaluations_per_step": median(run["evaluations"]),
            "hvps_per_step": median(run["hvps"]),
            "seconds": run["seconds"],
        }
        for name, run in runs.items()
    }


def print_table(report: dict) -> None:
    settings = report["settings"]
    print(
        f"ICR DCGAN width {settings['width']}, batch {settings['batch']}, {settings['steps']} timed steps after "
        f"{settings['warmup']}, {report['machine']['device']} ({report['machine']['threads']} threads)"
    )
    print(f"{'optimizer':40s} {'s/step':>8s} {'x Adam':>7s} {'evals':>6s} {'HVPs':>6s}")
    for name, row in report["steps"].items():
        print(
            f"{name:40s} {row['median_seconds']:8.3f} {row['ratio_to_adam']:7.2f} "
            f"{row['evaluations_per_step']:6g} {row['hvps_per_step']:6g}"
        )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=32, help="the DCGAN's channel width (Tables 4-5: 64)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per optimizer")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (the solvers' warm starts settle)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="benchmarks/results/game_optimizers_cpu.json")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    report = {
        "settings": {"width": args.width, "batch": args.batch, "steps": args.steps, "warmup": args.warmup, "lr": LR},
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "device": str(device),
            "threads": torch.get_num_threads(),
        },
        "steps": measure(args.width, args.batch, args.steps, args.warmup, device),
    }
    print_table(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out}")
    return report


if __name__ == "__main__":
    main()
