"""The main job, ``python -m gan_experiments``: the Stackelberg GAN (8 generators, the official 2D
settings: Adam 2e-4, betas (0.5, 0.999), batch 64, the non-saturating loss of the official code's
BCE) against a standard GAN whose single generator has about as many parameters as the 8
together, on the 8-Gaussian ring, with the same number of steps, batch size and seed, and a
metrics table on 2,500 samples. Both runs go into run folders under ``runs/main_job/`` (replaced
each time), with their samples side by side in ``runs/main_job/samples.png``."""

from __future__ import annotations

from pathlib import Path

from .config import resolve_config
from .experiment import build, run
from .plots import pyplot, saved_figure

# The main job is the two bundled Fig. 1 configs, trained one after the other on the same seed.
MAIN_JOB_CONFIGS = {
    "Stackelberg GAN (8 generators)": "stackelberg_fig1_ring8",
    "standard GAN": "stackelberg_fig1baseline_ring8",
}
COLUMNS = [
    "model",
    "generator parameters",
    "modes covered (of 8)",
    "modes covered at 2 % (of 8)",
    "% high quality",
    "KL to uniform",
]


MAIN_JOB_FOLDER = Path("runs") / "main_job"


def main_job(
    steps: int | None = None, seed: int = 0, samples: int = 2500, *, out: str | Path = MAIN_JOB_FOLDER
) -> list[dict]:
    """Train both Fig. 1 configs (``steps`` overrides their 5,000) into run folders under ``out``
    (replaced on each run: the main job's own folder), draw their samples side by side in
    ``out/samples.png``; return one row of metrics each."""
    out, rows = Path(out), []
    for label, name in MAIN_JOB_CONFIGS.items():
        overrides = [f"run.seed={seed}", f"run.samples={samples}"] + ([f"run.steps={steps}"] if steps else [])
        config, _ = resolve_config(name, overrides)
        metrics = run(config, out / name, overwrite=True, name=name, label=label)
        parameters = sum(p.numel() for p in build(config).players.min_parameters())
        rows.append({"model": label, "generator parameters": parameters, **metrics})
    side_by_side(
        [out / name / "samples.png" for name in MAIN_JOB_CONFIGS.values()], list(MAIN_JOB_CONFIGS), out / "samples.png"
    )
    return rows


def side_by_side(pictures: list[Path], titles: list[str], path: Path) -> None:
    """One figure of the ``pictures`` (PNG files) in a row, each under its title."""
    plt = pyplot()
    with saved_figure(path, 1, len(pictures), figsize=(7 * len(pictures), 6), squeeze=False, layout="constrained") as (
        _figure,
        axes,
    ):
        for ax, picture, title in zip(axes[0], pictures, titles):
            ax.imshow(plt.imread(picture))
            ax.set_title(title, fontsize=11)
            ax.axis("off")


def format_table(rows: list[dict], seed: int) -> str:
    """The main job's table: a line of settings, a header of :data:`COLUMNS`, a row per model."""
    lines = [
        f"8 Gaussians on a ring (radius 1, std 0.01); Adam 2e-4, betas (0.5, 0.999), batch 64, "
        f"NS-GAN loss, {rows[0]['step']} steps, seed {seed}; metrics on 2,500 samples (high quality: within 3 std)"
    ]
    cells = [
        [
            row["model"],
            str(row["generator parameters"]),
            str(row["modes_covered"]),
            str(row["modes_covered_strict"]),
            f"{row['percent_high_quality']:.1f}",
            "n/a" if row["kl_to_uniform"] is None else f"{row['kl_to_uniform']:.3f}",
        ]
        for row in rows
    ]
    widths = [max(len(c[i]) for c in [COLUMNS, *cells]) for i in range(len(COLUMNS))]
    for line in [COLUMNS, *cells]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    return "\n".join(lines)
