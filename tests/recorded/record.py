"""Record the results the refactors must reproduce: ``python tests/recorded/record.py OUT [--update]``.

Runs, each in its own process and through the command line, every bundled config without an
image network as ``--dry-run`` and the short runs of :data:`SHORT_RUNS`, into ``OUT/<kind>/<name>``
(run folders with their checkpoints, to compare bitwise with :func:`compare`). ``--update``
copies each run's ``metrics.json`` and resolved ``config.toml`` into this folder
(``dry/<name>/``, ``short/<name>/``), where the dry-run tests compare them at rtol 1e-6.

A change that alters a config's numbers on purpose regenerates only that config's entry,
in the same commit: ``python tests/recorded/record.py OUT --update --only NAME``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cgd_optim.competitive import SOLVER_OPTION_NAMES

HERE = Path(__file__).resolve().parent
SHORT_STEPS = ["--set", "run.steps=200", "--set", "run.eval_every=100", "--set", "run.checkpoint_every=100"]
SHORT_RUNS = {  # name: extra arguments (200 steps; the image run 100 on the bundled MNIST subset)
    "stackelberg_fig1_ring8": SHORT_STEPS,
    # the CPU-sized variant of docs/experiments.md (the config's paper settings take ~3 s an iteration)
    "sgan_fig3_ring8": [
        *SHORT_STEPS,
        "--set",
        "model.generator_hidden=128",
        "--set",
        "model.discriminator_hidden=128",
        "--set",
        "optimizer.lr=1e-3",
        "--set",
        'run.loss="nsgan"',
        "--set",
        "optimizer.critic_steps=1",
        "--set",
        "sgan.pairs=3",
        "--set",
        "sgan.messenger_steps=5",
    ],
    "proximal_ring8": SHORT_STEPS,
    "icr_fig3_quadratic": ["--set", "run.steps=200"],
    "icr_fig7_projection": ["--set", "run.steps=200"],
    "stackelberg_fig6_mnist": [
        "--set",
        "run.steps=100",
        "--set",
        "run.eval_every=50",
        "--set",
        "run.checkpoint_every=50",
        "--set",
        "run.samples=500",
        "--set",
        "model.generators=3",
    ],
}


def dry_run_names() -> list[str]:
    """Every bundled config whose data need no download and no image network (2D, ICR)."""
    from gan_experiments.cli import bundled_configs, resolve_config

    return [name for name in bundled_configs() if not resolve_config(name, [])[0].model.network]


def run(name: str, arguments: list[str], folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    command = [sys.executable, "-m", "gan_experiments", "run", name, *arguments, "--out", str(folder)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONHASHSEED": "0"})


def close(recorded, measured, rtol: float = 1e-6, path: str = "") -> list[str]:
    """The places where two metrics.json values differ beyond ``rtol`` (exact for non-floats)."""
    if isinstance(recorded, dict) and isinstance(measured, dict):
        if set(recorded) != set(measured):
            return [f"{path}: keys {sorted(set(recorded) ^ set(measured))} differ"]
        return [d for key in recorded for d in close(recorded[key], measured[key], rtol, f"{path}.{key}")]
    if isinstance(recorded, list) and isinstance(measured, list):
        if len(recorded) != len(measured):
            return [f"{path}: lengths {len(recorded)} and {len(measured)}"]
        return [d for i, (a, b) in enumerate(zip(recorded, measured)) for d in close(a, b, rtol, f"{path}[{i}]")]
    if isinstance(recorded, float) or isinstance(measured, float):
        if (
            isinstance(recorded, (int, float))
            and isinstance(measured, (int, float))
            and (
                math.isclose(recorded, measured, rel_tol=rtol, abs_tol=1e-12)
                or (math.isnan(recorded) and math.isnan(measured))
            )
        ):
            return []
        return [f"{path}: {recorded!r} != {measured!r}"]
    return [] if recorded == measured else [f"{path}: {recorded!r} != {measured!r}"]


# Layout changes made on purpose, applied to the earlier recording before the comparison: the
# session's players were saved under "framework"; CGD / ACGD kept their solver options (tol, atol,
# max_iter, ...) in both param groups, now ``optimizer.solver_options``.
RENAMED_KEYS = {"framework": "players"}


def in_current_layout(saved):
    """A checkpoint written before the layout changes above, in today's layout (a new object)."""
    if isinstance(saved, dict):
        if "player" in saved and "params" in saved:  # a two-player optimizer's param group
            return {k: v for k, v in saved.items() if k not in SOLVER_OPTION_NAMES}
        return {RENAMED_KEYS.get(k, k): in_current_layout(v) for k, v in saved.items()}
    if isinstance(saved, list):
        return [in_current_layout(v) for v in saved]
    return saved


def compare(before: Path, after: Path) -> list[str]:
    """Bitwise comparison of two record folders: metrics.json equal, checkpoints with the same keys
    and ``torch.equal`` tensors (the earlier one read :func:`in_current_layout`)."""
    import torch

    from cgd_optim.testing import state_differences

    problems = []
    for metrics in sorted(before.glob("*/*/metrics.json")):
        folder = metrics.parent.relative_to(before)
        other = after / folder
        if json.loads(metrics.read_text()) != json.loads((other / "metrics.json").read_text()):
            problems.append(f"{folder}: metrics.json differs")
        if (before / folder / "checkpoint.pt").exists():
            a = in_current_layout(torch.load(before / folder / "checkpoint.pt", weights_only=False))
            b = torch.load(other / "checkpoint.pt", weights_only=False)
            problems += [f"{folder}: checkpoint {p}" for p in state_differences(a, b, "")]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where the run folders go")
    parser.add_argument("--update", action="store_true", help="copy metrics.json and config.toml into tests/recorded")
    parser.add_argument("--only", nargs="+", help="these configs only")
    parser.add_argument("--compare", type=Path, metavar="BEFORE", help="compare OUT bitwise with an earlier OUT")
    args = parser.parse_args()
    if args.compare:
        problems = compare(args.compare, args.out)
        print("\n".join(problems) or "identical: every metrics.json and every checkpoint tensor")
        return 1 if problems else 0
    plans = [("dry", name, ["--dry-run"]) for name in dry_run_names()] + [
        ("short", name, arguments) for name, arguments in SHORT_RUNS.items()
    ]
    for kind, name, arguments in plans:
        if args.only and name not in args.only:
            continue
        folder = args.out / kind / name
        run(name, arguments, folder)
        print(f"{kind} {name}", flush=True)
        if args.update:
            target = HERE / kind / name
            target.mkdir(parents=True, exist_ok=True)
            for file in ("metrics.json", "config.toml"):
                shutil.copy(folder / file, target / file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
