"""The registry entry every generator-discriminator framework builds on.

A framework's entry (one class per ``run.framework``, listed in ``frameworks/__init__.py``) is a
:class:`~gan_experiments.contracts.RunEntry`: the config rules that span sections and concern it
(:meth:`GANRun.validate`), what a dry run shrinks (:meth:`GANRun.dry_run_overrides`), how its
players, optimizer(s) and batch streams are built from the config (:meth:`GANRun.build`, which
returns the entry's instance, a :class:`~gan_experiments.contracts.Run`), how it is evaluated and
what it leaves in the run folder at the end (:meth:`GANRun.evaluate`, :meth:`GANRun.finish`).
The data set's part (its sampler, metrics and pictures) is the data source's
(:class:`~gan_experiments.contracts.DataSource`), built once per run and handed to what needs it.
Every hook a framework may override is a class method, but for the run's own
:meth:`~GANRun.evaluate`, :meth:`~GANRun.extra_final_metrics` and :meth:`~GANRun.finish`.
"""

from __future__ import annotations

import abc

import torch

from .. import parallel
from ..data import data_source
from ..errors import ConfigError
from ..models import player_networks, stackelberg_discriminator, stackelberg_generator, with_spectral_norm
from ..optimizers import build_optimizer, step_operations
from ..plots import plot_metric_curves
from ..session import GameSession
from ..streams import BatchStream


def stackelberg_networks(model):
    """(new generator, new discriminator) callables: the official Stackelberg GAN code's 2D networks."""
    return (
        lambda: stackelberg_generator(model.latent_dim, model.generator_hidden, model.output_scale),
        stackelberg_discriminator,
    )


def refuse_critic_steps(config, allowed: bool) -> None:
    """Extra discriminator steps need the Adam pair in a framework whose step is one pair's."""
    steps = config.optimizer.critic_steps
    if steps > 1 and (config.run.optimizer != "adam" or not allowed):
        raise ConfigError(
            f'optimizer.critic_steps = {steps} needs run.optimizer = "adam" in a standard, '
            "stackelberg, multibranch or sgan run (a competitive optimizer moves both players in every step)"
        )


def validate_without_networks(config) -> None:
    """The rules of a game trained without the networks of ``model`` (the ICR projection and
    quadratic games): one optimizer step per iteration, no image network."""
    refuse_critic_steps(config, allowed=False)
    data_source(config.data.name).validate(config)


class GANRun(abc.ABC):
    """One run of a generator-discriminator framework: ``data`` (the data source), ``players``
    (the framework's :class:`~gan_experiments.contracts.Players`), ``session`` (what the trainer
    steps) and the resolved ``config``."""

    trains_on_images = True  # with model.network's image networks
    critic_steps_allowed = False  # optimizer.critic_steps > 1 with the Adam pair
    records_critic = False  # run.critic_diagnostics: the players have critic_diagnostics(real, z, generator)

    def __init__(self, config, data, players, session) -> None:
        self.config, self.data, self.players, self.session = config, data, players, session

    @classmethod
    def validate(cls, config) -> None:
        refuse_critic_steps(config, cls.critic_steps_allowed)
        data_source(config.data.name).validate(config)

    @classmethod
    def dry_run_overrides(cls, config) -> list[str]:
        return data_source(config.data.name).dry_run_overrides(config)

    @classmethod
    def build(cls, config) -> GANRun:
        """The data source, the players on ``run.device``, the optimizer(s) and stream(s); trains nothing."""
        data = cls.build_data(config)
        cls.seed_players(config.run.seed)
        players = cls.build_players(config, data).to(config.run.device)
        here = parallel.place()
        for module in players.modules():  # under torchrun: the games' draws for the global batch, this rank's kept
            if hasattr(module, "shard"):
                module.shard = (here.rank, here.world)
        return cls(config, data, players, cls.build_session(config, data, players))

    @classmethod
    def build_data(cls, config):
        """The data source ``data.name`` names, built once for the run."""
        return data_source(config.data.name).from_config(config)

    @classmethod
    def seed_players(cls, seed: int) -> None:
        """The players' initial weights come from the global generator seeded with the run seed."""
        torch.manual_seed(seed)

    @classmethod
    @abc.abstractmethod
    def build_players(cls, config, data):
        """The framework's players (an ``nn.Module`` with ``min_parameters``, ``max_parameters``,
        ``latent_dim``, ``objective`` and ``play``), initialised from the seeded global generator."""

    @classmethod
    def build_session(cls, config, data, players) -> GameSession:
        stream = BatchStream.for_run(
            data.sample, config.run.batch_size, players.latent_dim, config.run.seed, config.run.device
        )
        optimizer, critic_steps = cls.build_optimizer(config, players), config.optimizer.critic_steps
        return GameSession(
            players,
            optimizer,
            stream,
            critic_steps=critic_steps,
            operations=cls.operation_counter(config, optimizer),
            cost_repeats=config.run.cost_repeats,
        )

    @classmethod
    def operation_counter(cls, config, optimizer):
        """() -> what the last step of ``optimizer`` computed (optimizers.step_operations), for the
        run's gradient evaluations; None where a framework's optimizer is not one of run.optimizer's."""
        return lambda: step_operations(config.run.optimizer, optimizer, config.optimizer.critic_steps)

    @classmethod
    def build_optimizer(cls, config, players):
        return build_optimizer(
            config.run.optimizer,
            config.optimizer,
            players.min_parameters(),
            players.max_parameters(),
            max_projection=players.project_discriminator,
        )

    @classmethod
    def planar_networks(cls, model):
        """(new generator, new discriminator) on 2D data: the official Stackelberg GAN code's networks."""
        return stackelberg_networks(model)

    @classmethod
    def player_factories(cls, config, data):
        """(new generator, new discriminator): ``model``'s networks for the data source's samples
        (:func:`~gan_experiments.models.player_networks`); spectral normalisation on the
        discriminator when ``loss.spectral_norm`` (its first power-iteration vectors from a generator of
        their own when ``loss.spectral_norm_own_draws``, so that the players' weights do not depend on it)."""
        make_generator, make_discriminator = player_networks(config.model, data.image_shape, cls.planar_networks)
        if config.loss.spectral_norm:
            seed = config.run.seed if config.loss.spectral_norm_own_draws else None
            return make_generator, lambda: with_spectral_norm(make_discriminator(), seed=seed)
        return make_generator, make_discriminator

    @classmethod
    def loss_options(cls, config) -> dict:
        return dict(
            loss=config.run.loss,
            gp_weight=config.loss.gp_weight,
            l2=config.loss.l2,
            weight_clip=config.loss.weight_clip,
        )

    def restore(self, folder) -> int:
        """The session continued from the folder's checkpoint; the step it continues at."""
        self.session.load_state_dict(folder.load_checkpoint())
        return self.session.step_count

    def train(self, fit) -> None:
        """The session and its evaluation, to the shared loop."""
        fit(self.session, self.evaluate)

    def evaluate(self, step: int) -> dict:
        """The data source's metrics of the players' samples (``contracts.DataSource.evaluate``),
        with the critic's outputs and the generator's gradient norm on one fixed batch when
        ``run.critic_diagnostics``."""
        row = self.data.evaluate(self.players, step)
        if self.config.run.critic_diagnostics:
            real, z, noise = self.diagnostic_batch()
            row.update(self.players.critic_diagnostics(real, z, noise))
        return row

    def diagnostic_batch(self) -> tuple:
        """(real batch, noise, generator of the loss's own draws), the same at every evaluation of
        the run (seeded by ``run.seed + 8``, apart from the training batches' generators), so the
        curves show the players changing, not the batch."""
        run, device = self.config.run, self.config.run.device
        draws = torch.Generator().manual_seed(run.seed + 8)
        real = self.data.sample(run.batch_size, draws).to(device)
        z = torch.randn(run.batch_size, self.players.latent_dim, generator=draws).to(device)
        return real, z, draws

    def extra_final_metrics(self, rows: list[dict]) -> dict:
        """Final metrics computed from the logged rows (none here)."""
        return {}

    def finish(self, folder, steps: int) -> dict:
        """The final evaluation, FID / IS where the data source has them, samples.png, metrics.json
        and curves.png; returns the final metrics."""
        run, step = self.config.run, self.session.step_count
        final = self.evaluate(step)
        final.update(self.extra_final_metrics(folder.rows()))
        final.update(self.data.final_metrics(self.players))
        self.data.save_picture(
            self.players, folder.path / "samples.png", f"{run.framework}, {run.optimizer}, {run.loss}, step {step}"
        )
        folder.write_metrics(final)
        rows = folder.rows()
        if rows:
            plot_metric_curves(
                rows, folder.path / "curves.png", f"{folder.path.name}: {run.framework}, {run.optimizer}"
            )
        return final
