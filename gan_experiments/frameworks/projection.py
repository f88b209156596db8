"""The ICR projection experiment (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive
regularization in GANs", Sec. 4, Fig. 7, App. A.2) as the registry entry ``projection``: the
28-weight game of :mod:`gan_experiments.icr.projection` trained by the shared loop, G's point
recorded at every evaluation, and the stays in the projection state summarised at the end."""

from __future__ import annotations

import torch

from ..data.planar import PlanarSource
from ..errors import ConfigError
from ..icr import ProjectionGame
from ..icr.runs import projection_summary
from ..optimizers import build_optimizer
from .base import GANRun, validate_without_networks


class PointMass(PlanarSource):
    """P_data of the projection game: every real sample is the target (the game reads its own copy)."""

    def __init__(self, config) -> None:
        super().__init__(config.data, samples=config.run.samples, seed=config.run.seed)
        self.target = torch.tensor(config.projection.target, dtype=torch.float32)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.target.expand(n, 2)


class ProjectionRun(GANRun):
    """``projection``: loss (4) played by simgd, cgd or acgd; ``[projection]`` sets eta and the target."""

    trains_on_images = False

    @classmethod
    def validate(cls, config) -> None:
        validate_without_networks(config)
        if config.run.optimizer == "adam":
            raise ConfigError(
                "run.optimizer = 'adam': the projection game (ICR App. A.2) is played with simgd, cgd or acgd"
            )

    @classmethod
    def dry_run_overrides(cls, config) -> list[str]:
        return []

    @classmethod
    def build_data(cls, config) -> PointMass:
        return PointMass(config)

    @classmethod
    def build_players(cls, config, data) -> ProjectionGame:
        return ProjectionGame(tuple(config.projection.eta), tuple(config.projection.target))

    @classmethod
    def build_optimizer(cls, config, players: ProjectionGame):
        return build_optimizer(
            config.run.optimizer, config.optimizer, players.min_parameters(), players.max_parameters()
        )

    def evaluate(self, step: int) -> dict:
        """G's point (g1, g2)."""
        g1, g2 = self.players.sample(1)[0].tolist()
        return {"step": step, "g1": g1, "g2": g2}

    def finish(self, folder, steps: int) -> dict:
        """metrics.json and trajectory.png from the recorded trajectory."""
        r = self.config.run
        final = projection_summary(
            self.config.projection, folder.rows(), folder.path, label=f"{r.optimizer}, seed {r.seed}"
        )
        folder.write_metrics(final)
        return final
