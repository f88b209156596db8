"""Pictures of a 2D run: samples over the real data with discriminator contours, and metric curves.

Pure plotting: every function takes tensors or rows and a path; matplotlib's Agg backend, so
nothing needs a screen.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from .models import evaluation_mode

CURVES = (("modes_covered", "modes covered"), ("percent_high_quality", "% high quality"),
          ("kl_to_uniform", "KL to uniform"), ("mean_distance_to_real", "mean distance to real"),
          ("mean_distance_to_generated", "mean distance to generated"),
          ("inception_score", "inception score (classifier)"), ("class_entropy", "class entropy"),
          ("total_variation", "total variation to uniform"), ("classes_covered", "classes covered"),
          ("frechet_classifier_distance", "Frechet distance (classifier)"))


def pyplot():
    """matplotlib.pyplot on the Agg backend (no screen needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_bounds(real: Tensor, margin: float = 0.25) -> tuple[float, float, float, float]:
    """A square window around the real data, ``margin`` of its extent wider on every side."""
    low, high = real.min(dim=0).values, real.max(dim=0).values
    centre, half = (low + high) / 2, float((high - low).max()) / 2 * (1 + 2 * margin)
    return float(centre[0]) - half, float(centre[0]) + half, float(centre[1]) - half, float(centre[1]) + half


@torch.no_grad()
def discriminator_grid(discriminator: nn.Module, bounds: tuple[float, float, float, float],
                       resolution: int = 100) -> tuple[Tensor, Tensor, Tensor]:
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
    plt = pyplot()
    bounds = plot_bounds(real)
    figure, axes_row = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5), squeeze=False,
                                    layout="constrained")
    for axes, panel in zip(axes_row[0], panels):
        if panel.get("discriminator") is not None:
            xs, ys, values = discriminator_grid(panel["discriminator"], bounds)
            contour = axes.contourf(xs, ys, values, levels=20, cmap="viridis_r", alpha=0.45)
            figure.colorbar(contour, ax=axes, shrink=0.8, label="D output")
        axes.scatter(real[:, 0], real[:, 1], s=4, c="dimgray", label="real")
        single = len(panel["groups"]) == 1
        for label, samples in panel["groups"]:
            samples = samples.cpu()
            axes.scatter(samples[:, 0], samples[:, 1], s=4, label=label, **({"c": "tab:red"} if single else {}))
        axes.set_xlim(bounds[0], bounds[1])
        axes.set_ylim(bounds[2], bounds[3])
        axes.set_aspect("equal")
        axes.legend(fontsize=6, markerscale=2, loc="upper right")
        axes.set_title(panel["title"], fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def plot_metric_curves(rows: list[dict], path: Path, title: str = "") -> bool:
    """Each metric of :data:`CURVES` present in ``rows`` over the steps, with SGAN's ``local_``
    values (2D: the local ensemble; images: the local generators' mean) beside the global
    generator's and real held-out data's ``real_`` values dashed; False, and no file, when there is none."""
    curves = [(key, label) for key, label in CURVES if any(row.get(key) not in (None, "") for row in rows)]
    if not curves:
        return False
    plt = pyplot()
    figure, axes_row = plt.subplots(1, len(curves), figsize=(3.4 * len(curves), 3.2), squeeze=False)
    steps = [float(row["step"]) for row in rows]
    for axes, (key, label) in zip(axes_row[0], curves):
        for prefix, name, style in (("", "model (SGAN: G0)", "-"), ("local_", "local pairs", "-"),
                                    ("real_", "real held-out", "--")):
            if f"{prefix}{key}" in rows[0]:
                values = [float("nan") if row[f"{prefix}{key}"] in (None, "") else float(row[f"{prefix}{key}"])
                          for row in rows]
                axes.plot(steps, values, style, marker=".", label=name)
        axes.set_xlabel("step")
        axes.set_title(label, fontsize=9)
        axes.grid(alpha=0.3)
    axes_row[0][0].legend(fontsize=7)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return True
