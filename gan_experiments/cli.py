"""Command line of gan_experiments.

``python -m gan_experiments`` with no arguments runs the embedded default: the Stackelberg GAN
(8 generators, the official 2D settings: Adam 2e-4, betas (0.5, 0.999), batch 64, the
non-saturating loss of the official code's BCE) against a standard GAN whose single generator
has about as many parameters as the 8 together, on the 8-Gaussian ring, with the same number
of steps, batch size and seed, and prints a metrics table on 2,500 samples.

    python -m gan_experiments list
    python -m gan_experiments run CONFIG [--set section.key=VALUE ...] [--device cpu|cuda] [--seed N]
                                         [--data-root DIR [--download]] [--inception-weights PATH|download]
                                         [--out DIR] [--resume] [--dry-run]

    python -m gan_experiments sweep CONFIG --seeds 0 1 2 [--grid section.key=v1,v2,...] [--set ...] [--out DIR]
    python -m gan_experiments equilibrium-test CHECKPOINT [--steps N] [--lam L] [--inner-steps T] [--out DIR]

CONFIG is a name from ``list`` or a path to a TOML file. A sweep runs one run folder per seed
and grid value (grid values are TOML literals separated by commas) and writes ``summary.json``
and ``summary.md`` (mean and standard deviation over seeds) beside them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from importlib import resources
from pathlib import Path

import torch


# The main job is the two bundled Fig. 1 configs, trained one after the other on the same seed.
MAIN_JOB_CONFIGS = {"Stackelberg GAN (8 generators)": "stackelberg_fig1_ring8",
                    "standard GAN": "stackelberg_fig1baseline_ring8"}
COLUMNS = ["model", "generator parameters", "modes covered (of 8)", "modes covered at 2 % (of 8)",
           "% high quality", "KL to uniform"]


def main_job(steps: int | None = None, seed: int = 0, samples: int = 2500) -> list[dict]:
    """Train both Fig. 1 configs (``steps`` overrides their 5,000); return one row of metrics each."""
    from tqdm import tqdm

    from .build import build_trainer
    from .experiment import evaluate

    rows = []
    for label, name in MAIN_JOB_CONFIGS.items():
        overrides = [f"run.seed={seed}", f"run.samples={samples}"] + ([f"run.steps={steps}"] if steps else [])
        config, _ = resolve_config(name, overrides)
        trainer = build_trainer(config)
        for _ in tqdm(range(config.run.steps), desc=label, file=sys.stderr, leave=False, mininterval=1.0):
            trainer.train_step()
        metrics = evaluate(config, trainer.framework, trainer.step_count)
        parameters = sum(p.numel() for p in trainer.framework.min_parameters())
        rows.append({"model": label, "generator parameters": parameters, **metrics})
    return rows


def format_table(rows: list[dict], seed: int) -> str:
    lines = [f"8 Gaussians on a ring (radius 1, std 0.01); Adam 2e-4, betas (0.5, 0.999), batch 64, "
             f"NS-GAN loss, {rows[0]['step']} steps, seed {seed}; metrics on 2,500 samples (high quality: within 3 std)"]
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


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", help="image data: torchvision's folders under DIR (overrides data.root)")
    parser.add_argument("--inception-weights", metavar="PATH", help="FID / Inception Score: torch-fidelity's "
                        "Inception weights file, or 'download' (needs internet); overrides metrics.inception_weights")


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
    _add_data_options(run)
    run.add_argument("--download", action="store_true", help="image data: download into --data-root (needs internet)")
    run.add_argument("--out", help="the run folder (default: a new folder under runs/)")
    run.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    run.add_argument("--dry-run", action="store_true", help="a few steps end to end: data, training, metrics, picture, checkpoint")
    test = commands.add_parser("equilibrium-test", help="freeze D and optimize G alone on V and on the proximal "
                               "objective (Farnia & Ozdaglar Sec. 2, 6.1)")
    test.add_argument("checkpoint", help="a run folder this project wrote, or its checkpoint.pt")
    test.add_argument("--steps", type=int, default=200, help="generator steps of each test (default 200)")
    test.add_argument("--lam", type=float, default=0.1, help="lambda of the proximal objective (default 0.1)")
    test.add_argument("--inner-steps", type=int, default=50, help="Adam steps per proximal solve (default 50)")
    test.add_argument("--out", help="output folder (default: RUN_FOLDER/equilibrium_test)")
    sweep = commands.add_parser("sweep", help="one run per seed and grid value, and a summary over seeds")
    sweep.add_argument("config", help="a NAME from `list` or a path to a TOML config")
    sweep.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="run seeds (default 0 1 2)")
    sweep.add_argument("--grid", action="append", default=[], metavar="section.key=v1,v2,...",
                       help="values to sweep, TOML literals separated by commas (repeatable: the product is run)")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="section.key=VALUE",
                       help="override a config value with a TOML literal (repeatable)")
    sweep.add_argument("--out", help="the sweep folder (default: a new folder under runs/)")
    _add_data_options(sweep)
    sweep.add_argument("--dry-run", action="store_true", help="a few steps per run")
    return parser


def _numeric_metrics(rows: list[dict]) -> list[str]:
    """Metric keys with a number (or a flag) in some row, in first-seen order; ``step`` excluded."""
    keys: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if key != "step" and isinstance(value, (int, float)):
                keys.setdefault(key)
    return list(keys)


def summarize(results: dict[str, list[dict]]) -> dict:
    """Per grid point, each numeric metric's mean, standard deviation and count over seeds (None
    values skipped); a flag's mean is the share of seeds where it holds and ``sum`` their number."""
    summary = {}
    for label, rows in results.items():
        entry = {"runs": len(rows)}
        for metric in _numeric_metrics(rows):
            values = torch.tensor([float(row[metric]) for row in rows if isinstance(row.get(metric), (int, float))],
                                  dtype=torch.float64)
            entry[metric] = {"mean": float(values.mean()), "std": float(values.std(unbiased=False)),
                             "n": values.numel(), "sum": float(values.sum())}
        summary[label] = entry
    return summary


def summary_table(summary: dict) -> str:
    metrics = list(dict.fromkeys(key for entry in summary.values() for key in entry if key != "runs"))
    header = ["grid point", "runs", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, entry in summary.items():
        cells = [label, str(entry["runs"])]
        for metric in metrics:
            value = entry.get(metric)
            cells.append("n/a" if value is None else f"{value['mean']:.3g} ± {value['std']:.2g} (n={value['n']})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _data_overrides(args) -> list[str]:
    """``--data-root DIR`` and ``--inception-weights PATH`` as the ``--set`` assignments they stand for."""
    return ([f"data.root={json.dumps(args.data_root)}"] if args.data_root else []) + (
        [f"metrics.inception_weights={json.dumps(args.inception_weights)}"] if args.inception_weights else [])


def _sweep(args) -> int:
    import itertools

    from .config import ConfigError
    from .experiment import run

    try:
        axes = []
        for spec in args.grid:
            key, sep, values = spec.partition("=")
            if not sep or not values:
                raise ConfigError(f"--grid expects section.key=v1,v2,..., got {spec!r}")
            axes.append([(key.strip(), value.strip()) for value in values.split(",")])
        points = list(itertools.product(*axes)) or [()]
        overrides = args.overrides + _data_overrides(args)
        plans = [(point, seed, resolve_config(args.config, overrides + [f"{k}={v}" for k, v in point]
                                              + [f"run.seed={seed}"])) for point in points for seed in args.seeds]
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    name = plans[0][2][1]
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path("runs") / f"{name}-sweep-{stamp}"
    from .data.images import DataNotFoundError

    results: dict[str, list[dict]] = {}
    for point, seed, (config, _) in plans:
        label = ",".join(f"{k}={v}" for k, v in point) or "default"
        folder = out / (label.replace("/", "_").replace('"', "") if point else "default") / f"seed{seed}"
        try:
            results.setdefault(label, []).append(run(config, folder, dry_run=args.dry_run))
        except DataNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    summary = summarize(results)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    table = summary_table(summary)
    (out / "summary.md").write_text(table + "\n")
    print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .config import ConfigError

    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(format_table(main_job(), 0))
        return 0
    args = _parser().parse_args(argv)
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "equilibrium-test":
        from .equilibrium import equilibrium_test

        try:
            print(json.dumps(equilibrium_test(args.checkpoint, steps=args.steps, lam=args.lam,
                                              inner_steps=args.inner_steps, out=args.out)))
        except (FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
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
        overrides += _data_overrides(args)
        if args.download:
            overrides.append("data.download=true")
        config, name = resolve_config(args.config, overrides)
        if args.resume and not args.out:
            raise ConfigError("--resume needs --out, the run folder to continue")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from .experiment import run

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path("runs") / f"{name}-seed{config.run.seed}-{stamp}"
    from .data.images import DataNotFoundError

    try:
        final = run(config, out, resume=args.resume, dry_run=args.dry_run)
    except DataNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: checkpoint saved in {out}; continue with --resume --out {out}", file=sys.stderr)
        return 130
    print(json.dumps(final))
    print(f"run folder: {out}", file=sys.stderr)
    return 0
