"""Command line of gan_experiments.

``python -m gan_experiments`` with no arguments runs the embedded default: the Stackelberg GAN
(8 generators, the official 2D settings: Adam 2e-4, betas (0.5, 0.999), batch 64, the
non-saturating loss of the official code's BCE) against a standard GAN whose single generator
has about as many parameters as the 8 together, on the 8-Gaussian ring, with the same number
of steps, batch size and seed, and prints a metrics table on 2,500 samples.

    python -m gan_experiments list
    python -m gan_experiments run CONFIG [--set section.key=VALUE ...] [--device cpu|cuda] [--seed N]
                                         [--out DIR] [--resume] [--dry-run]

CONFIG is a name from ``list`` or a path to a TOML file. The ``sweep`` command is not built yet.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from importlib import resources
from pathlib import Path

import torch

from .data import ring
from .frameworks import StackelbergGAN, StandardGAN
from .metrics import mode_statistics
from .models import GeneratorMixture, stackelberg_discriminator, stackelberg_generator
from .trainer import AdamPair, Trainer

MAIN_JOB_STEPS = 5000  # the official code runs 200 epochs of 8,000 points (25,000 steps)
COLUMNS = ["model", "generator parameters", "modes covered (of 8)", "modes covered at 2 % (of 8)",
           "% high quality", "KL to uniform"]


def _count(parameters) -> int:
    return sum(p.numel() for p in parameters)


def main_job_models(seed: int) -> dict:
    """The two games of the main job, built from ``seed``."""
    torch.manual_seed(seed)
    stackelberg = StackelbergGAN(GeneratorMixture([stackelberg_generator() for _ in range(8)], latent_dim=2),
                                 stackelberg_discriminator(), loss="nsgan")
    # one generator of the official shape, 259 hidden units: 1,297 parameters against 8 x 162 = 1,296
    standard = StandardGAN(stackelberg_generator(hidden=259), stackelberg_discriminator(), latent_dim=2, loss="nsgan")
    return {"Stackelberg GAN (8 generators)": stackelberg, "standard GAN": standard}


def main_job(steps: int = MAIN_JOB_STEPS, seed: int = 0, samples: int = 2500) -> list[dict]:
    """Train both models on the same data, seed and budget; return one row of metrics each."""
    from tqdm import tqdm

    mixture = ring()
    rows = []
    for name, game in main_job_models(seed).items():
        trainer = Trainer(game, AdamPair(game.min_parameters(), game.max_parameters(), lr=2e-4, betas=(0.5, 0.999)),
                          mixture.sample, batch_size=64, seed=seed)
        for _ in tqdm(range(steps), desc=name, file=sys.stderr, leave=False, mininterval=1.0):
            trainer.train_step()
        stats = mode_statistics(game.sample(samples, torch.Generator().manual_seed(seed + 2)), mixture.centres, mixture.std)
        rows.append({"model": name, "generator parameters": _count(game.min_parameters()), **stats})
    return rows


def format_table(rows: list[dict], steps: int, seed: int) -> str:
    lines = [f"8 Gaussians on a ring (radius 1, std 0.01); Adam 2e-4, betas (0.5, 0.999), batch 64, "
             f"NS-GAN loss, {steps} steps, seed {seed}; metrics on 2,500 samples (high quality: within 3 std)"]
    cells = [[row["model"], str(row["generator parameters"]), str(row["modes_covered"]),
              str(row["modes_covered_strict"]), f"{row['percent_high_quality']:.1f}",
              "n/a" if row["kl_to_uniform"] is None else f"{row['kl_to_uniform']:.3f}"] for row in rows]
    widths = [max(len(c[i]) for c in [COLUMNS, *cells]) for i in range(len(COLUMNS))]
    for line in [COLUMNS, *cells]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    return "\n".join(lines)


def bundled_configs() -> dict[str, Path]:
    """NAME -> path of every TOML file shipped in gan_experiments/configs."""
    folder = Path(str(resources.files("gan_experiments") / "configs"))
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def resolve_config(name_or_path: str, overrides: list[str]):
    from .config import ConfigError, load, with_overrides

    known = bundled_configs()
    if name_or_path in known:
        path = known[name_or_path]
    elif Path(name_or_path).is_file():
        path = Path(name_or_path)
    else:
        raise ConfigError(f"no bundled config named {name_or_path!r} and no such file (see `python -m gan_experiments list`)")
    return with_overrides(load(path), overrides), path.stem


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_experiments",
                                     description="Without a command: the Stackelberg vs standard GAN main job.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="print the bundled configs, one per line: NAME description")
    run = commands.add_parser("run", help="train one config into a run folder")
    run.add_argument("config", help="a NAME from `list` or a path to a TOML config")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="section.key=VALUE",
                     help="override a config value with a TOML literal (repeatable)")
    run.add_argument("--device", choices=["cpu", "cuda"], help="overrides run.device")
    run.add_argument("--seed", type=int, help="overrides run.seed")
    run.add_argument("--out", help="the run folder (default: a new folder under runs/)")
    run.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    run.add_argument("--dry-run", action="store_true", help="a few steps end to end: data, training, metrics, picture, checkpoint")
    return parser


def main(argv: list[str] | None = None) -> int:
    from .config import ConfigError

    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        rows = main_job()
        print(format_table(rows, MAIN_JOB_STEPS, 0))
        return 0
    args = _parser().parse_args(argv)
    if args.command == "list":
        for name, path in bundled_configs().items():
            description = " ".join(resolve_config(str(path), [])[0].run.description.split())
            print(f"{name} {description}")
        return 0
    try:
        overrides = list(args.overrides)
        if args.seed is not None:
            overrides.append(f"run.seed={args.seed}")
        if args.device is not None:
            overrides.append(f'run.device="{args.device}"')
        config, name = resolve_config(args.config, overrides)
        if args.resume and not args.out:
            raise ConfigError("--resume needs --out, the run folder to continue")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from .experiment import run

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path("runs") / f"{name}-seed{config.run.seed}-{stamp}"
    try:
        final = run(config, out, resume=args.resume, dry_run=args.dry_run)
    except KeyboardInterrupt:
        print(f"interrupted: checkpoint saved in {out}; continue with --resume --out {out}", file=sys.stderr)
        return 130
    print(json.dumps(final))
    print(f"run folder: {out}", file=sys.stderr)
    return 0
