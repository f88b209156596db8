"""``python -m gan_experiments sweep``: one run folder per seed and grid value, and a summary over
seeds (``summary.json``, ``summary.md``: each metric's mean and standard deviation)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import torch

from . import parallel
from .config import ConfigError, dumps, parse_assignment, resolve_config
from .experiment import as_run, run
from .records import RunFolder, RunFolderError
from .registry import check


def grid_points(grid: list[str]) -> list[tuple[tuple[str, str], ...]]:
    """The product of ``section.key=v1,v2,...`` specifications, as tuples of (key, TOML literal)."""
    axes = []
    for spec in grid:
        key, sep, values = spec.partition("=")
        if not sep or not values:
            raise ConfigError(f"--grid expects section.key=v1,v2,..., got {spec!r}")
        axes.append([(key.strip(), value.strip()) for value in values.split(",")])
        for value in axes[-1]:
            parse_assignment(f"{value[0]}={value[1]}", "--grid")  # a bad literal is the grid's, not --set's
    return list(itertools.product(*axes)) or [()]


def plan(config: str, grid: list[str], seeds: list[int], overrides: list[str]) -> list[tuple]:
    """(grid point, seed, (config, name)) of every run; a bad config or grid fails here, before any run."""
    plans = [
        (point, seed, resolve_config(config, overrides + [f"{k}={v}" for k, v in point] + [f"run.seed={seed}"]))
        for point in grid_points(grid)
        for seed in seeds
    ]
    for _, _, (resolved, _) in plans:
        check(resolved)
    return plans


def point_label(point: tuple) -> str:
    return ",".join(f"{k}={v}" for k, v in point) or "default"


def run_folder(out: Path, point: tuple, seed: int) -> Path:
    """``out/<grid point>/seed<N>`` (``default`` without a grid)."""
    return out / (point_label(point).replace("/", "_").replace('"', "") if point else "default") / f"seed{seed}"


def _recorded_config(folder: Path) -> str:
    """The run folder's config.toml as the current code reads it: keys added to the config since
    the run was written take their defaults (what the run used), so an older run of the same
    config still resumes; "" where there is none or it no longer reads."""
    path = folder / "config.toml"
    if not path.is_file():
        return ""
    try:
        return dumps(resolve_config(str(path), [])[0])
    except ConfigError:
        return ""


def _state(folder: Path, config, dry_run: bool) -> str:
    """ "finished", "started" or "new": what a resumed sweep finds in a run's folder; a run of
    another config there is an error."""
    if not RunFolder(folder).holds_run():
        return "new"
    if _recorded_config(folder) != dumps(as_run(config, dry_run=dry_run)[0]):
        raise RunFolderError(
            f"--resume: {folder} holds a run of another config than this sweep's; remove it, or sweep with --overwrite"
        )
    return "finished" if (folder / "metrics.json").is_file() else "started"


def sweep(
    plans: list[tuple], out: Path, *, dry_run: bool = False, overwrite: bool = False, resume: bool = False
) -> str:
    """Train every planned run into its :func:`run_folder`, write the summary; return its table.

    Runs already in ``out`` are refused, before any run starts, unless ``overwrite`` (replaced) or
    ``resume`` (finished runs are read back, a started one continues from its checkpoint, one
    stopped before its first checkpoint starts again in its folder). Ctrl-C
    writes the summary of the runs finished so far; the interrupted one keeps its checkpoint."""
    folders = [run_folder(out, point, seed) for point, seed, _ in plans]
    if resume:
        states = [_state(folder, config, dry_run) for folder, (_, _, (config, _)) in zip(folders, plans)]
    else:
        states = ["new"] * len(plans)
        for folder in folders:
            RunFolder(folder).check(resume=False, overwrite=overwrite)
    results: dict[str, list[dict]] = {}
    try:
        for k, ((point, seed, (config, name)), folder, state) in enumerate(zip(plans, folders, states)):
            label = f"{point_label(point)}, seed {seed} (run {k + 1} of {len(plans)})"
            continues, replace = RunFolder(folder).continuation() if state == "started" else (False, overwrite)
            final = (
                json.loads((folder / "metrics.json").read_text())
                if state == "finished"
                else run(
                    config,
                    folder,
                    dry_run=dry_run,
                    overwrite=replace,
                    resume=continues,
                    name=name,
                    label=label,
                )
            )
            results.setdefault(point_label(point), []).append(final)
    finally:
        table = write_summary(results, out) if results and parallel.place().writes else ""
    return table


def write_summary(results: dict[str, list[dict]], out: Path) -> str:
    """summary.json and summary.md of ``results``; returns the table."""
    summary = summarize(results)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    table = summary_table(summary)
    (out / "summary.md").write_text(table + "\n")
    return table


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
            values = torch.tensor(
                [float(row[metric]) for row in rows if isinstance(row.get(metric), (int, float))], dtype=torch.float64
            )
            entry[metric] = {
                "mean": float(values.mean()),
                "std": float(values.std(unbiased=False)),
                "n": values.numel(),
                "sum": float(values.sum()),
            }
        summary[label] = entry
    return summary


def summary_table(summary: dict) -> str:
    """The summary as a Markdown table: mean ± std (n) of each metric per grid point."""
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
