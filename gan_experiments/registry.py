"""Where a config's names meet the registries: the one place that knows both the config's
sections (config.py) and the registries of frameworks, data sources, optimizers and losses.

:func:`check` is what makes a parsed config runnable. It checks every name against its registry,
then the rule that needs both a framework and a data source (which frameworks train on images),
then the rules of the framework's registry entry, each failing with a sentence naming the key.
Every run calls it before it builds anything (:func:`gan_experiments.experiment.build`).
"""

from __future__ import annotations

from cgd_optim.competitive import EPS_PLACEMENTS, TOL_CONVENTIONS
from cgd_optim.proximal import PENALTIES

from .config import Config
from .data import DATA_SOURCES
from .errors import ConfigError
from .frameworks import FRAMEWORKS
from .icr.mnist import ANALYSES
from .icr.quadratic import OPTIMIZERS as QUADRATIC_OPTIMIZERS
from .losses import LOSSES, ZERO_SUM_LOSSES
from .optimizers import OPTIMIZERS, ZERO_SUM_OPTIMIZERS


def _one_of(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} = {value!r} is not one of {', '.join(allowed)}")


def check_names(config: Config) -> None:
    """Every name the config gives is one its registry holds."""
    _one_of("run.framework", config.run.framework, FRAMEWORKS)
    _one_of("run.optimizer", config.run.optimizer, OPTIMIZERS)
    _one_of("run.loss", config.run.loss, LOSSES)
    _one_of("data.name", config.data.name, DATA_SOURCES)
    _one_of("sgan.global_optimizer", config.sgan.global_optimizer, OPTIMIZERS)
    _one_of("proximal.penalty", config.proximal.penalty, PENALTIES)
    _one_of("optimizer.eps_placement", config.optimizer.eps_placement, EPS_PLACEMENTS)
    _one_of("optimizer.tol_convention", config.optimizer.tol_convention, TOL_CONVENTIONS)
    _one_of("icr.experiment", config.icr.experiment, ANALYSES)
    for name in config.quadratic.optimizers:
        if name not in QUADRATIC_OPTIMIZERS:
            raise ConfigError(f"quadratic.optimizers: {name!r} is not one of {', '.join(QUADRATIC_OPTIMIZERS)}")


def check_zero_sum_optimizer(config: Config) -> None:
    """SGA's and ConOpt's rules are defined for zero-sum games: they need a zero-sum loss."""
    if config.run.optimizer in ZERO_SUM_OPTIMIZERS and config.run.loss not in ZERO_SUM_LOSSES:
        raise ConfigError(
            f"run.optimizer = {config.run.optimizer!r} is defined for zero-sum games: run.loss must be one of "
            f"{', '.join(ZERO_SUM_LOSSES)}, not {config.run.loss!r}"
        )


def check_trains_on_images(config: Config) -> None:
    """Image data need a framework that trains the image networks."""
    framework, data = config.run.framework, config.data.name
    if DATA_SOURCES[data].images and not FRAMEWORKS[framework].trains_on_images:
        allowed = ", ".join(name for name, entry in FRAMEWORKS.items() if entry.trains_on_images)
        raise ConfigError(f"run.framework = {framework!r} on image data ({data}): one of {allowed} trains on images")


def check_critic_diagnostics(config: Config) -> None:
    """run.critic_diagnostics needs players with one critic (the standard family's)."""
    framework = config.run.framework
    if config.run.critic_diagnostics and not FRAMEWORKS[framework].records_critic:
        allowed = ", ".join(name for name, entry in FRAMEWORKS.items() if entry.records_critic)
        raise ConfigError(
            f"run.critic_diagnostics = true in a {framework!r} run: only {allowed} record the critic's outputs"
        )


def check(config: Config) -> Config:
    """``config`` with its sections' rules, its names, the image rule and its framework's rules
    checked; ConfigError names the first key that fails."""
    config.validate()
    check_names(config)
    check_zero_sum_optimizer(config)
    check_trains_on_images(config)
    check_critic_diagnostics(config)
    FRAMEWORKS[config.run.framework].validate(config)
    return config
