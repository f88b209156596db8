"""From a config to a trained run folder: the objects, the loop's cadences, the files.

A run folder holds ``config.toml`` (the resolved config), ``metrics.csv`` (one row per
evaluation), ``metrics.json`` (the final evaluation), ``checkpoint.pt`` (written every
``run.checkpoint_every`` steps, at the end and on Ctrl-C) and ``samples.png``.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import torch

from cgd_optim import ACGD, CGD, SimGD

from . import data as datasets
from .config import Config, dumps
from .frameworks import StackelbergGAN, StandardGAN
from .metrics import generator_mode_histograms, mode_statistics
from .models import GeneratorMixture, MultiBranchGenerator, stackelberg_discriminator, stackelberg_generator
from .trainer import AdamPair, Trainer


def build_mixture(config: Config):
    """The data set: a Gaussian mixture (with centres for the mode metrics) or the Swiss roll (None)."""
    d = config.data
    if d.name in ("ring", "circle"):
        return datasets.ring(d.modes, d.radius, d.std)
    if d.name == "grid":
        return datasets.grid(std=d.std)
    return None


def build_sampler(config: Config):
    mixture = build_mixture(config)
    if mixture is not None:
        return mixture.sample
    d = config.data

    def swiss(n: int, generator: torch.Generator) -> torch.Tensor:
        return datasets.swiss_roll(n, d.noise, d.scale, seed=int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))

    return swiss


def build_framework(config: Config):
    m, loss = config.model, dict(loss=config.run.loss, gp_weight=config.loss.gp_weight, l2=config.loss.l2)
    torch.manual_seed(config.run.seed)
    discriminator = stackelberg_discriminator()
    if config.run.framework == "stackelberg":
        generators = [stackelberg_generator(m.latent_dim, m.generator_hidden, m.output_scale) for _ in range(m.generators)]
        return StackelbergGAN(GeneratorMixture(generators, m.latent_dim), discriminator, **loss)
    if config.run.framework == "multibranch":
        return StandardGAN(MultiBranchGenerator(m.generators, m.latent_dim, output_scale=m.output_scale),
                           discriminator, m.latent_dim, **loss)
    return StandardGAN(stackelberg_generator(m.latent_dim, m.generator_hidden, m.output_scale), discriminator,
                       m.latent_dim, **loss)


def build_optimizer(config: Config, framework):
    o, mins, maxs = config.optimizer, framework.min_parameters(), framework.max_parameters()
    if config.run.optimizer == "adam":
        return AdamPair(mins, maxs, lr=o.lr, betas=tuple(o.betas))
    if config.run.optimizer == "acgd":
        return ACGD(mins, maxs, lr=o.lr, beta=o.beta, eps=o.eps, tol=o.tol, max_iter=o.max_iter)
    if config.run.optimizer == "cgd":
        return CGD(mins, maxs, lr=o.lr, tol=o.tol, max_iter=o.max_iter)
    return SimGD(mins, maxs, lr=o.lr, alternating=o.alternating)


def build_trainer(config: Config) -> Trainer:
    """The framework on its device, its optimizer and the data sampler, in one trainer."""
    framework = build_framework(config).to(config.run.device)
    return Trainer(framework, build_optimizer(config, framework), build_sampler(config),
                   batch_size=config.run.batch_size, seed=config.run.seed, device=config.run.device)


def evaluate(config: Config, framework, step: int) -> dict:
    """Mode metrics on ``run.samples`` samples (mixtures only), with per-generator histograms."""
    mixture = build_mixture(config)
    row = {"step": step}
    if mixture is None:
        return row
    generator = torch.Generator().manual_seed(config.run.seed + 2)
    stats = mode_statistics(framework.sample(config.run.samples, generator), mixture.centres, mixture.std)
    row.update({key: stats[key] for key in ("modes_covered", "modes_covered_strict", "percent_high_quality",
                                            "kl_to_uniform")})
    if isinstance(framework, StackelbergGAN):
        per_generator = framework.sample_by_generator(config.run.samples // config.model.generators, generator)
        row["generator_modes"] = generator_mode_histograms(per_generator, mixture.centres, mixture.std)
    return row


def save_checkpoint(trainer: Trainer, path: Path) -> None:
    """Write atomically: a crash while saving never leaves a truncated checkpoint."""
    partial = path.with_suffix(".partial")
    torch.save(trainer.state_dict(), partial)
    os.replace(partial, path)


def plot_samples(config: Config, framework, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    generator = torch.Generator().manual_seed(config.run.seed + 3)
    real = build_sampler(config)(1000, generator)
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.scatter(real[:, 0], real[:, 1], s=4, c="lightgray", label="real")
    if isinstance(framework, StackelbergGAN):
        for i, samples in enumerate(framework.sample_by_generator(200, generator)):
            axes.scatter(samples[:, 0].cpu(), samples[:, 1].cpu(), s=4, label=f"G{i + 1}")
    else:
        samples = framework.sample(1000, generator)
        axes.scatter(samples[:, 0].cpu(), samples[:, 1].cpu(), s=4, c="tab:red", label="generated")
    axes.set_aspect("equal")
    axes.legend(fontsize=6, markerscale=2, loc="upper right")
    axes.set_title(f"{config.run.framework}, {config.run.optimizer}, step {config.run.steps}")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)


def run(config: Config, out: str | Path, *, resume: bool = False, dry_run: bool = False) -> dict:
    """Train ``config`` into the run folder ``out``; return the final metrics."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = min(config.run.steps, 3) if dry_run else config.run.steps
    trainer = build_trainer(config)
    framework = trainer.framework
    checkpoint = out / "checkpoint.pt"
    if resume:
        if not checkpoint.exists():
            raise FileNotFoundError(f"--resume: no checkpoint in {out}")
        trainer.load_state_dict(torch.load(checkpoint, weights_only=False))
    (out / "config.toml").write_text(dumps(config))
    try:
        while trainer.step_count < steps:
            trainer.train_step()
            if trainer.step_count % config.run.eval_every == 0 or dry_run:
                _append_csv(out / "metrics.csv", evaluate(config, framework, trainer.step_count))
            if trainer.step_count % config.run.checkpoint_every == 0:
                save_checkpoint(trainer, checkpoint)
    except KeyboardInterrupt:
        save_checkpoint(trainer, checkpoint)  # resume with --resume
        raise
    save_checkpoint(trainer, checkpoint)
    final = evaluate(config, framework, trainer.step_count)
    (out / "metrics.json").write_text(json.dumps(final, indent=1))
    plot_samples(config, framework, out / "samples.png")
    return final


def _append_csv(path: Path, row: dict) -> None:
    flat = {k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()}
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(flat))
        if new:
            writer.writeheader()
        writer.writerow(flat)
