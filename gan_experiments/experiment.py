"""From a config to a trained run folder: build the run's objects, fit, finish.

A run folder holds ``config.toml`` (the resolved config), ``metrics.csv`` (one row per
evaluation), ``metrics.json`` (the final evaluation), ``checkpoint.pt`` (written every
``run.checkpoint_every`` steps, at the end and on Ctrl-C), ``samples.png`` (samples over the
real data with the discriminator's contours, or an image grid), ``curves.png`` (metrics over the
steps) and, when the tensorboard package is installed, ``tensorboard/`` event files. What a
framework leaves besides (the ICR runs' tables and figures) is its registry entry's ``finish``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from . import parallel
from .config import Config, ConfigError, dumps, with_overrides
from .frameworks import FRAMEWORKS
from .records import RunFolder
from .registry import check
from .trainer import Trainer


def build(config: Config):
    """The run of ``config`` (a :class:`~gan_experiments.contracts.Run`): the config checked
    against the registries (:func:`~gan_experiments.registry.check`), then its framework's
    registry entry built (data source, players, optimizers, batch streams); missing data or a bad
    combination fails here, before any folder."""
    return FRAMEWORKS[check(config).run.framework].build(config)


def as_run(config: Config, *, dry_run: bool = False) -> tuple[Config, int]:
    """(the config that runs, its steps): a dry run's is shrunk by its framework (at most 3 steps, each
    operation's cost timed once)."""
    check(config)
    if not dry_run:
        return config, config.run.steps
    steps = min(config.run.steps, 3)
    return with_overrides(
        config,
        [f"run.steps={steps}", "run.cost_repeats=1", *FRAMEWORKS[config.run.framework].dry_run_overrides(config)],
    ), steps


def check_device(device: str) -> None:
    """A CUDA device must exist before anything is built or written."""
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"run.device = {device!r}: this machine has no CUDA device (torch.cuda.is_available() is "
            "False); use --device cpu"
        )


def join_group(config: Config) -> Config:
    """Under torchrun: join the process group and return the config with this rank's device
    (``cuda:LOCAL_RANK`` for CUDA); a global batch that does not divide by the world size is an
    error before anything is built. Without torchrun: the config as it is."""
    device = parallel.resolve_device(config.run.device)
    check_device(device)
    here = parallel.start(device, config.run.timeout_s)
    if config.run.batch_size % here.world:
        raise ConfigError(
            f"run.batch_size = {config.run.batch_size} does not divide by the {here.world} processes: "
            "it is the global batch, each rank takes an equal slice"
        )
    return config if device == config.run.device else with_overrides(config, [f'run.device="{device}"'])


def run(
    config: Config,
    out: str | Path,
    *,
    resume: bool = False,
    dry_run: bool = False,
    overwrite: bool = False,
    name: str = "",
    label: str | None = None,
) -> dict:
    """Train ``config`` (the bundled or file config ``name``) into the run folder ``out``; return the
    final metrics. ``dry_run``: at most 3 steps, evaluated after each, on what the framework's dry
    run shrinks (config.toml and run.json say so). A folder holding a run is continued with
    ``resume`` or replaced with ``overwrite``, never silently reused. ``label``: the progress bar's
    (default: the folder's name). Under torchrun rank 0 writes and evaluates, every rank loads a
    resumed checkpoint, and a group restarted by ``--max-restarts`` resumes from the last one."""
    config, steps = as_run(join_group(config), dry_run=dry_run)
    folder, here = RunFolder(out), parallel.place()
    if parallel.restarted():  # torchrun --max-restarts: continue from the last checkpoint, or start again
        resume, overwrite = folder.continuation()
    folder.check(resume=resume, overwrite=overwrite)
    built = build(config)
    resumed_at = built.restore(folder) if resume else None
    if here.writes:
        _prepare(folder, config, overwrite and not resume, name, dry_run, steps, resumed_at)
    parallel.wait()  # the folder exists before any rank goes on

    def fit(session, evaluate) -> None:
        Trainer(
            session,
            folder=folder if here.writes else None,
            evaluate=evaluate,
            eval_every=config.run.eval_every,
            checkpoint_every=config.run.checkpoint_every,
            wait=parallel.wait,
            progress=here.writes,
        ).fit(steps, evaluate_every_step=dry_run, label=label)

    built.train(fit)
    final = built.finish(folder, steps) if here.writes else {}
    parallel.wait()
    return parallel.agreed(final)


def _prepare(
    folder: RunFolder, config: Config, replace: bool, name: str, dry_run: bool, steps: int, resumed_at: int | None
) -> None:
    """Rank 0's part before training: the folder, config.toml, run.json; a resumed log loses the
    rows after the checkpoint's step (logged before a crash)."""
    folder.create(overwrite=replace)
    (folder.path / "config.toml").write_text(dumps(config))
    folder.write_record({"config": name or folder.record().get("config", ""), "dry_run": dry_run, "steps": steps})
    if resumed_at is not None:
        folder.keep_rows_through(resumed_at)
