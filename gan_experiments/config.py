"""Typed, validated experiment configs: TOML in (standard library ``tomllib``), TOML out (``tomli-w``).

A config has the sections below; every key has a default, so a file names only what it
changes. Unknown sections or keys, wrong types and unknown names fail before training with a
message naming the key. ``--set section.key=VALUE`` overrides take TOML literals
(``run.steps=200``, ``run.optimizer="acgd"``, ``optimizer.betas=[0.5, 0.9]``).
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FRAMEWORKS = ("standard", "stackelberg", "multibranch", "sgan", "proximal", "projection", "quadratic", "icr_mnist")
OPTIMIZERS = ("adam", "acgd", "cgd", "simgd")
DATASETS = ("ring", "grid", "circle", "swiss_roll", "mnist", "fashion_mnist", "cifar10", "stacked_mnist")
IMAGE_DATASETS = ("mnist", "fashion_mnist", "cifar10", "stacked_mnist")
IMAGE_FRAMEWORKS = ("standard", "stackelberg", "sgan", "proximal")  # with model.network; icr_mnist has its own
LOSSES = ("ogan", "nsgan", "wgan", "wgan-gp", "hinge")


class ConfigError(ValueError):
    """A config that cannot run; the message names the key."""


@dataclass
class RunConfig:
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


@dataclass
class DataConfig:
    name: str = "ring"
    modes: int = 8  # ring and circle
    radius: float = 1.0  # ring and circle
    std: float = 0.01  # Gaussian mixtures
    grid_values: list = field(default_factory=lambda: [-4.0, -2.0, 0.0, 2.0, 4.0])  # grid: modes on values x values
    noise: float = 0.25  # swiss_roll
    scale: float = 7.5  # swiss_roll: coordinates divided by it
    root: str = ""  # image data: torchvision's folders under it; "" = MNIST's bundled 5,000-digit subset (mnist, stacked_mnist)
    download: bool = False  # image data: fetch into root (needs internet)


@dataclass
class ModelConfig:
    generators: int = 8  # stackelberg and multibranch
    latent_dim: int = 2
    generator_hidden: int = 32  # hidden units of each generator (standard: of the single one)
    output_scale: float = 1.0  # Tanh output times this (4.0 reaches the 25-mode grid); sgan: linear output
    discriminator_hidden: int = 512  # sgan's 4-layer MLPs (the Stackelberg discriminator is 2-512-256-1)
    network: str = ""  # image data: one of models.image_networks.IMAGE_NETWORKS ("" = the 2D networks)
    width: int = 64  # network "icr_dcgan": channels d -> 2d -> 4d (the ICR paper's 64)


@dataclass
class OptimizerConfig:
    lr: float = 2e-4
    betas: list = field(default_factory=lambda: [0.5, 0.999])  # adam
    beta: float = 0.99  # acgd
    eps: float = 1e-5  # acgd
    tol: float = 1e-6  # acgd, cgd
    max_iter: int = 50  # acgd, cgd
    alternating: bool = False  # simgd
    critic_steps: int = 1  # adam: discriminator steps per generator step (WGAN-GP: 5)


@dataclass
class LossConfig:
    gp_weight: float = 10.0  # wgan-gp
    l2: float = 0.0  # L2 penalty on D
    weight_clip: float = 0.0  # WGAN-WC: clamp D's weights to [-c, c] after each update (0: off)
    spectral_norm: bool = False  # SN-GAN: spectral normalisation of D's layers


@dataclass
class SGANConfig:
    pairs: int = 10  # N local pairs
    global_pair: bool = True  # false: the N local pairs alone
    global_optimizer: str = "adam"  # G0 against the messengers; D0 always trains with Adam


@dataclass
class ProximalConfig:
    lam: float = 0.1  # lambda of (11)
    inner_steps: int = 20  # T Adam ascent steps (Sec. 6.2)
    penalty: str = "sobolev"  # or "parameter"


@dataclass
class ProjectionConfig:  # framework "projection": ICR Fig. 7, App. A.2
    eta: list = field(default_factory=lambda: [1.0, 0.01])  # D's diagonal input scaling
    target: list = field(default_factory=lambda: [2.0, 2.0])  # P_data
    tolerance: float = 0.05  # |G_1 - 2| <= tolerance is "in the projection state"
    min_stay: int = 200  # ... for at least this many consecutive iterations


@dataclass
class QuadraticConfig:  # framework "quadratic": ICR Figs. 3 and 6, f = x^2 + 10xy + y^2
    start: list = field(default_factory=lambda: [1.0, 1.0])
    step_sizes: list = field(default_factory=lambda: [[0.09, 0.01], [0.03, 0.03], [0.01, 0.09]])  # (eta_x, eta_y)
    optimizers: list = field(default_factory=lambda: ["simgd", "cgd", "acgd"])


@dataclass
class ICRConfig:  # framework "icr_mnist": ICR Figs. 4 and 8, App. A.3 (run.steps trains the checkpoint)
    experiment: str = "fig4"  # or "fig8"
    steps_after: int = 200  # iterations after the checkpoint: each Fig. 4 branch, each Fig. 8 over-training
    attack_steps: int = 50  # Fig. 8: generator iterations against each fixed discriminator
    record_every: int = 10  # Fig. 4
    test_images: int = 500  # Fig. 4: |X_real| = |X_fake|


@dataclass
class MetricsConfig:  # image data
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
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    def validate(self) -> "Config":
        """Cross-field and range rules, each failing with a sentence naming the key."""
        choices = [("run.framework", self.run.framework, FRAMEWORKS), ("run.optimizer", self.run.optimizer, OPTIMIZERS),
                   ("run.loss", self.run.loss, LOSSES), ("data.name", self.data.name, DATASETS),
                   ("sgan.global_optimizer", self.sgan.global_optimizer, OPTIMIZERS),
                   ("proximal.penalty", self.proximal.penalty, ("sobolev", "parameter")),
                   ("icr.experiment", self.icr.experiment, ("fig4", "fig8"))]
        for key, value, allowed in choices:
            if value not in allowed:
                raise ConfigError(f"{key} = {value!r} is not one of {', '.join(allowed)}")
        for key in ("run.steps", "run.batch_size", "run.eval_every", "run.checkpoint_every", "run.samples",
                    "data.modes", "model.generators", "model.latent_dim", "model.generator_hidden", "model.discriminator_hidden", "optimizer.max_iter", "sgan.pairs",
                    "proximal.inner_steps", "projection.min_stay", "icr.steps_after", "icr.attack_steps",
                    "icr.record_every", "icr.test_images", "model.width", "metrics.inception_samples",
                    "optimizer.critic_steps"):
            section, name = key.split(".")
            if getattr(getattr(self, section), name) < 1:
                raise ConfigError(f"{key} must be at least 1")
        for key in ("optimizer.lr", "optimizer.eps", "data.std", "model.output_scale"):
            section, name = key.split(".")
            if not getattr(getattr(self, section), name) > 0:
                raise ConfigError(f"{key} must be positive")
        for key in ("loss.weight_clip", "loss.l2", "loss.gp_weight", "proximal.lam"):
            section, name = key.split(".")
            if getattr(getattr(self, section), name) < 0:
                raise ConfigError(f"{key} must not be negative")
        if len(self.optimizer.betas) != 2:
            raise ConfigError("optimizer.betas must be a list of two numbers")
        if not self.data.grid_values or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                for v in self.data.grid_values):
            raise ConfigError(f"data.grid_values must be a non-empty list of numbers, got {self.data.grid_values!r}")
        for key in ("projection.eta", "projection.target", "quadratic.start"):
            section, name = key.split(".")
            value = getattr(getattr(self, section), name)
            if len(value) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                raise ConfigError(f"{key} must be a list of two numbers, got {value!r}")
        pairs = self.quadratic.step_sizes
        if not pairs or not all(isinstance(p, list) and len(p) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in p) for p in pairs):
            raise ConfigError(f"quadratic.step_sizes must be a list of [eta_x, eta_y] pairs of positive numbers, got {pairs!r}")
        for name in self.quadratic.optimizers:
            if name not in ("simgd", "cgd", "acgd"):
                raise ConfigError(f"quadratic.optimizers: {name!r} is not one of simgd, cgd, acgd")
        if self.run.framework == "projection" and self.run.optimizer == "adam":
            raise ConfigError("run.optimizer = 'adam': the projection game (ICR App. A.2) is played with simgd, cgd or acgd")
        self._validate_images()
        if self.optimizer.critic_steps > 1 and (self.run.optimizer != "adam" or self.run.framework not in (
                "standard", "stackelberg", "multibranch")):
            raise ConfigError(f"optimizer.critic_steps = {self.optimizer.critic_steps} needs run.optimizer = \"adam\" "
                              "in a standard, stackelberg or multibranch run (a competitive optimizer moves both "
                              "players in every step)")
        if self.data.download and not self.data.root:
            raise ConfigError("data.download needs data.root (--data-root), the folder to download into")
        if self.run.framework == "icr_mnist" and (self.run.optimizer != "simgd" or self.run.loss not in ("ogan", "nsgan")):
            raise ConfigError("run.optimizer and run.loss: the ICR MNIST checkpoint is trained with stochastic "
                              "SimGD (App. A.3) on the OGAN or NS-GAN loss; set run.optimizer = \"simgd\"")
        if self.run.framework == "proximal":
            if self.run.optimizer != "adam":
                raise ConfigError(f"run.optimizer = {self.run.optimizer!r}: proximal training uses Adam inner "
                                  f"optimizers (ProximalMinimax takes torch optimizers); set it to \"adam\"")
            if self.run.loss not in ("ogan", "wgan"):
                raise ConfigError(f"run.loss = {self.run.loss!r}: proximal training needs a zero-sum loss, ogan or wgan")
        return self

    def _validate_images(self) -> None:
        from .models.image_networks import IMAGE_NETWORKS, check_shape
        from .data.images import IMAGE_SHAPES

        name, framework, network = self.data.name, self.run.framework, self.model.network
        if framework == "icr_mnist":
            if name != "mnist" or network:
                raise ConfigError(f"data.name = {name!r}, model.network = {network!r}: the icr_mnist framework "
                                  "trains its own networks (ICR App. A.3) on mnist; set data.name = \"mnist\" and no network")
            return
        if name not in IMAGE_DATASETS:
            if network:
                raise ConfigError(f"model.network = {network!r} is for image data; data.name = {name!r} is 2D")
            return
        if framework not in IMAGE_FRAMEWORKS:
            raise ConfigError(f"run.framework = {framework!r} on image data ({name}): one of {', '.join(IMAGE_FRAMEWORKS)} "
                              "(or icr_mnist) trains on images")
        if network not in IMAGE_NETWORKS:
            raise ConfigError(f"model.network = {network!r}: image data ({name}) needs one of {', '.join(IMAGE_NETWORKS)}")
        try:
            check_shape(network, IMAGE_SHAPES[name])
        except ValueError as error:
            raise ConfigError(f"model.network: {error}") from None


def _check_type(key: str, value, annotation) -> object:
    kind = {"str": str, "int": int, "float": float, "bool": bool, "list": list}[annotation]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{key} must be {annotation}, got {type(value).__name__} {value!r}")
    return value


def from_dict(data: dict) -> Config:
    """Build and validate a Config from nested dicts (a parsed TOML file)."""
    config = Config()
    for section, values in data.items():
        if section not in {f.name for f in dataclasses.fields(Config)}:
            raise ConfigError(f"unknown section [{section}]")
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table")
        target = getattr(config, section)
        fields = {f.name: f.type for f in dataclasses.fields(target)}
        for key, value in values.items():
            if key not in fields:
                raise ConfigError(f"unknown key {section}.{key}")
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


def with_overrides(config: Config, assignments: typing.Iterable[str]) -> Config:
    """Apply ``section.key=VALUE`` assignments (VALUE a TOML literal) and validate again."""
    data = to_dict(config)
    for assignment in assignments:
        key, sep, literal = assignment.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise ConfigError(f"--set expects section.key=VALUE, got {assignment!r}")
        try:
            value = tomllib.loads(f"value = {literal}")["value"]
        except tomllib.TOMLDecodeError:
            raise ConfigError(f"--set {key.strip()}: {literal!r} is not a TOML literal (quote strings)") from None
        data.setdefault(section, {})[name] = value
    return from_dict(data)


def dumps(config: Config) -> str:
    """The resolved config as TOML."""
    import tomli_w

    return tomli_w.dumps(to_dict(config))
