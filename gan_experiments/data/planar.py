"""The 2D data sources (registry entries ``ring``, ``circle``, ``grid``, ``swiss_roll``): their
sampler, their evaluation (nearest-neighbour distances; mode metrics for Gaussian mixtures) and
their picture (samples over the real data with the discriminator's contours).

Evaluation and pictures ask the players for what to show (``model_samples``,
``samples_of_each_generator``, ``parts_are_local_pairs``, ``panels``; see
frameworks/standard.py), so nothing here depends on which framework trained them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ConfigError
from ..metrics import generator_mode_histograms, mode_statistics, nearest_neighbour_distances
from .mixtures import grid, ring, swiss_roll

MODE_METRICS = ("modes_covered", "modes_covered_strict", "percent_high_quality", "kl_to_uniform")


class PlanarSource:
    """A 2D data set: ``sample(n, generator)``, ``evaluate(players, step)``, ``save_picture``."""

    images = False
    image_shape = None  # 2D samples: the framework's own 2D networks
    mode_count: int | None = None  # modes of a Gaussian mixture; None without modes
    equilibrium_samples = 500  # samples shown before and after the equilibrium test

    def __init__(self, data, *, samples: int, seed: int) -> None:
        self.data, self.samples, self.seed = data, samples, seed

    @classmethod
    def from_config(cls, config) -> PlanarSource:
        return cls(config.data, samples=config.run.samples, seed=config.run.seed)

    @staticmethod
    def validate(config) -> None:
        """No image network on 2D data."""
        if config.model.network:
            raise ConfigError(
                f"model.network = {config.model.network!r} is for image data; data.name = {config.data.name!r} is 2D"
            )

    @staticmethod
    def dry_run_overrides(config) -> list[str]:
        return []

    def evaluate(self, players, step: int) -> dict:
        """Metrics on ``run.samples`` samples of the model (G0, a mixture of generators, or the local
        pairs' ensemble when the model has no samples of its own): nearest-neighbour distances to as
        many real samples, then the mixture's mode metrics."""
        generator = torch.Generator().manual_seed(self.seed + 2)
        real = self.sample(self.samples, generator)
        parts = players.samples_of_each_generator(self.samples, generator)
        model = players.model_samples(self.samples, generator)
        samples = torch.cat(parts) if model is None else model
        row = {"step": step, **nearest_neighbour_distances(samples, real)}
        row.update(self.mode_metrics(samples, parts, local=players.parts_are_local_pairs and model is not None))
        return row

    def mode_metrics(self, samples: Tensor, parts: list[Tensor] | None, *, local: bool) -> dict:
        """None without modes."""
        return {}

    def final_metrics(self, players) -> dict:
        return {}

    def save_picture(self, players, path, title: str) -> None:
        """samples.png: the players' panels over 1,000 real samples."""
        from ..plots import plot_panels

        generator = torch.Generator().manual_seed(self.seed + 3)
        real = self.sample(1000, generator)
        plot_panels(real, players.panels(generator), path, title)

    @staticmethod
    def show_samples(axes, before: Tensor, after: Tensor) -> None:
        """Samples before and after, as two scatter plots."""
        axes.scatter(before[:, 0], before[:, 1], s=3, label="start")
        axes.scatter(after[:, 0], after[:, 1], s=3, label="end")
        axes.set_aspect("equal")
        axes.legend(fontsize=7)


class MixtureSource(PlanarSource):
    """A Gaussian mixture on a ring (``ring``, ``circle``: ``data.modes`` modes of ``data.std`` at
    ``data.radius``): mode metrics, per-generator histograms."""

    def __init__(self, data, *, samples: int, seed: int) -> None:
        super().__init__(data, samples=samples, seed=seed)
        self.mixture = self.build_mixture(data)
        self.mode_count = self.mixture.modes

    @staticmethod
    def build_mixture(data):
        return ring(data.modes, data.radius, data.std)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.mixture.sample(n, generator)

    def _modes(self, samples: Tensor) -> dict:
        stats = mode_statistics(samples.cpu(), self.mixture.centres, self.mixture.std)
        return {key: stats[key] for key in MODE_METRICS}

    def mode_metrics(self, samples: Tensor, parts: list[Tensor] | None, *, local: bool) -> dict:
        """The model's mode metrics; ``local``: also the local pairs' ensemble's (prefix ``local_``);
        with parts, each part's mode histogram."""
        row = self._modes(samples)
        if local:
            row.update({f"local_{k}": v for k, v in self._modes(torch.cat(parts)).items()})
        if parts is not None:
            row["generator_modes"] = generator_mode_histograms(parts, self.mixture.centres, self.mixture.std)
        return row


class GridSource(MixtureSource):
    """``grid``: Gaussians on ``data.grid_values`` x ``data.grid_values``."""

    @staticmethod
    def build_mixture(data):
        return grid(tuple(float(v) for v in data.grid_values), std=data.std)


class SwissRollSource(PlanarSource):
    """scikit-learn's Swiss roll: a fresh roll per batch, seeded from the batch stream."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        return swiss_roll(n, self.data.noise, self.data.scale, seed=seed)
