"""Pictures of a 2D run: samples over the real data with discriminator contours, and metric curves.

Pure plotting: every function takes tensors or rows and a path; matplotlib's Agg backend, so
nothing needs a screen.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch import Tensor, nn

from .models import evaluation_mode

CURVES = (
    ("modes_covered", "modes covered"),
    ("percent_high_quality", "% high quality"),
    ("kl_to_uniform", "KL to uniform"),
    ("mean_distance_to_real", "mean distance to real"),
    ("mean_distance_to_generated", "mean distance to generated"),
    ("inception_score", "inception score (classifier)"),
    ("class_entropy", "class entropy"),
    ("total_variation", "total variation to uniform"),
    ("classes_covered", "classes covered"),
    ("frechet_classifier_distance", "Frechet distance (classifier)"),
)


REAL_COLOUR = "dimgray"


def group_colours(n: int) -> list:
    """``n`` colours for the groups of a picture, none of them a grey (the real data's colour):
    tab10 without its grey for up to 9 groups, tab20 without its two greys for up to 18, then hues."""
    import matplotlib

    if n <= 9:
        palette = [c for i, c in enumerate(matplotlib.colormaps["tab10"].colors) if i != 7]
    elif n <= 18:
        palette = [c for i, c in enumerate(matplotlib.colormaps["tab20"].colors) if i not in (14, 15)]
    else:
        palette = [matplotlib.colormaps["hsv"](k / n) for k in range(n)]
    return palette[:n]


def pyplot():
    """matplotlib.pyplot on the Agg backend (no screen needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextlib.contextmanager
def saved_figure(path, *grid: int, tight: bool = False, **subplots):
    """``with saved_figure(path, rows, columns, figsize=...) as (figure, axes):`` draws into a new
    figure (``plt.subplots(*grid, **subplots)``) that is saved to ``path`` at 110 dpi when the
    block ends (``tight``: cropped to what was drawn) and closed whatever happens."""
    plt = pyplot()
    figure, axes = plt.subplots(*grid, **subplots)
    try:
        yield figure, axes
        figure.savefig(path, dpi=110, **({"bbox_inches": "tight"} if tight else {}))
    finally:
        plt.close(figure)


def plot_bounds(real: Tensor, margin: float = 0.25) -> tuple[float, float, float, float]:
    """A square window around the real data, ``margin`` of its extent wider on every side."""
    low, high = real.min(dim=0).values, real.max(dim=0).values
    centre, half = (low + high) / 2, float((high - low).max()) / 2 * (1 + 2 * margin)
    return float(centre[0]) - half, float(centre[0]) + half, float(centre[1]) - half, float(centre[1]) + half


@torch.no_grad()
def discriminator_grid(
    discriminator: nn.Module, bounds: tuple[float, float, float, float], resolution: int = 100
) -> tuple[Tensor, Tensor, Tensor]:
    """(xs, ys, D(x, y)) on a ``resolution`` x ``resolution`` grid over ``bounds``, for contour plots."""
    device = next(discriminator.parameters()).device
    xs = torch.linspace(bounds[0], bounds[1], resolution)
    ys = torch.linspace(bounds[2], bounds[3], resolution)
    grid_x, grid_y = torch.meshgrid(xs, ys, indexing="xy")
    points = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1).to(device)
    with evaluation_mode(discriminator):  # spectral norm's power iteration must not advance for a picture
        values = discriminator(points).reshape(resolution, resolution).cpu()
    return grid_x, grid_y, values


def plot_panels(real: Tensor, panels: list[dict], path: Path, title: str = "") -> None:
    """One square panel per entry of ``panels``: {"title", "groups": [(label, samples)],
    "discriminator": module or None}; real data in grey, one colour per group, D's contours behind."""
    bounds = plot_bounds(real)
    with saved_figure(
        path, 1, len(panels), figsize=(6 * len(panels), 5), squeeze=False, layout="constrained", tight=True
    ) as (figure, axes_row):
        for axes, panel in zip(axes_row[0], panels):
            if panel.get("discriminator") is not None:
                xs, ys, values = discriminator_grid(panel["discriminator"], bounds)
                contour = axes.contourf(xs, ys, values, levels=20, cmap="viridis_r", alpha=0.45)
                figure.colorbar(contour, ax=axes, shrink=0.8, label="D output")
            axes.scatter(real[:, 0], real[:, 1], s=4, c=REAL_COLOUR, label="real")
            single = len(panel["groups"]) == 1
            colours = ["tab:red"] if single else group_colours(len(panel["groups"]))
            for (label, samples), colour in zip(panel["groups"], colours):
                samples = samples.cpu()
                axes.scatter(samples[:, 0], samples[:, 1], s=4, label=label, color=colour)
            axes.set_xlim(bounds[0], bounds[1])
            axes.set_ylim(bounds[2], bounds[3])
            axes.set_aspect("equal")
            axes.legend(fontsize=6, markerscale=2, loc="upper right")
            axes.set_title(panel["title"], fontsize=9)
        if title:
            figure.suptitle(title, fontsize=10)


def _series(rows: list[dict], key: str) -> list[float]:
    return [float("nan") if row.get(key) in (None, "") else float(row[key]) for row in rows]


def metric_curves_figure(rows: list[dict], title: str = ""):
    """The figure of :func:`plot_metric_curves`, or None when ``rows`` have no metric to draw."""
    curves = [(key, label) for key, label in CURVES if any(row.get(key) not in (None, "") for row in rows)]
    objective = "f_min" in rows[0] and "f_max" in rows[0]
    if not curves and not objective:
        return None
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    figure, axes_row = plt.subplots(
        1, len(curves) + objective, figsize=(3.4 * (len(curves) + objective), 3.2), squeeze=False
    )
    steps = [float(row["step"]) for row in rows]
    model = "G0" if any(key.startswith("local_") for key in rows[0]) else "model"  # SGAN: G0 beside its local pairs
    for axes, (key, label) in zip(axes_row[0], curves):
        for prefix, name, style in (("", model, "-"), ("local_", "local pairs", "-"), ("real_", "real held-out", "--")):
            if f"{prefix}{key}" in rows[0]:
                axes.plot(steps, _series(rows, f"{prefix}{key}"), style, marker=".", label=name)
        axes.set_title(label, fontsize=9)
    if objective:  # what the optimizer saw: the generator's objective and the discriminator's
        axes = axes_row[0][-1]
        axes.plot(steps, _series(rows, "f_min"), marker=".", label="f_min (generator)")
        axes.plot(steps, _series(rows, "f_max"), "--", marker=".", label="f_max (discriminator)")
        axes.set_title("objective at the evaluated steps", fontsize=9)
        axes.legend(fontsize=7)
    for axes in axes_row[0]:
        axes.set_xlabel("step")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers, also in tiny runs
        axes.grid(alpha=0.3)
    if curves:
        axes_row[0][0].legend(fontsize=7)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def plot_metric_curves(rows: list[dict], path: Path, title: str = "") -> bool:
    """Each metric of :data:`CURVES` present in ``rows`` over the steps, with SGAN's ``local_``
    values (2D: the local ensemble; images: the local generators' mean) beside G0's and the real
    held-out data's ``real_`` values dashed, and f_min / f_max in a last panel; False, and no
    file, when there is nothing to draw."""
    figure = metric_curves_figure(rows, title)
    if figure is None:
        return False
    try:
        figure.savefig(path, dpi=110, bbox_inches="tight")
    finally:
        pyplot().close(figure)
    return True
