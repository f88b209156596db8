"""Typed experiment configs: TOML in (standard library ``tomllib``), TOML out (``tomli-w``).

A config has the sections below; every key has a default, so a file names only what it
changes. This module parses and checks what a section can check alone: unknown sections or
keys, wrong types and each section's own rules fail with a message naming the key. The names a
config gives (framework, data set, optimizer, loss, ...) are checked against the registries by
:func:`gan_experiments.registry.check`, above both, which every run calls before it builds
anything. ``--set section.key=VALUE`` overrides take TOML literals (``run.steps=200``,
``run.optimizer="acgd"``, ``optimizer.betas=[0.5, 0.9]``).
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .errors import ConfigError


def _check(section, name: str, rule: str) -> None:
    """``rule``: "at least 1", "positive" or "not negative", for the key ``name`` of ``section``."""
    value, key = getattr(section, name), f"{section.section}.{name}"
    if rule == "at least 1" and value < 1:
        raise ConfigError(f"{key} must be at least 1")
    if rule == "positive" and not value > 0:
        raise ConfigError(f"{key} must be positive")
    if rule == "not negative" and value < 0:
        raise ConfigError(f"{key} must not be negative")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _two_numbers(key: str, value) -> None:
    if len(value) != 2 or not all(_number(v) for v in value):
        raise ConfigError(f"{key} must be a list of two numbers, got {value!r}")


class Section:
    """A config section: ``section`` is its name; :meth:`validate` checks its own keys."""

    section = ""
    rules: typing.ClassVar[dict] = {}  # key -> "at least 1" | "positive" | "not negative"

    def validate(self) -> None:
        for name, rule in self.rules.items():
            _check(self, name, rule)


@dataclass
class RunConfig(Section):
    section: typing.ClassVar[str] = "run"
    rules: typing.ClassVar[dict] = {
        **dict.fromkeys(
            ("steps", "batch_size", "eval_every", "checkpoint_every", "samples", "cost_repeats"), "at least 1"
        ),
        "timeout_s": "positive",
    }
    description: str = ""
    framework: str = "stackelberg"
    optimizer: str = "adam"
    loss: str = "nsgan"
    steps: int = 5000
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"
    eval_every: int = 1000
    checkpoint_every: int = 1000
    samples: int = 2500
    timeout_s: float = 300.0  # under torchrun: the process group's timeout for training collectives
    critic_diagnostics: bool = False  # metrics.csv: critic_real, critic_fake, generator_gradient_norm per evaluation
    # gradient_evaluations: each operation's cost is the median of this many timings (a dry run: 1)
    cost_repeats: int = 5


@dataclass
class DataConfig(Section):
    section: typing.ClassVar[str] = "data"
    rules: typing.ClassVar[dict] = {"modes": "at least 1", "std": "positive"}
    name: str = "ring"
    modes: int = 8  # ring and circle
    radius: float = 1.0  # ring and circle
    std: float = 0.01  # Gaussian mixtures
    grid_values: list = field(default_factory=lambda: [-4.0, -2.0, 0.0, 2.0, 4.0])  # grid: modes on values x values
    noise: float = 0.25  # swiss_roll
    scale: float = 7.5  # swiss_roll: coordinates divided by it
    root: str = (
        ""  # image data: torchvision's folders under it; "" = MNIST's bundled 5,000-digit subset (mnist, stacked_mnist)
    )
    download: bool = False  # image data: fetch into root (needs internet)

    def validate(self) -> None:
        super().validate()
        if not self.grid_values or not all(_number(v) for v in self.grid_values):
            raise ConfigError(f"data.grid_values must be a non-empty list of numbers, got {self.grid_values!r}")
        if self.download and not self.root:
            raise ConfigError("data.download needs data.root (--data-root), the folder to download into")


@dataclass
class ModelConfig(Section):
    section: typing.ClassVar[str] = "model"
    rules: typing.ClassVar[dict] = {
        **dict.fromkeys(
            ("generators", "latent_dim", "generator_hidden", "discriminator_hidden", "width"), "at least 1"
        ),
        "output_scale": "positive",
        "leaky_relu_slope": "not negative",
        "conv_init_std": "not negative",
    }
    generators: int = 8  # stackelberg and multibranch
    latent_dim: int = 2
    generator_hidden: int = 32  # hidden units of each generator (standard: of the single one)
    output_scale: float = 1.0  # Tanh output times this (4.0 reaches the 25-mode grid); sgan: linear output
    discriminator_hidden: int = 512  # sgan's 4-layer MLPs (the Stackelberg discriminator is 2-512-256-1)
    network: str = ""  # image data: one of models.image_networks.IMAGE_NETWORKS ("" = the 2D networks)
    # "icr_dcgan": channels d -> 2d -> 4d; "icr_mnist_conv": units scaled by d / 64 (the ICR paper's 64)
    width: int = 64
    leaky_relu_slope: float = 0.2  # networks "icr_dcgan", "icr_mnist_conv": the discriminator's (authors' code: 0.01)
    conv_init_std: float = 0.0  # the same: convolution weights from N(0, std^2) (authors' code: 0.01); 0: PyTorch's


@dataclass
class OptimizerConfig(Section):
    section: typing.ClassVar[str] = "optimizer"
    rules: typing.ClassVar[dict] = {
        "max_iter": "at least 1",
        "critic_steps": "at least 1",
        "lr": "positive",
        "eps": "positive",
        "atol": "not negative",
        "gamma": "not negative",
    }
    lr: float = 2e-4
    betas: list = field(default_factory=lambda: [0.5, 0.999])  # adam
    beta: float = 0.99  # acgd
    eps: float = 1e-5  # acgd
    tol: float = 1e-6  # acgd, cgd
    atol: float = 0.0  # acgd, cgd: absolute residual bound (in tol_convention's units)
    max_iter: int = 50  # acgd, cgd
    alternating: bool = False  # simgd
    critic_steps: int = 1  # adam: discriminator steps per generator step (WGAN-GP: 5)
    eps_placement: str = "inside"  # acgd: eps added to sqrt(v_hat) (Algorithm 1) or "outside" (the authors' code)
    tol_convention: str = "norm"  # acgd, cgd: tol bounds the residual norm, or "squared" (the authors' code)
    gamma: float = 1.0  # sga, conopt: the correction term's weight
    align: bool = True  # sga: Balduzzi et al.'s sign alignment (false: the CGD paper's plain SGA)
    rmsprop: float = 0.0  # lcgd, sga, conopt, ogda: the CGD paper's RMSProp-type decay rho (0: off)

    def validate(self) -> None:
        super().validate()
        if len(self.betas) != 2:
            raise ConfigError("optimizer.betas must be a list of two numbers")
        if not 0.0 <= self.rmsprop < 1.0:
            raise ConfigError(f"optimizer.rmsprop must be in [0, 1) (0: off), got {self.rmsprop}")


@dataclass
class LossConfig(Section):
    section: typing.ClassVar[str] = "loss"
    rules: typing.ClassVar[dict] = dict.fromkeys(("weight_clip", "l2", "gp_weight"), "not negative")
    gp_weight: float = 10.0  # wgan-gp
    l2: float = 0.0  # L2 penalty on D
    weight_clip: float = 0.0  # WGAN-WC: clamp D's weights to [-c, c] after each update (0: off)
    spectral_norm: bool = False  # SN-GAN: spectral normalisation of D's layers
    # true: the power iteration's first vectors come from their own generator (seeded with run.seed), so
    # the players start from the weights of the same seed without spectral normalisation (ICR Fig. 9's arms)
    spectral_norm_own_draws: bool = False


@dataclass
class SGANConfig(Section):
    section: typing.ClassVar[str] = "sgan"
    rules: typing.ClassVar[dict] = {"pairs": "at least 1", "messenger_steps": "at least 1"}
    pairs: int = 10  # N local pairs
    global_pair: bool = True  # false: the N local pairs alone
    global_optimizer: str = "adam"  # G0 against the messengers; D0 always trains with Adam
    messenger_steps: int = (
        1  # Algorithm 1's I_D for the messengers against G0 (line 16); the local pairs' is optimizer.critic_steps
    )


@dataclass
class ProximalConfig(Section):
    section: typing.ClassVar[str] = "proximal"
    rules: typing.ClassVar[dict] = {"inner_steps": "at least 1", "lam": "not negative"}
    lam: float = 0.1  # lambda of (11)
    inner_steps: int = 20  # T Adam ascent steps (Sec. 6.2)
    penalty: str = "sobolev"  # or "parameter"


@dataclass
class ProjectionConfig(Section):  # framework "projection": ICR Fig. 7, App. A.2
    section: typing.ClassVar[str] = "projection"
    rules: typing.ClassVar[dict] = {"min_stay": "at least 1"}
    eta: list = field(default_factory=lambda: [1.0, 0.01])  # D's diagonal input scaling
    target: list = field(default_factory=lambda: [2.0, 2.0])  # P_data
    tolerance: float = 0.05  # |G_1 - 2| <= tolerance is "in the projection state"
    min_stay: int = 200  # ... for at least this many consecutive iterations

    def validate(self) -> None:
        super().validate()
        _two_numbers("projection.eta", self.eta)
        _two_numbers("projection.target", self.target)


@dataclass
class QuadraticConfig(Section):  # framework "quadratic": ICR Figs. 3 and 6, f = x^2 + 10xy + y^2
    section: typing.ClassVar[str] = "quadratic"
    start: list = field(default_factory=lambda: [1.0, 1.0])
    step_sizes: list = field(default_factory=lambda: [[0.09, 0.01], [0.03, 0.03], [0.01, 0.09]])  # (eta_x, eta_y)
    optimizers: list = field(default_factory=lambda: ["simgd", "cgd", "acgd"])

    def validate(self) -> None:
        _two_numbers("quadratic.start", self.start)
        pairs = self.step_sizes
        if not pairs or not all(
            isinstance(p, list) and len(p) == 2 and all(_number(v) and v > 0 for v in p) for p in pairs
        ):
            raise ConfigError(
                f"quadratic.step_sizes must be a list of [eta_x, eta_y] pairs of positive numbers, got {pairs!r}"
            )
        if not all(isinstance(name, str) for name in self.optimizers):
            raise ConfigError(f"quadratic.optimizers must be a list of names, got {self.optimizers!r}")


@dataclass
class CGDPaperConfig(Section):  # framework "cgd_paper": Schäfer & Anandkumar 2019, Sec. 4-5 (gan_experiments.cgd_paper)
    # run.steps is the scalar games' iteration count, and the forward-pass budget of covariance
    # estimation (deterministic case) and of the two-mode GAN, counted as the paper counts them
    section: typing.ClassVar[str] = "cgd_paper"
    rules: typing.ClassVar[dict] = {
        "lr": "positive",
        "gamma": "not negative",
        "stochastic_budget": "at least 1",
        "tol": "positive",
        "stochastic_dim": "at least 1",
        "batch_size": "at least 1",
        "noise_dim": "at least 1",
        "hidden": "at least 1",
        "layers": "at least 1",
        "eval_samples": "at least 1",
    }
    experiment: str = "bilinear"  # bilinear | quadratic | covariance | two_modes
    methods: list = field(default_factory=lambda: ["gda", "lcgd", "sga", "conopt", "ogda", "cgd", "extra_sgd"])
    # the scalar games (bilinear, quadratic)
    games: list = field(default_factory=lambda: ["bilinear"])  # bilinear, convex_concave, concave_convex
    alphas: list = field(default_factory=lambda: [1.0, 3.0, 6.0])
    lr: float = 0.2
    gamma: float = 1.0
    start: list = field(default_factory=lambda: [0.5, 0.5])
    # covariance estimation and the two-mode GAN
    step_sizes: list = field(default_factory=lambda: [0.005, 0.025, 0.1, 0.4])
    tol: float = 1e-6  # CGD's conjugate gradient (relative residual norm)
    dims: list = field(default_factory=lambda: [20, 40, 60])
    stochastic_dim: int = 20
    sample_counts: list = field(default_factory=lambda: [100, 1000, 10000])  # fresh samples per iteration
    stochastic_budget: int = 20000  # forward passes of a stochastic run
    seed: int = 0
    seeds: list = field(default_factory=lambda: [0, 1, 2])
    rmsprop: float = 0.9
    batch_size: int = 256
    noise_dim: int = 512
    hidden: int = 128
    layers: int = 4
    eval_samples: int = 2500

    def validate(self) -> None:
        super().validate()
        if self.experiment not in CGD_PAPER_EXPERIMENTS:
            raise ConfigError(
                f"cgd_paper.experiment = {self.experiment!r} is not one of {', '.join(CGD_PAPER_EXPERIMENTS)}"
            )
        _two_numbers("cgd_paper.start", self.start)
        for key in ("alphas", "step_sizes", "dims", "sample_counts"):
            values = getattr(self, key)
            if not values or not all(_number(v) and v > 0 for v in values):
                raise ConfigError(f"cgd_paper.{key} must be a list of positive numbers, got {values!r}")
        if not 0.0 < self.rmsprop < 1.0:
            raise ConfigError(f"cgd_paper.rmsprop must be in (0, 1), got {self.rmsprop}")


CGD_PAPER_EXPERIMENTS = ("bilinear", "quadratic", "covariance", "two_modes")


@dataclass
class ICRConfig(Section):  # framework "icr_mnist": ICR Figs. 4 and 8, App. A.3 (run.steps trains the checkpoint)
    section: typing.ClassVar[str] = "icr"
    rules: typing.ClassVar[dict] = dict.fromkeys(
        ("steps_after", "attack_steps", "record_every", "test_images"), "at least 1"
    )
    experiment: str = "fig4"  # or "fig8"
    steps_after: int = 200  # iterations after the checkpoint: each Fig. 4 branch, each Fig. 8 over-training
    attack_steps: int = 50  # Fig. 8: generator iterations against each fixed discriminator
    record_every: int = 10  # Fig. 4
    test_images: int = 500  # Fig. 4: |X_real| = |X_fake|
    # a checkpoint.pt (or the run folder holding it) of these networks, trained elsewhere, to start from:
    # run.steps trains nothing then ("": train the checkpoint with run.steps, as the paper does)
    checkpoint: str = ""


@dataclass
class MetricsConfig(Section):  # image data
    section: typing.ClassVar[str] = "metrics"
    rules: typing.ClassVar[dict] = {"inception_samples": "at least 1"}
    inception_weights: str = ""  # FID / Inception Score: a local weights file, "download", or "" (skipped)
    inception_samples: int = 10000  # generated and real images for FID / IS, at the end of a run


@dataclass
class Config:
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    sgan: SGANConfig = field(default_factory=SGANConfig)
    proximal: ProximalConfig = field(default_factory=ProximalConfig)
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    quadratic: QuadraticConfig = field(default_factory=QuadraticConfig)
    icr: ICRConfig = field(default_factory=ICRConfig)
    cgd_paper: CGDPaperConfig = field(default_factory=CGDPaperConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    def validate(self) -> Config:
        """Each section's own keys, each failing with a sentence naming the key (the names and the
        rules across sections: :func:`gan_experiments.registry.check`)."""
        for f in dataclasses.fields(self):
            getattr(self, f.name).validate()
        return self


def _check_type(key: str, value, annotation) -> object:
    kind = {"str": str, "int": int, "float": float, "bool": bool, "list": list}[annotation]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{key} must be {annotation}, got {type(value).__name__} {value!r}")
    return value


def from_dict(data: dict) -> Config:
    """Build a Config from nested dicts (a parsed TOML file), its types and sections' rules checked."""
    config = Config()
    for section, values in data.items():
        sections = [f.name for f in dataclasses.fields(Config)]
        if section not in sections:
            raise ConfigError(f"unknown section [{section}]{_did_you_mean(section, sections)}")
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table")
        target = getattr(config, section)
        fields = {f.name: f.type for f in dataclasses.fields(target)}
        for key, value in values.items():
            if key not in fields:
                raise ConfigError(f"unknown key {section}.{key}{_did_you_mean(key, fields, f'{section}.')}")
            setattr(target, key, _check_type(f"{section}.{key}", value, fields[key]))
    return config.validate()


def load(path: str | Path) -> Config:
    """Read a TOML config file."""
    with open(path, "rb") as handle:
        try:
            return from_dict(tomllib.load(handle))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: {error}") from error


def to_dict(config: Config) -> dict:
    return dataclasses.asdict(config)


def _did_you_mean(name: str, known, prefix: str = "") -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def parse_assignment(assignment: str, option: str = "--set") -> tuple[str, str, object]:
    """(section, key, value) of ``section.key=VALUE`` (VALUE a TOML literal); errors name ``option``."""
    key, sep, literal = assignment.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot:
        raise ConfigError(f"{option} expects section.key=VALUE, got {assignment!r}")
    try:
        return section, name, tomllib.loads(f"value = {literal}")["value"]
    except tomllib.TOMLDecodeError:
        raise ConfigError(f"{option} {key.strip()}: {literal!r} is not a TOML literal (quote strings)") from None


def with_overrides(config: Config, assignments: typing.Iterable[str]) -> Config:
    """Apply ``section.key=VALUE`` assignments (VALUE a TOML literal) and validate again."""
    data = to_dict(config)
    for assignment in assignments:
        section, name, value = parse_assignment(assignment)
        data.setdefault(section, {})[name] = value
    return from_dict(data)


def dumps(config: Config) -> str:
    """The resolved config as TOML."""
    import tomli_w

    return tomli_w.dumps(to_dict(config))


def bundled_configs() -> dict[str, Path]:
    """NAME -> path of every TOML file shipped in gan_experiments/configs."""
    folder = Path(str(resources.files("gan_experiments") / "configs"))
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def resolve_config(name_or_path: str, overrides: list[str]) -> tuple[Config, str]:
    """(config, name) of a bundled config NAME or a TOML file, with ``--set`` overrides applied."""
    known = bundled_configs()
    if name_or_path in known:
        path = known[name_or_path]
    elif Path(name_or_path).is_file():
        path = Path(name_or_path)
    else:
        raise ConfigError(
            f"no bundled config named {name_or_path!r} and no such file (see `python -m gan_experiments list`)"
        )
    return with_overrides(load(path), overrides), path.stem
