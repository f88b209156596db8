"""From a config to a trained run folder: the objects, the loop's cadences, the files.

A run folder holds ``config.toml`` (the resolved config), ``metrics.csv`` (one row per
evaluation), ``metrics.json`` (the final evaluation), ``checkpoint.pt`` (written every
``run.checkpoint_every`` steps, at the end and on Ctrl-C), ``samples.png`` (samples over the
real data, discriminator contours), ``curves.png`` (metrics over the steps) and, when the
tensorboard package is installed, ``tensorboard/`` event files.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from .build import build_mixture, build_sampler, build_trainer
from .config import IMAGE_DATASETS, Config, dumps, with_overrides
from .frameworks import SGAN, StackelbergGAN, samples_of_each_generator
from .icr import ProjectionGame
from .metrics import generator_mode_histograms, mode_statistics, nearest_neighbour_distances
from .models import evaluation_mode
from .icr.mnist import run_analysis as run_icr_analysis
from .icr.runs import projection_summary, run_quadratic
from .image_evaluation import evaluate_images, final_image_metrics, save_sample_grid
from .plots import plot_metric_curves, plot_panels
from .records import append_row
from .trainer import Trainer


MODE_METRICS = ("modes_covered", "modes_covered_strict", "percent_high_quality", "kl_to_uniform")


def evaluate(config: Config, framework, step: int) -> dict:
    """Metrics on ``run.samples`` samples of the model's output (the mixture of generators for
    Stackelberg, G0 for SGAN, the local ensemble for SGAN without a global pair): nearest-neighbour
    distances to as many real samples, and for mixtures the mode metrics with per-generator
    histograms, and for SGAN also of the local generators' ensemble (prefixed ``local_``)."""
    if isinstance(framework, ProjectionGame):
        g1, g2 = framework.sample(1)[0].tolist()
        return {"step": step, "g1": g1, "g2": g2}
    if config.run.framework == "icr_mnist":  # its analysis (icr/mnist.py) comes after the checkpoint
        return {"step": step}
    if config.data.name in IMAGE_DATASETS:
        return evaluate_images(config, framework, step)
    mixture = build_mixture(config)
    generator = torch.Generator().manual_seed(config.run.seed + 2)
    real = build_sampler(config)(config.run.samples, generator)
    per_generator = samples_of_each_generator(framework, config.run.samples, generator)
    if isinstance(framework, SGAN) and not config.sgan.global_pair:  # the local pairs alone: their ensemble
        samples = torch.cat(per_generator)
    else:
        samples = framework.sample(config.run.samples, generator).cpu()
    row = {"step": step, **nearest_neighbour_distances(samples, real)}
    if mixture is None:
        return row
    row.update(_mode_metrics(samples, mixture))
    if isinstance(framework, SGAN) and config.sgan.global_pair:
        row.update({f"local_{k}": v for k, v in _mode_metrics(torch.cat(per_generator), mixture).items()})
    if per_generator is not None:
        row["generator_modes"] = generator_mode_histograms(per_generator, mixture.centres, mixture.std)
    return row


def _mode_metrics(samples: torch.Tensor, mixture) -> dict:
    stats = mode_statistics(samples.cpu(), mixture.centres, mixture.std)
    return {key: stats[key] for key in MODE_METRICS}


def dry_run_overrides(config: Config) -> list[str]:
    """A dry run goes through every phase at a few iterations: small batches and few samples on
    image data (and in the ICR MNIST analysis)."""
    if config.run.framework == "icr_mnist":
        return ["run.batch_size=8", "icr.steps_after=2", "icr.attack_steps=2", "icr.test_images=16"]
    overrides = [f"proximal.inner_steps={min(config.proximal.inner_steps, 2)}"]
    if config.data.name in IMAGE_DATASETS:
        overrides += [f"run.batch_size={min(config.run.batch_size, 8)}", f"run.samples={min(config.run.samples, 200)}",
                      f"metrics.inception_samples={min(config.metrics.inception_samples, 64)}"]
    return overrides


def mean_share_modes_missed(rows: list[dict], modes: int) -> float:
    """SGAN Fig. 2(d): the share of modes not covered, (K - modes covered) / K, averaged over the
    evaluations of a run (the probability that a mode is missed at a random iteration)."""
    return sum((modes - float(row["modes_covered"])) / modes for row in rows) / len(rows)


def save_checkpoint(trainer: Trainer, path: Path) -> None:
    """Write atomically: a crash while saving never leaves a truncated checkpoint."""
    partial = path.with_suffix(".partial")
    torch.save(trainer.state_dict(), partial)
    os.replace(partial, path)


def plot_samples(config: Config, framework, path: Path, step: int) -> None:
    """samples.png: generated samples over the real data with the discriminator's contours; one
    colour per generator (Stackelberg) or per local pair (SGAN, whose G0 and D0 get a panel)."""
    generator = torch.Generator().manual_seed(config.run.seed + 3)
    real = build_sampler(config)(1000, generator)
    title = f"{config.run.framework}, {config.run.optimizer}, {config.run.loss}, step {step}"
    if isinstance(framework, SGAN):
        local = [(f"G{n + 1}", s) for n, s in enumerate(framework.sample_by_generator(200, generator))]
        panels = [{"title": f"{len(local)} local generators (D1's contours)", "groups": local,
                   "discriminator": framework.local_pairs[0].discriminator},
                  {"title": "global generator G0 (D0's contours)", "groups": [("G0", framework.sample(1000, generator))],
                   "discriminator": framework.global_pair.discriminator}]
    elif isinstance(framework, StackelbergGAN):
        groups = [(f"G{i + 1}", s) for i, s in enumerate(framework.sample_by_generator(200, generator))]
        panels = [{"title": "one colour per generator", "groups": groups, "discriminator": framework.discriminator}]
    else:
        panels = [{"title": "generated", "groups": [("generated", framework.sample(1000, generator))],
                   "discriminator": framework.discriminator}]
    plot_panels(real, panels, path, title)


@torch.no_grad()
def save_image_grid(framework, path: Path, seed: int, n: int = 64) -> None:
    """An 8 x 8 grid of generated images (the generator in eval mode: batch-norm running statistics)."""
    from torchvision.utils import save_image

    generator = framework.generator
    z = torch.randn(n, framework.latent_dim, generator=torch.Generator().manual_seed(seed + 3))
    with evaluation_mode(generator):
        images = generator(z.to(next(generator.parameters()).device)).cpu()
    save_image(images, path, nrow=8, normalize=True, value_range=(-1, 1))


class RunLog:
    """metrics.csv (one row per evaluation, appended, so it survives a resume) and, when the
    tensorboard package is installed, the same scalars as TensorBoard events in ``tensorboard/``."""

    def __init__(self, out: Path) -> None:
        self.path = out / "metrics.csv"
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional
            self.writer = None
        else:
            self.writer = SummaryWriter(str(out / "tensorboard"))

    def record(self, row: dict) -> None:
        append_row(self.path, row)
        if self.writer is not None:
            for key, value in row.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.writer.add_scalar(key, value, row["step"])

    def rows(self) -> list[dict]:
        with open(self.path, newline="") as handle:
            return list(csv.DictReader(handle))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def run(config: Config, out: str | Path, *, resume: bool = False, dry_run: bool = False) -> dict:
    """Train ``config`` into the run folder ``out``; return the final metrics."""
    out = Path(out)
    if config.run.framework == "quadratic":
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.toml").write_text(dumps(config))
        return run_quadratic(config, out, dry_run=dry_run)
    steps = min(config.run.steps, 3) if dry_run else config.run.steps
    if dry_run:
        config = with_overrides(config, dry_run_overrides(config))
    trainer = build_trainer(config)  # missing data or a bad combination fails here, before the folder exists
    framework = trainer.framework
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "checkpoint.pt"
    if resume:
        if not checkpoint.exists():
            raise FileNotFoundError(f"--resume: no checkpoint in {out}")
        trainer.load_state_dict(torch.load(checkpoint, weights_only=False))
    (out / "config.toml").write_text(dumps(config))
    log = RunLog(out)
    try:
        with tqdm(total=steps, initial=trainer.step_count, desc=out.name, file=sys.stderr, leave=False,
                  mininterval=1.0, disable=steps < 100) as progress:
            while trainer.step_count < steps:
                values = trainer.train_step()
                progress.update()
                if trainer.step_count % config.run.eval_every == 0 or dry_run:
                    row = evaluate(config, framework, trainer.step_count)
                    log.record({**row, "f_min": values["f_min"], "f_max": values["f_max"],
                                **({"hvp_count": values["hvp_count"]} if "hvp_count" in values else {})})
                if trainer.step_count % config.run.checkpoint_every == 0:
                    save_checkpoint(trainer, checkpoint)
    except KeyboardInterrupt:
        save_checkpoint(trainer, checkpoint)  # resume with --resume
        raise
    finally:
        log.close()
    save_checkpoint(trainer, checkpoint)
    if config.run.framework == "icr_mnist":
        save_image_grid(framework, out / "samples.png", config.run.seed)
        return run_icr_analysis(framework, build_sampler(config), config, out, trainer.step_count)
    if isinstance(framework, ProjectionGame):
        final = projection_summary(config, log.rows(), out)
        (out / "metrics.json").write_text(json.dumps(final, indent=1))
        return final
    final = evaluate(config, framework, trainer.step_count)
    mixture = build_mixture(config)
    if isinstance(framework, SGAN) and not config.sgan.global_pair and mixture is not None:
        final["mean_share_modes_missed"] = mean_share_modes_missed(log.rows(), len(mixture.centres))
    if config.data.name in IMAGE_DATASETS:
        final.update(final_image_metrics(config, framework))
        save_sample_grid(config, framework, out / "samples.png")
    else:
        plot_samples(config, framework, out / "samples.png", trainer.step_count)
    (out / "metrics.json").write_text(json.dumps(final, indent=1))
    if log.path.exists():
        plot_metric_curves(log.rows(), out / "curves.png", f"{out.name}: {config.run.framework}, {config.run.optimizer}")
    return final
