"""Command line of gan_experiments.

``python -m gan_experiments`` with no arguments runs the embedded default: the Stackelberg GAN
(8 generators, the official 2D settings: Adam 2e-4, betas (0.5, 0.999), batch 64, the
non-saturating loss of the official code's BCE) against a standard GAN whose single generator
has about as many parameters as the 8 together, on the 8-Gaussian ring, with the same number
of steps, batch size and seed, and prints a metrics table on 2,500 samples. The ``list``,
``run`` and ``sweep`` commands of the frameworks issue are not built yet.
"""

from __future__ import annotations

import sys

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        print("usage: python -m gan_experiments   (the list, run and sweep commands are not built yet)", file=sys.stderr)
        return 2
    rows = main_job()
    print(format_table(rows, MAIN_JOB_STEPS, 0))
    return 0
