r"""ICR Fig. 9 at our scale: the table, the verdict and the panels of a grid of runs.

Schäfer, Zheng & Anandkumar (2020), "Implicit competitive regularization in GANs", Sec. 6, Fig. 9:
ACGD on the WGAN loss without regularisation against Adam with a gradient penalty (WGAN-GP) or
spectral normalisation (WGAN-SN), with the unregularised OGAN loss beside them. A grid is a folder
of sweeps, one per arm, named after the arm's config (``icr_fig9<arm>_<data>/``, as the commands of
docs/experiments.md write them), each holding ``default/seed<N>/metrics.csv``.

The readout of a run is the mean of its last :data:`READOUT_EVALUATIONS` evaluations; an arm's
spread is max - min of its readouts over the seeds; comparing two arms, the margin to beat is the
larger of their spreads. :func:`verdict` applies the rule docs/experiments.md states, on the
seeds every compared arm has (at least :data:`MIN_SEEDS`). The long-horizon grid
(``icr_fig9<arm>_mnistlong``) adds the game-aware rivals ExtraAdam and OptimisticAdam as arms
(compared with ACGD beside the verdict, whose rule they do not change), the plateau rule its
horizon was chosen by (:func:`flat_horizon`), the divergence rule (:func:`divergence`) and the
critic's curves (:func:`draw_critic`).
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from ..records import read_rows

READOUT_EVALUATIONS = 5
MIN_SEEDS = 3  # the protocol's seeds 0-2
SCORE, DISTANCE = "inception_score", "frechet_classifier_distance"
ARMS = {  # the part of the config name after "icr_fig9": (label, model, optimizer)
    "wganoutside": ("WGAN-NOREG+ACGD (authors' eps)", "WGAN-NOREG", "ACGD"),
    "wgan": ("WGAN-NOREG+ACGD (Algorithm 1's eps)", "WGAN-NOREG", "ACGD"),
    "wganadam": ("WGAN-NOREG+Adam", "WGAN-NOREG", "Adam"),
    "baseline": ("WGAN-GP+Adam", "WGAN-GP", "Adam"),
    "sn": ("WGAN-SN+Adam", "WGAN-SN", "Adam"),
    "ogan": ("OGAN-NOREG+ACGD (authors' eps)", "OGAN-NOREG", "ACGD"),
    "oganadam": ("OGAN-NOREG+Adam (log trick)", "OGAN-NOREG", "Adam"),
    "extraadam": ("WGAN-NOREG+ExtraAdam", "WGAN-NOREG", "ExtraAdam"),
    "optimisticadam": ("WGAN-NOREG+OptimisticAdam", "WGAN-NOREG", "OptimisticAdam"),
}
RIVALS = ("extraadam", "optimisticadam")  # the game-aware first-order arms on ACGD's unregularised loss
PLATEAU_TOLERANCE = 0.03  # a curve has flattened when it changes by less than this over the last quarter
CRITIC = ("critic_real", "critic_fake", "generator_gradient_norm")  # run.critic_diagnostics' columns
PLACEMENTS = {"wganoutside": "the authors' eps placement", "wgan": "Algorithm 1's eps placement"}
DIFFERENCES = (("wganoutside", "wganadam"), ("wgan", "wganadam"), ("ogan", "oganadam"))  # ACGD - Adam per model


def arm_name(folder: Path) -> str | None:
    """The arm of a sweep folder ``icr_fig9<arm>_<data>`` (None: not an arm of the grid)."""
    stem, _, data = folder.name.removeprefix("icr_fig9").rpartition("_")
    return stem if folder.name.startswith("icr_fig9") and data and stem in ARMS else None


def load_grid(folder: Path) -> dict[str, dict[int, list[dict]]]:
    """arm -> seed -> the run's metrics.csv rows (numbers as floats), for every finished evaluation."""
    grid: dict[str, dict[int, list[dict]]] = {}
    for sweep in sorted(p for p in Path(folder).iterdir() if p.is_dir() and arm_name(p)):
        for run in sorted((sweep / "default").glob("seed*")):
            rows = [_numbers(row) for row in read_rows(run / "metrics.csv")]
            if rows:
                grid.setdefault(arm_name(sweep), {})[int(run.name.removeprefix("seed"))] = rows
    return grid


def _numbers(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            out[key] = value
    return out


def readout(rows: list[dict], key: str) -> float:
    """The mean of ``key`` over the last :data:`READOUT_EVALUATIONS` evaluations of a run."""
    return statistics.fmean(row[key] for row in rows[-READOUT_EVALUATIONS:])


def readouts(runs: dict[int, list[dict]]) -> dict[int, dict[str, float]]:
    """seed -> the readout of the inception score and of the Frechet distance."""
    return {seed: {SCORE: readout(rows, SCORE), DISTANCE: readout(rows, DISTANCE)} for seed, rows in runs.items()}


def smoothed_score(rows: list[dict], end: int) -> float:
    """The inception score averaged over the :data:`READOUT_EVALUATIONS` evaluations ending at
    row ``end`` (fewer at the start of a run)."""
    return statistics.fmean(row[SCORE] for row in rows[max(0, end - READOUT_EVALUATIONS + 1) : end + 1])


def last_quarter_change(rows: list[dict], horizon: float | None = None) -> float:
    r"""How much a run's smoothed inception score changed over the last quarter of its first
    ``horizon`` iterations (all of them by default):
    :math:`|S(H) - S(\tfrac34 H)| / S(\tfrac34 H)`, with S the mean of the
    :data:`READOUT_EVALUATIONS` evaluations ending at that step (the last evaluation at or before it)."""
    horizon = rows[-1]["step"] if horizon is None else horizon
    end = max(i for i, row in enumerate(rows) if row["step"] <= horizon)
    quarter = max(i for i, row in enumerate(rows) if row["step"] <= 0.75 * horizon)
    then = smoothed_score(rows, quarter)
    return abs(smoothed_score(rows, end) - then) / then


def flat_horizon(runs: list[list[dict]], minimum: int, tolerance: float = PLATEAU_TOLERANCE) -> int | None:
    """The first evaluated step H of at least ``minimum`` at which every run's smoothed inception
    score changed by less than ``tolerance`` (relative) over [3H/4, H]; None where none did."""
    common = sorted(set.intersection(*({int(row["step"]) for row in rows} for rows in runs)))
    for horizon in (h for h in common if h >= minimum):
        if all(last_quarter_change(rows, horizon) < tolerance for rows in runs):
            return horizon
    return None


def divergence(rows: list[dict]) -> int | None:
    """The first evaluated step at which a run has diverged (None: it has not): its inception score
    below half the highest it reached up to then, or any logged number non-finite."""
    peak = -math.inf
    for row in rows:
        if any(isinstance(v, float) and not math.isfinite(v) for v in row.values()):
            return int(row["step"])
        peak = max(peak, row[SCORE])
        if row[SCORE] < peak / 2:
            return int(row["step"])
    return None


def spread(values: dict[int, dict[str, float]], key: str) -> float:
    """max - min of ``key`` over the seeds."""
    numbers = [v[key] for v in values.values()]
    return max(numbers) - min(numbers)


def _ahead(a: dict, b: dict, key: str, seeds: list[int], sign: float = 1.0) -> list[bool]:
    """Per seed: is ``a`` ahead of ``b`` on ``key`` (higher for sign +1, lower for -1) by more than the margin?"""
    margin = max(spread(a, key), spread(b, key))
    return [sign * (a[s][key] - b[s][key]) > margin for s in seeds]


def verdict(acgd: dict, gp: dict, sn: dict, control: dict) -> tuple[str, str]:
    """("reproduced" | "refuted" | "inconclusive", the sentence saying why) for one ACGD arm; each
    argument maps seed -> :func:`readouts`' values (docs/experiments.md states the rule)."""
    seeds = sorted(set(acgd) & set(gp) & set(sn) & set(control))
    beats = {name: _ahead(acgd, arm, SCORE, seeds) for name, arm in (("WGAN-GP", gp), ("WGAN-SN", sn))}
    closer = all(all(_ahead(acgd, arm, DISTANCE, seeds, -1.0)) for arm in (gp, sn))
    over_control = all(_ahead(acgd, control, SCORE, seeds))
    behind = {name: sum(_ahead(arm, acgd, SCORE, seeds)) for name, arm in (("WGAN-GP", gp), ("WGAN-SN", sn))}
    needed = math.ceil(2 * len(seeds) / 3)
    if all(all(b) for b in beats.values()) and closer and over_control:
        return "reproduced", (
            f"in all {len(seeds)} seeds the unregularised WGAN trained by ACGD scores above WGAN-GP and WGAN-SN "
            "with Adam and below them in Frechet distance, each by more than the spread, and above the "
            "unregularised Adam control"
        )
    ahead = [f"{name} in {n} of {len(seeds)} seeds" for name, n in behind.items() if n >= needed]
    if ahead:
        return "refuted", (
            "a regularised Adam arm scores above the unregularised WGAN trained by ACGD by more than the spread: "
            + "; ".join(ahead)
        )
    wins = " and ".join(f"above {name} in {sum(b)} of {len(seeds)} seeds" for name, b in beats.items())
    control = "it scores above" if over_control else "it does not score above"
    return "inconclusive", (
        f"by more than the spread, the unregularised WGAN trained by ACGD scores {wins}; its Frechet distance "
        f"is {'' if closer else 'not '}below both in every seed; {control} the unregularised Adam control in every "
        "seed; no regularised Adam arm is ahead in two thirds of the seeds"
    )


def summary(grid: dict[str, dict[int, list[dict]]]) -> dict:
    """Per arm its readouts, spreads, peaks, iterations and cost; the verdict per eps placement."""
    values = {arm: readouts(runs) for arm, runs in grid.items()}
    arms = {arm: _arm_summary(arm, grid[arm], values[arm]) for arm in ARMS if arm in grid}
    return {
        "arms": arms,
        "verdicts": {placement: _placement_verdict(placement, values) for placement in PLACEMENTS},
        "rivals": {
            rival: _rival_comparison(values["wganoutside"], values[rival])
            for rival in RIVALS
            if rival in values and "wganoutside" in values
        },
    }


def _rival_comparison(acgd: dict, rival: dict) -> dict:
    """In how many of the shared seeds ACGD (the authors' eps) scores above a game-aware rival by more
    than the spread, and the rival above ACGD (beside the verdict, which its rule does not change)."""
    seeds = sorted(set(acgd) & set(rival))
    return {
        "seeds": len(seeds),
        "acgd_ahead": sum(_ahead(acgd, rival, SCORE, seeds)),
        "rival_ahead": sum(_ahead(rival, acgd, SCORE, seeds)),
    }


def _placement_verdict(placement: str, values: dict) -> dict:
    """The verdict of the ACGD arm ``placement``, or none with the reason (an arm or a seed missing)."""
    compared = (placement, "baseline", "sn", "wganadam")
    missing = [arm for arm in compared if arm not in values]
    seeds = set.intersection(*(set(values[arm]) for arm in compared if arm in values))
    if missing or len(seeds) < MIN_SEEDS:
        why = (
            f"arms missing: {', '.join(missing)}" if missing else f"{len(seeds)} seeds in every arm, {MIN_SEEDS} needed"
        )
        return {"placement": PLACEMENTS[placement], "verdict": None, "why": why}
    outcome, why = verdict(*({s: values[arm][s] for s in seeds} for arm in compared))
    return {"placement": PLACEMENTS[placement], "verdict": outcome, "why": why}


def _arm_summary(arm: str, runs: dict[int, list[dict]], values: dict[int, dict]) -> dict:
    last = [rows[-1] for rows in runs.values()]
    return {
        "label": ARMS[arm][0],
        "seeds": sorted(runs),
        "readout": {str(seed): v for seed, v in values.items()},
        "mean": {key: statistics.fmean(v[key] for v in values.values()) for key in (SCORE, DISTANCE)},
        "spread": {key: spread(values, key) for key in (SCORE, DISTANCE)},
        "peak_inception_score": statistics.fmean(max(r[SCORE] for r in rows) for rows in runs.values()),
        "peaks": {str(seed): max(r[SCORE] for r in rows) for seed, rows in runs.items()},
        "last_quarter_change": {str(seed): last_quarter_change(rows) for seed, rows in runs.items()},
        "diverged_at": {str(seed): divergence(rows) for seed, rows in runs.items()},
        "lowest_frechet_distance": statistics.fmean(min(r[DISTANCE] for r in rows) for rows in runs.values()),
        "iterations": statistics.fmean(r["step"] for r in last),
        "seconds": statistics.fmean(r.get("seconds", math.nan) for r in last),
        "gradient_evaluations": statistics.fmean(r.get("gradient_evaluations", math.nan) for r in last),
    }


def table(result: dict) -> str:
    """The summary as a Markdown table, then one line per verdict."""
    lines = [
        "| arm | IS readout per seed | IS mean (spread) | peak IS per seed | FD readout per seed | FD mean (spread) "
        "| lowest FD | change over the last quarter | diverged at | iterations | training s | gradient evaluations |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm in result["arms"].values():
        per_seed = {
            key: " / ".join(f"{v[key]:.{digits}f}" for v in arm["readout"].values())
            for key, digits in ((SCORE, 2), (DISTANCE, 1))
        }
        peaks = " / ".join(f"{v:.2f}" for v in arm["peaks"].values())
        changes = " / ".join(f"{100 * v:.1f} %" for v in arm["last_quarter_change"].values())
        diverged = " / ".join("-" if v is None else str(v) for v in arm["diverged_at"].values())
        mean, spread_ = arm["mean"], arm["spread"]
        lines.append(
            f"| {arm['label']} | {per_seed[SCORE]} | {mean[SCORE]:.2f} ({spread_[SCORE]:.2f}) "
            f"| {peaks} | {per_seed[DISTANCE]} | {mean[DISTANCE]:.1f} ({spread_[DISTANCE]:.1f}) "
            f"| {arm['lowest_frechet_distance']:.1f} | {changes} | {diverged} | {arm['iterations']:.0f} "
            f"| {arm['seconds']:.0f} | {arm['gradient_evaluations']:.0f} |"
        )
    lines.append("")
    for entry in result["verdicts"].values():
        lines.append(f"{entry['placement']}: {entry['verdict'] or 'no verdict'} ({entry['why']})")
    for rival, entry in result.get("rivals", {}).items():
        lines.append(
            f"{ARMS['wganoutside'][0]} against {ARMS[rival][0]}: ahead by more than the spread in "
            f"{entry['acgd_ahead']} of {entry['seeds']} seeds, behind in {entry['rival_ahead']}"
        )
    return "\n".join(lines)


def mean_curve(
    runs: dict[int, list[dict]], x: str, y: str
) -> tuple[list[float], list[float], list[float], list[float]]:
    """(x, mean y, min y, max y) over the seeds, evaluation by evaluation (as many as the shortest run has)."""
    length = min(len(rows) for rows in runs.values())
    columns = list(zip(*(rows[:length] for rows in runs.values())))
    xs = [statistics.fmean(row[x] for row in column) for column in columns]
    ys = [[row[y] for row in column] for column in columns]
    return xs, [statistics.fmean(v) for v in ys], [min(v) for v in ys], [max(v) for v in ys]


AXES = (("step", "iterations"), ("gradient_evaluations", "gradient evaluations"), ("seconds", "training seconds"))


def draw(grid: dict[str, dict[int, list[dict]]], path: Path, samples: Path | None = None) -> None:
    """Fig. 9's panels at our scale: inception score (top) and Frechet distance (bottom) against
    iterations, gradient evaluations and training seconds (mean over seeds, min-max band), the
    ACGD - Adam inception-score difference per model, and ``samples`` (an image file) when given."""
    from ..plots import group_colours, saved_figure

    colours = dict(zip(ARMS, group_colours(len(ARMS))))
    with saved_figure(path, 2, 4, figsize=(22, 9), tight=True) as (_figure, axes):
        for row, (metric, name) in enumerate(((SCORE, "inception score (classifier)"), (DISTANCE, "Frechet distance"))):
            for column, (x, label) in enumerate(AXES):
                ax = axes[row][column]
                for arm in (a for a in ARMS if a in grid):
                    xs, mean, low, high = mean_curve(grid[arm], x, metric)
                    ax.plot(xs, mean, marker=".", color=colours[arm], label=ARMS[arm][0])
                    ax.fill_between(xs, low, high, color=colours[arm], alpha=0.15)
                ax.set(xlabel=label, ylabel=name)
        axes[0][0].legend(fontsize=8)
        _draw_differences(axes[0][3], grid, colours)
        _draw_samples(axes[1][3], samples)


def _draw_differences(ax, grid, colours) -> None:
    for acgd, adam in DIFFERENCES:
        if acgd in grid and adam in grid:
            xs, ours, _, _ = mean_curve(grid[acgd], "step", SCORE)
            _, theirs, _, _ = mean_curve(grid[adam], "step", SCORE)
            differences = [a - b for a, b in zip(ours, theirs)]  # as many evaluations as both arms have
            ax.plot(xs[: len(differences)], differences, marker=".", color=colours[acgd], label=ARMS[acgd][0])
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="iterations", ylabel="IS(ACGD) - IS(Adam), same model", title="ACGD - Adam per model")
    ax.legend(fontsize=8)


def _draw_samples(ax, samples: Path | None) -> None:
    ax.axis("off")
    if samples is not None and Path(samples).exists():
        from ..plots import pyplot

        ax.imshow(pyplot().imread(samples))
        ax.set_title(f"samples: {samples.parent.parent.parent.name}, {samples.parent.name}")


def draw_critic(grid: dict[str, dict[int, list[dict]]], path: Path) -> bool:
    """The runaway panels of the arms that logged ``run.critic_diagnostics``: the critic's mean
    output on a fixed real (solid) and generated (dashed) batch, their gap (the WGAN critic's
    estimate of the distance) and the generator's gradient norm, against iterations (mean over
    seeds, min-max band). False, and nothing drawn, where no arm logged them."""
    from ..plots import group_colours, saved_figure

    arms = [a for a in ARMS if a in grid and all(CRITIC[0] in rows[0] for rows in grid[a].values())]
    if not arms:
        return False
    colours = dict(zip(ARMS, group_colours(len(ARMS))))
    grid = {
        arm: {
            seed: [{**row, "critic_gap": row["critic_real"] - row["critic_fake"]} for row in rows]
            for seed, rows in grid[arm].items()
        }
        for arm in arms
    }
    panels = (
        (("critic_real", "-"), ("critic_fake", "--")),
        (("critic_gap", "-"),),
        (("generator_gradient_norm", "-"),),
    )
    titles = ("critic's mean output: real (solid), generated (dashed)", "real - generated", "generator's gradient norm")
    with saved_figure(path, 1, 3, figsize=(19, 5), tight=True) as (_figure, axes):
        for ax, lines, title in zip(axes, panels, titles):
            for arm in arms:
                for key, style in lines:
                    xs, mean, low, high = mean_curve(grid[arm], "step", key)
                    label = ARMS[arm][0] if style == "-" else None
                    ax.plot(xs, mean, style, color=colours[arm], label=label)
                    ax.fill_between(xs, low, high, color=colours[arm], alpha=0.12)
            ax.set(xlabel="iterations", title=title)
            ax.grid(alpha=0.3)
        axes[0].set_yscale("symlog")
        axes[1].set_yscale("symlog")
        axes[2].set_yscale("log")
        axes[0].legend(fontsize=8)
    return True


def draw_samples(folder: Path, grid: dict, path: Path, seed: int = 0) -> None:
    """One panel per arm: the ``samples.png`` its run of ``seed`` wrote."""
    from ..plots import pyplot, saved_figure

    arms = [a for a in ARMS if a in grid]
    with saved_figure(path, 1, len(arms), figsize=(3.2 * len(arms), 3.6), tight=True, squeeze=False) as (_f, axes):
        for ax, arm in zip(axes[0], arms):
            ax.axis("off")
            image = next(Path(folder).glob(f"icr_fig9{arm}_*/default/seed{seed}/samples.png"), None)
            if image is not None:
                ax.imshow(pyplot().imread(image))
            ax.set_title(ARMS[arm][0], fontsize=9)


def summarise(folder: Path, figure: Path | None = None, samples_figure: Path | None = None) -> tuple[dict, str]:
    """(the summary, its table) of the grid in ``folder``; writes ``fig9.json``, the panels
    (``figure``, default ``folder/fig9.png``), the arms' samples (default ``folder/fig9_samples.png``)
    and, where runs logged them, the critic's panels (``folder/fig9_critic.png``)."""
    folder = Path(folder)
    grid = load_grid(folder)
    if not grid:
        raise FileNotFoundError(f"{folder} holds no run of an ICR Fig. 9 arm (icr_fig9<arm>_<data>/default/seed<N>/)")
    result = summary(grid)
    (folder / "fig9.json").write_text(json.dumps(result, indent=1))
    headline = next(folder.glob("icr_fig9wganoutside_*/default/seed0/samples.png"), None)
    draw(grid, Path(figure or folder / "fig9.png"), headline)
    draw_samples(folder, grid, Path(samples_figure or folder / "fig9_samples.png"))
    draw_critic(grid, folder / "fig9_critic.png")
    return result, table(result)
