"""Command line of gan_experiments: parses, then hands over to the module that does the work.

``python -m gan_experiments`` with no arguments runs the embedded default (main_job.py): the
Stackelberg GAN (8 generators, the official 2D settings) against a standard GAN of as many
generator parameters on the 8-Gaussian ring, and prints a metrics table on 2,500 samples.

    python -m gan_experiments list
    python -m gan_experiments run CONFIG [--set section.key=VALUE ...] [--device cpu|cuda] [--seed N]
                                         [--data-root DIR [--download]] [--inception-weights PATH|download]
                                         [--out DIR] [--overwrite] [--dry-run]
    python -m gan_experiments run [CONFIG] --resume --out DIR [--set run.steps=N ...]

    python -m gan_experiments sweep CONFIG --seeds 0 1 2 [--grid section.key=v1,v2,...] [--set ...] [--out DIR]
    python -m gan_experiments equilibrium-test CHECKPOINT [--steps N] [--lam L] [--inner-steps T] [--out DIR]
    python -m gan_experiments fig9 FOLDER [--figure PNG] [--samples PNG]

CONFIG is a name from ``list`` or a path to a TOML file. ``--resume`` continues the run in DIR
under the config it recorded (``config.toml``); ``--set`` may then change only
:data:`RESUMABLE` keys. A folder that holds a run is never overwritten without ``--overwrite``. A sweep runs one run
folder per seed
and grid value (grid values are TOML literals separated by commas) and writes ``summary.json``
and ``summary.md`` (mean and standard deviation over seeds) beside them (sweep.py). ``fig9`` reads
a folder of ICR Fig. 9 sweeps (one per arm config) and prints the table and verdicts (icr/fig9.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from .config import bundled_configs, resolve_config
from .errors import ConfigError, DataNotFoundError, RunFolderError


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", help="image data: torchvision's folders under DIR (overrides data.root)")
    parser.add_argument(
        "--inception-weights",
        metavar="PATH",
        help="FID / Inception Score: torch-fidelity's "
        "Inception weights file, or 'download' (needs internet); overrides metrics.inception_weights",
    )


def _add_sweep(commands) -> None:
    sweep = commands.add_parser("sweep", help="one run per seed and grid value, and a summary over seeds")
    sweep.add_argument("config", help="a NAME from `list` or a path to a TOML config")
    sweep.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="run seeds (default 0 1 2)")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="section.key=v1,v2,...",
        help="values to sweep, TOML literals separated by commas (repeatable: the product is run)",
    )
    sweep.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="section.key=VALUE",
        help="override a config value with a TOML literal (repeatable)",
    )
    sweep.add_argument("--out", help="the sweep folder (default: a new folder under runs/)")
    sweep.add_argument("--overwrite", action="store_true", help="replace the runs already in --out (deletes them)")
    sweep.add_argument(
        "--resume",
        action="store_true",
        help=(
            "continue the sweep in --out: finished runs are kept, an interrupted one continues from its "
            "checkpoint (one stopped before its first checkpoint starts again)"
        ),
    )
    sweep.add_argument("--device", choices=["cpu", "cuda"], help="overrides run.device")
    _add_data_options(sweep)
    sweep.add_argument("--dry-run", action="store_true", help="a few steps per run")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gan_experiments", description="Without a command: the Stackelberg vs standard GAN main job."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="print the bundled configs, one per line: NAME description")
    _add_run(commands)
    _add_equilibrium_test(commands)
    _add_sweep(commands)
    _add_fig9(commands)
    return parser


def _add_fig9(commands) -> None:
    fig9 = commands.add_parser(
        "fig9", help="ICR Fig. 9's table, verdicts and panels from a folder of icr_fig9<arm>_<data> sweeps"
    )
    fig9.add_argument("folder", help="the folder holding one sweep folder per arm (named after its config)")
    fig9.add_argument("--figure", help="the panels' PNG (default FOLDER/fig9.png)")
    fig9.add_argument("--samples", help="each arm's seed-0 samples side by side (default FOLDER/fig9_samples.png)")


def _add_run(commands) -> None:
    run = commands.add_parser("run", help="train one config into a run folder")
    run.add_argument(
        "config",
        nargs="?",
        help="a NAME from `list` or a path to a TOML config (with --resume: "
        "optional, the run folder's own config is used)",
    )
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="section.key=VALUE",
        help="override a config value with a TOML literal (repeatable)",
    )
    run.add_argument("--device", choices=["cpu", "cuda"], help="overrides run.device")
    run.add_argument("--seed", type=int, help="overrides run.seed")
    _add_data_options(run)
    run.add_argument("--download", action="store_true", help="image data: download into --data-root (needs internet)")
    run.add_argument("--out", help="the run folder (default: a new folder under runs/)")
    run.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its checkpoint, under its own config.toml"
    )
    run.add_argument("--overwrite", action="store_true", help="replace the run already in --out (deletes it)")
    run.add_argument(
        "--dry-run", action="store_true", help="a few steps end to end: data, training, metrics, picture, checkpoint"
    )


def _add_equilibrium_test(commands) -> None:
    test = commands.add_parser(
        "equilibrium-test",
        help="freeze D and optimize G alone on V and on the proximal objective (Farnia & Ozdaglar Sec. 2, 6.1)",
    )
    test.add_argument("checkpoint", help="a run folder this project wrote, or its checkpoint.pt")
    test.add_argument("--steps", type=int, default=200, help="generator steps of each test (default 200)")
    test.add_argument("--lam", type=float, default=0.1, help="lambda of the proximal objective (default 0.1)")
    test.add_argument("--inner-steps", type=int, default=50, help="Adam steps per proximal solve (default 50)")
    test.add_argument("--out", help="output folder (default: RUN_FOLDER/equilibrium_test)")


def _data_overrides(args) -> list[str]:
    """``--data-root DIR`` and ``--inception-weights PATH`` as the ``--set`` assignments they stand for."""
    return ([f"data.root={json.dumps(args.data_root)}"] if args.data_root else []) + (
        [f"metrics.inception_weights={json.dumps(args.inception_weights)}"] if args.inception_weights else []
    )


def _stamp() -> str:
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def _list(args) -> int:
    for name, path in bundled_configs().items():
        print(f"{name} {' '.join(resolve_config(str(path), [])[0].run.description.split())}")
    return 0


def _equilibrium_test(args) -> int:
    from .equilibrium import equilibrium_test

    try:
        summary = equilibrium_test(
            args.checkpoint, steps=args.steps, lam=args.lam, inner_steps=args.inner_steps, out=args.out
        )
    except (FileNotFoundError, ValueError) as error:  # no run folder, or one without a discriminator
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


def _sweep(args) -> int:
    from . import parallel
    from .experiment import join_group
    from .sweep import plan, sweep

    if args.resume and not args.out:
        raise ConfigError("--resume needs --out, the sweep folder to continue")
    device = [f'run.device="{args.device}"'] if args.device else []
    plans = plan(args.config, args.grid, args.seeds, args.overrides + device + _data_overrides(args))
    join_group(plans[0][2][0])  # under torchrun: every run of the sweep trains with all the processes
    out = parallel.agreed(Path(args.out) if args.out else Path("runs") / f"{plans[0][2][1]}-sweep-{_stamp()}")
    try:
        table = sweep(plans, out, dry_run=args.dry_run, overwrite=args.overwrite, resume=args.resume)
    except KeyboardInterrupt:
        print(
            f"interrupted: the finished runs' summary is in {out}; continue with the same command, adding "
            f"--resume --out {out}",
            file=sys.stderr,
        )
        return 130
    if parallel.place().writes:
        print(table)
    return 0


def _run_overrides(args) -> list[str]:
    """The ``--set`` assignments with those that ``--seed``, ``--device``, the data options stand for."""
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"run.seed={args.seed}")
    if args.device is not None:
        overrides.append(f'run.device="{args.device}"')
    overrides += _data_overrides(args)
    return overrides + (["data.download=true"] if args.download else [])


RESUMABLE = ("run.steps", "run.eval_every", "run.checkpoint_every", "run.device")  # --set with --resume


def _resumed_config(args):
    """(config, name) of the run in ``--out``: its config.toml with the ``RESUMABLE`` overrides."""
    from .config import load, with_overrides
    from .records import RunFolder

    folder = RunFolder(args.out)
    folder.check(resume=True, overwrite=False)
    recorded = folder.record().get("config", "")
    if args.config:
        given = resolve_config(args.config, [])[1]
        if recorded and given != recorded:
            raise ConfigError(
                f"--resume: {args.out} holds a run of {recorded!r}, not {given!r}; give that config or "
                "none (the folder's config.toml is used)"
            )
    overrides = _run_overrides(args)
    for assignment in overrides:
        key = assignment.partition("=")[0].strip()
        if key not in RESUMABLE:
            raise ConfigError(
                f"--resume: {key} would change the run being continued; only {', '.join(RESUMABLE)} "
                "may change (start a new run for other settings)"
            )
    return with_overrides(load(folder.path / "config.toml"), overrides), recorded or (args.config or "")


def _run(args) -> int:
    from . import parallel
    from .experiment import join_group, run
    from .registry import check

    if args.resume and not args.out:
        raise ConfigError("--resume needs --out, the run folder to continue")
    if not args.resume and not args.config:
        raise ConfigError("run needs CONFIG, a NAME from `python -m gan_experiments list` or a TOML file")
    config, name = _resumed_config(args) if args.resume else resolve_config(args.config, _run_overrides(args))
    config = join_group(check(config))  # under torchrun; nothing happens otherwise
    out = parallel.agreed(Path(args.out) if args.out else Path("runs") / f"{name}-seed{config.run.seed}-{_stamp()}")
    try:
        final = run(config, out, resume=args.resume, dry_run=args.dry_run, overwrite=args.overwrite, name=name)
    except KeyboardInterrupt:
        print(
            f"interrupted: checkpoint saved in {out}; continue with: python -m gan_experiments run --resume "
            f"--out {out}",
            file=sys.stderr,
        )
        return 130
    if parallel.place().writes:
        print(json.dumps(final))
        print(f"run folder: {out}", file=sys.stderr)
    return 0


def _fig9(args) -> int:
    from .icr.fig9 import summarise

    try:
        _result, table = summarise(Path(args.folder), args.figure, args.samples)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(table)
    return 0


COMMANDS = {"list": _list, "run": _run, "sweep": _sweep, "equilibrium-test": _equilibrium_test, "fig9": _fig9}


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit code (2 for a config, data or checkpoint the run cannot use)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from .main_job import MAIN_JOB_FOLDER, format_table, main_job

        print(format_table(main_job(), 0))
        print(
            f"run folders: {MAIN_JOB_FOLDER}/ (both models' samples side by side: {MAIN_JOB_FOLDER / 'samples.png'})",
            file=sys.stderr,
        )
        return 0
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, DataNotFoundError, RunFolderError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        _leave_group()


def _leave_group() -> None:
    """Under torchrun, leave the process group a training command joined. Commands that train import
    gan_experiments.parallel (and torch); the others (``list``) import neither, and have no group."""
    parallel = sys.modules.get("gan_experiments.parallel")
    if parallel is not None:
        parallel.stop()
